"""The collector settings a replay runs under (botkit/_gc.py)."""

from __future__ import annotations

import gc
import weakref

from botkit._gc import fewer_gc_passes


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_an_earlier_runs_garbage_is_collected_not_frozen() -> None:
    # A process running backtest after backtest (a sweep's worker) must not carry each
    # run's cycles into the next: frozen, they would never be collected.
    gc.disable()
    try:
        garbage = weakref.ref(_Node())
        assert garbage() is not None
        previous = gc.get_threshold()
        with fewer_gc_passes():
            assert garbage() is None
            assert gc.get_threshold()[0] == 50_000
        assert gc.get_threshold() == previous and gc.get_freeze_count() == 0
    finally:
        gc.enable()
