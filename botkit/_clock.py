"""Engine clocks: wall time live, event time in replay.

Strategies read time only through the engine (``self.now_ns``) and schedule timers
through it, so the same code fires its timers at the same event time in a backtest
as it would have live.
"""

from __future__ import annotations

import abc
import time

__all__ = ["Clock", "LiveClock", "VirtualClock"]


class Clock(abc.ABC):
    """The engine's notion of now, in integer nanoseconds since the epoch."""

    #: True when time advances only with the events (replay); False for wall time.
    virtual: bool = False

    @abc.abstractmethod
    def now_ns(self) -> int:
        """Current engine time in ns."""

    def advance(self, ts_ns: int) -> None:  # noqa: B027 - a no-op unless the clock follows events
        """The engine reached an event stamped ``ts_ns``: a virtual clock moves to it
        (never back), a wall clock ignores it."""


class LiveClock(Clock):
    """Wall-clock time (``time.time_ns``): for live and paper trading."""

    virtual = False

    def now_ns(self) -> int:
        """Current wall time in ns."""
        return time.time_ns()


class VirtualClock(Clock):
    """Time driven by event timestamps (``ts_recv``), for replay and backtests.

    It never moves backwards: an event stamped earlier than the current time (a wall
    clock step during recording) is delivered at the current time.
    """

    virtual = True

    __slots__ = ("ns",)

    def __init__(self, start_ns: int = 0) -> None:
        #: The engine time. The strategy runner moves it forward as it dispatches events,
        #: by this attribute on its hot path (a method call per event costs measurably);
        #: it only ever increases. Anyone else calls :meth:`advance`.
        self.ns = start_ns

    def now_ns(self) -> int:
        """The receive time of the latest event (or the start time)."""
        return self.ns

    def advance(self, ts_ns: int) -> None:
        """Move time forward to ``ts_ns`` (no-op if that is in the past)."""
        if ts_ns > self.ns:
            self.ns = ts_ns
