"""Sans-IO decoding pipeline: parser + sequence checks, shared by live and replay.

Book deltas go through :class:`BookSync` per symbol: nothing reaches a strategy until a
snapshot anchors the book, and a break in the update ids emits a ``Gap`` and waits for a
new snapshot (``snapshots_needed()`` tells the I/O layer which to fetch).

Trade ids must be contiguous per symbol (Binance ``trade`` and ``aggTrade`` ids are).
A jump emits a :class:`~botkit.Gap` before the trade; a trade whose id was already
seen (a replayed frame after a reconnect) is dropped and counted as a duplicate, so a
strategy sees every trade at most once, in id order.
"""

from __future__ import annotations

import attrs

from .._events import BookDelta, BookSnapshot, Event, Gap, Trade
from .._exceptions import ParseError
from ._book import BookSync
from ._parser import Parser

__all__ = ["FrameDecoder"]


class FrameDecoder:
    """Frames in, checked events out; counts everything it skips.

    :ivar frames: frames seen.
    :ivar parse_errors: frames that raised :class:`ParseError` (skipped).
    :ivar gaps: trade-id gaps detected (a :class:`Gap` event was emitted for each).
    :ivar duplicates: trades dropped because their id was already delivered.
    :param sync_books: hold book deltas back until a snapshot anchors them (off for
        ``botkit decode``, which shows frames as parsed).
    """

    def __init__(self, parser: Parser, *, sync_books: bool = True) -> None:
        self.parser = parser
        self.sync_books = sync_books
        self.venue = parser.venue
        self.frames = 0
        self.parse_errors = 0
        self.gaps = 0
        self.duplicates = 0
        self.last_error: ParseError | None = None
        self._last_trade: dict[str, int] = {}
        #: Per-symbol book synchronisation (diff depth + snapshots).
        self.books: dict[str, BookSync] = {}
        self.unassigned_snapshots = 0
        #: Symbols whose book waits for a REST snapshot (the I/O layer fetches them).
        self.pending_snapshots: set[str] = set()

    def decode(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        """Events of ``frame`` (``[]`` for a bad frame, which is counted)."""
        self.frames += 1
        try:
            events = self.parser.parse(frame, ts_recv)
        except ParseError as exc:
            self.parse_errors += 1
            self.last_error = exc
            return []
        if events:
            kind = type(events[0])
            if kind is Trade:
                return self._sequence(events)
            if (kind is BookDelta or kind is BookSnapshot) and self.sync_books:
                return self._books(events)
        return events

    def _books(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            symbol = event.symbol  # type: ignore[union-attr]
            if type(event) is BookSnapshot and not symbol:
                waiting = [s for s, sync in self.books.items() if sync.needs_snapshot]
                if len(waiting) != 1:
                    self.unassigned_snapshots += 1
                    continue
                symbol = waiting[0]
                event = attrs.evolve(event, symbol=symbol)
            sync = self.books.get(symbol)
            if sync is None:
                sync = self.books[symbol] = BookSync(self.venue, symbol)
            if type(event) is BookDelta:
                result = sync.on_delta(event)  # type: ignore[arg-type]
            else:
                result = sync.on_snapshot(event)  # type: ignore[arg-type]
            if sync.needs_snapshot:
                self.pending_snapshots.add(symbol)
            else:
                self.pending_snapshots.discard(symbol)
            for item in result:
                if type(item) is Gap:
                    self.gaps += 1
            out += result
        return out



    def _sequence(self, events: list[Event]) -> list[Event]:
        last = self._last_trade
        out: list[Event] = []
        for event in events:
            if type(event) is not Trade:
                out.append(event)
                continue
            tid = event.trade_id  # type: ignore[union-attr]
            prev = last.get(event.symbol)  # type: ignore[union-attr]
            if prev is not None:
                if tid <= prev:
                    self.duplicates += 1
                    continue
                if tid != prev + 1:
                    self.gaps += 1
                    out.append(Gap(self.venue, event.symbol, "trades", prev + 1, tid, event.ts_recv))  # type: ignore[union-attr]
            last[event.symbol] = tid  # type: ignore[union-attr]
            out.append(event)
        return out

    @property
    def ignored(self) -> int:
        """Frames the parser classified as carrying no market data."""
        return self.parser.ignored
