"""Crash points for the kill soak (``botkit soak --kills N``).

``BOTKIT_FAILPOINT=NAME:N`` makes the process SIGKILL itself the N-th time it reaches
the point ``NAME``: the soak's way to die exactly between an order's journal entry and
its frame (``before-write``: frames holding an ``order.place``), between a placement and
its answer (``after-write``), or between a fill reaching the strategy and its journal
entry (``fill``). Unset (every run
outside the soak) a point costs one test of :data:`ARMED`.
"""

from __future__ import annotations

import os
import signal

__all__ = ["ARMED", "POINTS", "hit"]

POINTS = ("before-write", "after-write", "fill")


def _armed(spec: str) -> dict[str, int]:
    name, _, count = spec.partition(":")
    if name not in POINTS or not count.isdigit() or int(count) < 1:
        return {}
    return {name: int(count)}


_LEFT = _armed(os.environ.get("BOTKIT_FAILPOINT", ""))
ARMED = bool(_LEFT)


def hit(name: str) -> None:
    """Count a pass through ``name``; the armed pass kills the process (no cleanup runs)."""
    left = _LEFT.get(name)
    if left is None:
        return
    if left <= 1:
        os.kill(os.getpid(), signal.SIGKILL)
    _LEFT[name] = left - 1
