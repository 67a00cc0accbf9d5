"""Several sources as one, merged by receive time: a backtest over one recording per venue
sees the events in the order a live run of all of them would have."""

from __future__ import annotations

from bisect import bisect_left
from operator import attrgetter

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._events import Event
from ._base import EventSource, FeedStats, Publish

__all__ = ["MergedSource"]

# A source holding fewer events than this takes its next batch before a merge step: cut
# by the other sources' times, a remainder alone would make a step of a few events.
_LOW = 512
_TS = attrgetter("ts_recv")


class MergedSource(EventSource):
    """The events of ``sources`` in one stream. Replays (each in receive order, as
    recordings are) are merged by ``ts_recv``, on equal times the earlier source first:
    a streaming k-way merge, each source a task of its own handing over its batches
    through a one-batch buffer, so memory stays flat in the length of the files. Live
    sources (none is a replay) each publish as their events arrive: each keeps its own
    connection, reconnect machine, sequencing and backfill, so one venue's outage does
    not hold up the others.

    The merge works in chunks, not per event: every held event before the earliest of
    the sources' last held times is complete, so those are taken (a binary search per
    source) and put in order by one stable sort, which merges the sources' sorted runs
    in C. A merge costs little more than replaying the recordings one by one.

    Example::

        source = MergedSource([ReplaySource("binance.txt.gz"), ReplaySource("coinbase.txt.gz")])

    :raises DataError: as the failing source does, after its events before the bad line
        and the other sources' events up to the last of those (nothing later).
    """

    def __init__(self, sources: list[EventSource]) -> None:
        super().__init__()
        if not sources:
            raise ValueError("MergedSource needs at least one source")
        self.sources = list(sources)
        kinds = {source.replay for source in self.sources}
        if len(kinds) > 1:
            raise ValueError("MergedSource merges replays or live feeds, not both")
        self.replay = kinds.pop()

    async def stream(self, publish: Publish) -> None:
        """Replays: merged by receive time (see the class). Live feeds: each publishes
        as its events arrive (arrival order is the live order), in one task group."""
        if not self.replay:
            try:
                async with anyio.create_task_group() as tg:
                    for source in self.sources:
                        tg.start_soon(source.stream, publish)
            finally:
                self._absorb()
            return
        errors: list[BaseException | None] = [None] * len(self.sources)
        failed: BaseException | None = None
        try:
            async with anyio.create_task_group() as tg:
                receivers = []
                for index, source in enumerate(self.sources):
                    send, receive = anyio.create_memory_object_stream[list[Event]](1)
                    tg.start_soon(self._feed, source, send, errors, index)
                    receivers.append(receive)
                failed = await self._merge(receivers, errors, publish)
                tg.cancel_scope.cancel()  # after a failed source the others are not needed
        finally:
            self._absorb()
        if failed is not None:
            raise failed

    @staticmethod
    async def _feed(source: EventSource, send: MemoryObjectSendStream[list[Event]],
                    errors: list[BaseException | None], index: int) -> None:
        """Run one source into its channel; its error is kept for the merge to raise where
        the events before it have been delivered."""

        async def hand_over(batch: list[Event]) -> None:
            if batch:
                await send.send(batch)

        with send:
            try:
                await source.stream(hand_over)
            except Exception as exc:
                errors[index] = exc

    async def _merge(self, receivers: list[MemoryObjectReceiveStream[list[Event]]],
                     errors: list[BaseException | None], publish: Publish) -> BaseException | None:
        """Publish the merged events; returns the error a source stopped at (after the
        events before it), else None at the end of all."""
        # Each source's events not yet published (``held``), and whether it has ended.
        held: list[list[Event]] = [[] for _ in receivers]
        ended = [False] * len(receivers)
        while True:
            for i, receive in enumerate(receivers):
                # A source bounds the merge by its last held time, so it must hold an
                # event before that time: more batches while all it holds share one
                # time (a REST backfill page, say), or while it holds few (see _LOW).
                while not ended[i] and (len(held[i]) < _LOW or held[i][0].ts_recv == held[i][-1].ts_recv):
                    batch = await _next(receive)
                    if batch is None:
                        ended[i] = True
                        if errors[i] is not None:  # stop there, with what came before it
                            await self._publish_until(held, ended, receivers, i, publish)
                            return errors[i]
                    else:
                        held[i] += batch
            lasts = [h[-1].ts_recv for i, h in enumerate(held) if not ended[i]]
            if not lasts and not any(held):
                return None
            # Every event before the earliest of the open sources' last held times is
            # held now (a source's later events come at or after its last held one).
            # Taken in source order, a stable sort by time puts ties in source order
            # too, and merges the sources' sorted runs in C.
            chunk: list[Event] = []
            bound = min(lasts) if lasts else None  # None: all ended, the rest of everything
            takers = 0
            for i, events in enumerate(held):
                cut = len(events) if bound is None else bisect_left(events, bound, key=_TS)
                if cut:
                    chunk += events[:cut]
                    held[i] = events[cut:]
                    takers += 1
            if takers > 1:  # one source's events are in order already
                chunk.sort(key=_TS)
            await publish(chunk)

    @staticmethod
    async def _publish_until(held: list[list[Event]], ended: list[bool],
                             receivers: list[MemoryObjectReceiveStream[list[Event]]], failed: int,
                             publish: Publish) -> None:
        """Source ``failed`` stopped at a bad line: publish every event up to its last
        good one, of all sources (theirs read that far), in order."""
        bound = held[failed][-1].ts_recv if held[failed] else None
        if bound is None:
            return
        for j, receive in enumerate(receivers):
            while not ended[j] and (not held[j] or held[j][-1].ts_recv <= bound):
                batch = await _next(receive)
                if batch is None:
                    ended[j] = True
                else:
                    held[j] += batch
        events = sorted([e for h in held for e in h if e.ts_recv <= bound], key=_TS)
        if events:
            await publish(events)

    def _absorb(self) -> None:
        """The sources' counters, summed (each source's own stay in :meth:`feeds`)."""
        self.stats = FeedStats.total(self.feeds())

    def feeds(self) -> list[FeedStats]:
        """Each source's counters, in the order given."""
        return [stats for source in self.sources for stats in source.feeds()]

    def describe(self) -> str:
        """The sources, merged."""
        return "merge of " + ", ".join(source.describe() for source in self.sources)

    def progress(self) -> tuple[int, int] | None:
        """The sources' progress, summed (None when one cannot tell)."""
        done = total = 0
        for source in self.sources:
            step = source.progress()
            if step is None:
                return None
            done, total = done + step[0], total + step[1]
        return done, total


async def _next(receive: MemoryObjectReceiveStream[list[Event]]) -> list[Event] | None:
    """The source's next batch, or None at its end."""
    try:
        return await receive.receive()
    except anyio.EndOfStream:
        return None
