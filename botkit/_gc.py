"""Garbage-collector settings for a replay or a live run, chosen by the process that
runs it (the command line, a sweep's worker), never by the engine itself."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["fewer_gc_passes"]


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """A replay or a live feed creates millions of short-lived events and almost no
    reference cycles: collect the youngest generation every 50,000 allocations instead
    of 700, after moving everything loaded so far out of the collector's way
    (docs/architecture.md has the measured gain; README's Performance has what it does
    to the live order latency). Restored on exit."""
    previous = gc.get_threshold()
    # Garbage first: frozen, an earlier run's cycles would outlive this one (a process
    # running backtest after backtest, a sweep's worker, grew by megabytes a run).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
