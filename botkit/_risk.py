"""The risk task: decides whether the strategy may trade, and says why not.

Rules so far (each configurable through :class:`RiskLimits`):

* **strategy error**: a hook that raised halts trading for the rest of the run;
* **feed down**: a feed reporting ``DOWN`` halts trading until it is ``LIVE`` again;
* **stale data** (live clock only): no market event for ``stale_after_s`` halts
  trading until events flow again. In a replay, time only moves with events, so
  there is nothing to watch and the rule is inert.
* **manual**: :meth:`RiskManager.halt` / :meth:`RiskManager.resume`.

Every halt is logged and recorded (``halts`` in the run summary). Order checks join
this module with execution.
"""

from __future__ import annotations

import logging

import anyio
import attrs
from anyio.abc import TaskStatus

from ._clock import Clock
from ._events import ConnectionState, FeedStatus

__all__ = ["Halt", "RiskLimits", "RiskManager"]

log = logging.getLogger("botkit.risk")

_STALE = "stale data"
_FEED_DOWN = "feed down"


@attrs.frozen
class RiskLimits:
    """Risk configuration.

    :param stale_after_s: live only: halt when no market event arrived for this long.
    :param halt_on_strategy_error: halt trading once a strategy hook has raised.
    """

    stale_after_s: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    halt_on_strategy_error: bool = True


@attrs.frozen
class Halt:
    """One halt: when (engine ns), why, and when it was lifted (-1: never)."""

    ts: int
    reason: str
    lifted_ts: int = -1


class RiskManager:
    """Holds the halt state; its :meth:`run` is the engine's risk task."""

    def __init__(self, clock: Clock, limits: RiskLimits | None = None) -> None:
        self.clock = clock
        self.limits = limits or RiskLimits()
        self.halts: list[Halt] = []
        #: Receive time of the latest market event (updated by the strategy runner).
        self.last_event_ns = 0
        self._active: dict[str, int] = {}  # reason -> index in halts

    @property
    def halted(self) -> bool:
        """True while any halt is active."""
        return bool(self._active)

    @property
    def halt_reason(self) -> str:
        """The active halt reasons joined by "; " ("" when trading is allowed)."""
        return "; ".join(self._active)

    def halt(self, reason: str) -> None:
        """Halt trading for ``reason`` (idempotent per reason)."""
        if reason in self._active:
            return
        log.warning("trading halted: %s", reason)
        self._active[reason] = len(self.halts)
        self.halts.append(Halt(self.clock.now_ns(), reason))

    def resume(self, reason: str) -> None:
        """Lift the halt for ``reason`` (no-op when it is not active)."""
        index = self._active.pop(reason, None)
        if index is not None:
            log.warning("trading resumed: %s cleared", reason)
            self.halts[index] = attrs.evolve(self.halts[index], lifted_ts=self.clock.now_ns())

    def on_strategy_error(self, hook: str, error: str) -> None:
        """A strategy hook raised."""
        if self.limits.halt_on_strategy_error:
            self.halt(f"strategy error in {hook}: {error}")

    def on_feed_status(self, status: FeedStatus) -> None:
        """Track feed health from connection-state events."""
        reason = f"{_FEED_DOWN}: {status.venue}"
        if status.state is ConnectionState.LIVE:
            self.resume(reason)
        elif status.state is ConnectionState.DOWN:
            self.halt(reason)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The risk task: watches for stale data on a live clock; runs until cancelled."""
        task_status.started()
        if self.clock.virtual:
            await anyio.sleep_forever()
        stale_ns = int(self.limits.stale_after_s * 1e9)
        self.last_event_ns = self.last_event_ns or self.clock.now_ns()
        while True:
            await anyio.sleep(self.limits.stale_after_s / 4)
            age = self.clock.now_ns() - self.last_event_ns
            if age > stale_ns:
                self.halt(_STALE)
            else:
                self.resume(_STALE)
