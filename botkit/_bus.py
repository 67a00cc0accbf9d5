"""In-process event bus: routes event batches by type and symbol to bounded queues.

Backpressure policy (a strategy slower than its feed):

* Replays (backtests) never conflate: the feed simply waits for the strategy, so a
  backtest's result cannot depend on how fast the machine is (``conflate=False``).

For live feeds (``conflate=True``):

* Each subscriber has a bounded anyio memory object stream of *batches* (a batch is
  the events of one or more frames; batching keeps per-event cost well under 1 us).
* While that stream has room, batches go straight in.
* When it is full, events wait in a per-subscriber overflow buffer. There, a newer
  ``Quote`` or ``BookSnapshot`` for the same venue and symbol *replaces* the older one
  (conflation to the latest state; counted in ``conflated``). ``Trade``, ``BookDelta``,
  ``Bar`` and engine events are never conflated or dropped.
* When the overflow buffer holds ``max_pending`` events, the publisher (the feed)
  blocks until the subscriber catches up (counted in ``backpressure_waits``): memory
  stays bounded and no trade is ever lost silently.

Events that were queued but not processed because the engine was stopped are counted
by the engine as ``unprocessed``.
"""

from __future__ import annotations

from collections.abc import Iterable

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._events import BookSnapshot, BrokerWake, Event, FeedStatus, Gap, Quote, Timer

__all__ = ["BusStats", "EventBus", "Subscription"]

_CONFLATABLE = frozenset({Quote, BookSnapshot})
# Engine events reach every subscriber whatever its filters.
_ALWAYS = frozenset({FeedStatus, Timer, Gap, BrokerWake})


@attrs.define
class BusStats:
    """Counters for one subscription (all visible in the run summary)."""

    delivered: int = 0
    conflated: int = 0
    backpressure_waits: int = 0
    max_pending: int = 0


class Subscription:
    """One consumer's filter, bounded queue and overflow buffer.

    :param types: event types wanted (``None``: all).
    :param symbols: symbols wanted (``None``: all).
    :param capacity: batches the memory stream holds before overflow starts.
    :param max_pending: overflow events held before the publisher blocks.
    :param conflate: apply the overflow policy (live); False: block when full (replay).
    """

    def __init__(
        self,
        types: Iterable[type] | None = None,
        symbols: Iterable[str] | None = None,
        *,
        capacity: int = 64,
        max_pending: int = 100_000,
        conflate: bool = True,
    ) -> None:
        if capacity < 1 or max_pending < 1:
            raise ValueError("capacity and max_pending must be >= 1")
        self.types = None if types is None else frozenset(types) | _ALWAYS
        self.symbols = None if symbols is None else frozenset(symbols)
        self.stats = BusStats()
        self.conflate = conflate
        self._max_pending = max_pending
        self._send: MemoryObjectSendStream[list[Event]]
        self._recv: MemoryObjectReceiveStream[list[Event]]
        self._send, self._recv = anyio.create_memory_object_stream[list[Event]](capacity)
        self._pending: list[Event | None] = []
        self._pending_live = 0  # events in _pending that are not tombstones
        self._latest: dict[tuple[type, str, str], int] = {}

    def select(self, batch: list[Event]) -> list[Event]:
        """The events of ``batch`` this subscription wants, in order."""
        types, symbols = self.types, self.symbols
        if types is None and symbols is None:
            return batch
        if symbols is None:
            # A batch is mostly one or two types: testing the set of them (built in C)
            # is cheaper than filtering event by event, and keeps the batch as it is.
            if types.issuperset(map(type, batch)):  # type: ignore[union-attr]
                return batch
            return [e for e in batch if type(e) in types]  # type: ignore[operator]
        always = _ALWAYS
        if types is None:
            return [e for e in batch if type(e) in always or e.symbol in symbols]  # type: ignore[union-attr]
        return [
            e
            for e in batch
            if (kind := type(e)) in types and (kind in always or e.symbol in symbols)  # type: ignore[union-attr]
        ]

    async def put(self, batch: list[Event]) -> None:
        """Queue a batch, applying the documented overflow policy."""
        if not batch:
            return
        if not self.conflate:
            await self._send.send(batch)
            return
        if not self._pending:
            try:
                self._send.send_nowait(batch)
                return
            except anyio.WouldBlock:
                pass
        self._overflow(batch)
        if not self._flush_nowait() and self._pending_live >= self._max_pending:
            self.stats.backpressure_waits += 1
            await self._send.send(self._take_pending())

    def _overflow(self, batch: list[Event]) -> None:
        pending, latest = self._pending, self._latest
        for event in batch:
            if type(event) in _CONFLATABLE:
                key = (type(event), event.venue, event.symbol)  # type: ignore[union-attr]
                old = latest.get(key)
                if old is not None:
                    pending[old] = None
                    self._pending_live -= 1
                    self.stats.conflated += 1
                latest[key] = len(pending)
            pending.append(event)
            self._pending_live += 1
        if self._pending_live > self.stats.max_pending:
            self.stats.max_pending = self._pending_live

    def _flush_nowait(self) -> bool:
        events = [e for e in self._pending if e is not None]
        try:
            self._send.send_nowait(events)
        except anyio.WouldBlock:
            return False
        self._reset_pending()
        return True

    def _take_pending(self) -> list[Event]:
        events = [e for e in self._pending if e is not None]
        self._reset_pending()
        return events

    def _reset_pending(self) -> None:
        self._pending = []
        self._pending_live = 0
        self._latest.clear()

    async def get(self) -> list[Event] | None:
        """The next batch, or ``None`` once the publisher closed and all is delivered."""
        try:
            batch = self._recv.receive_nowait()
        except anyio.WouldBlock:
            if self._pending:
                batch = self._take_pending()
            else:
                try:
                    batch = await self._recv.receive()
                except anyio.EndOfStream:
                    return None
        except anyio.EndOfStream:
            return None
        self.stats.delivered += len(batch)
        return batch

    def discard(self) -> int:
        """Drop everything still queued (engine stopping); returns how many events."""
        dropped = self._pending_live
        self._reset_pending()
        while True:
            try:
                dropped += len(self._recv.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return dropped

    async def aclose(self, *, flush: bool = True) -> None:
        """Close the publishing side; with ``flush``, deliver the overflow first."""
        try:
            if flush and self._pending:
                await self._send.send(self._take_pending())
        finally:
            self._send.close()


class EventBus:
    """Fan event batches out to subscriptions (one per strategy)."""

    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []

    def subscribe(self, subscription: Subscription) -> Subscription:
        """Register a subscription; returns it for chaining."""
        self.subscriptions.append(subscription)
        return subscription

    async def publish(self, batch: list[Event]) -> None:
        """Route ``batch`` to every subscription (blocks only under the overflow policy)."""
        for sub in self.subscriptions:
            await sub.put(sub.select(batch))

    async def aclose(self, *, flush: bool = True) -> None:
        """End the stream for every subscriber."""
        for sub in self.subscriptions:
            await sub.aclose(flush=flush)
