"""An in-memory source: the test double for every other source (httpx MockTransport)."""

from __future__ import annotations

from collections.abc import Iterable

from .._events import Event
from ._base import EventSource, Publish

__all__ = ["MemorySource"]


class MemorySource(EventSource):
    """Replays a list of already-typed events.

    Example::

        source = MemorySource([trade1, trade2], batch_size=1)
        summary = await Engine(MyStrategy(), source).run()

    :param events: the events, in delivery order.
    :param batch_size: events per published batch (1 exercises backpressure finely).
    :param replay: follow the events' timestamps (virtual clock) when True.
    """

    def __init__(self, events: Iterable[Event], *, batch_size: int = 512, replay: bool = True) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.events = list(events)
        self.batch_size = batch_size
        self.replay = replay
        self._done = 0

    async def stream(self, publish: Publish) -> None:
        """Publish the events in batches of ``batch_size``."""
        for start in range(0, len(self.events), self.batch_size):
            batch = self.events[start : start + self.batch_size]
            self.stats.frames += len(batch)
            await publish(batch)
            self._done = start + len(batch)

    def describe(self) -> str:
        """Say how many events this source holds."""
        return f"memory ({len(self.events)} events)"

    def progress(self) -> tuple[int, int]:
        """Events published so far, of the total."""
        return self._done, len(self.events)
