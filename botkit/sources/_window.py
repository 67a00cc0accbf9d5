"""A replay cut to a window of time: the events of another source whose receive time is
in ``[start_ns, end_ns)`` (a walk-forward fold's train or test window)."""

from __future__ import annotations

import anyio

from .._events import Event
from ._base import EventSource, FeedStats, Publish

__all__ = ["WindowSource"]


class WindowSource(EventSource):
    """``inner``'s events from ``start_ns`` (inclusive) to ``end_ns`` (exclusive), in
    order; it stops reading ``inner`` at the first event past the window (a replay is
    in time order). ``None`` leaves that side open."""

    def __init__(self, inner: EventSource, start_ns: int | None = None, end_ns: int | None = None) -> None:
        # No EventSource.__init__: its counters would be its own; these are the inner's.
        self.inner = inner
        self.replay = inner.replay
        self.start_ns = start_ns if start_ns is not None else -(1 << 63)
        self.end_ns = end_ns if end_ns is not None else 1 << 63

    @property  # read-only: the inner source's counters (it may replace them)
    def stats(self) -> FeedStats:  # type: ignore[override]
        """The inner source's counters."""
        return self.inner.stats

    async def stream(self, publish: Publish) -> None:
        """The events in the window."""
        start, end = self.start_ns, self.end_ns
        with anyio.CancelScope() as scope:

            async def cut(batch: list[Event]) -> None:
                if batch[0].ts_recv >= start and batch[-1].ts_recv < end:
                    await publish(batch)
                    return
                kept = [event for event in batch if start <= event.ts_recv < end]
                if batch[-1].ts_recv >= end:
                    scope.cancel()  # past the window: nothing after it is wanted
                if kept:
                    await publish(kept)

            await self.inner.stream(cut)

    def feeds(self) -> list[FeedStats]:
        """The inner source's feeds."""
        return self.inner.feeds()

    def describe(self) -> str:
        """The inner source, and the window."""
        return f"{self.inner.describe()}, from {self.start_ns} to {self.end_ns} ns"

    def progress(self) -> tuple[int, int] | None:
        """The inner source's."""
        return self.inner.progress()
