"""Sans-IO decoding pipeline: parser + sequence checks, shared by live and replay.

Book deltas go through :class:`BookSync` per symbol: nothing reaches a strategy until a
snapshot anchors the book, and a break in the update ids emits a ``Gap`` and waits for a
new snapshot (``pending_snapshots`` tells the I/O layer which to fetch).

Trades go through :class:`TradeSequencer`: ids contiguous per symbol, each delivered
once; a jump is backfilled from REST answers (``trades.pending`` says what to fetch)
or, without backfill, reported as a :class:`~botkit.Gap`.

REST answers and the source's own decisions travel as frames too (``{"rest": ...}``,
``{"resync": ...}``), so recordings replay through exactly the same states.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import msgspec

from .._events import BookDelta, BookSnapshot, Event, Gap, Trade
from .._exceptions import ParseError
from ._book import BookSync
from ._parser import Parser
from ._trades import TradeSequencer
from ._venues import guess_venue

#: A compiled scanner of recording lines (``botkit.sources._clines.run_lines``):
#: ``(trade_decoder, block, pos, end, out, limit, sequencer) -> (pos, lines)``.
LineScanner = Callable[[Any, bytes, int, int, list[Event], int, TradeSequencer], tuple[int, int]]

_REST_PREFIX = b'{"rest":"'
_OWN_PREFIX = b'{"r'  # shared by REST and resync frames: one cheap test for market frames
#: Frame the live source records for each symbol when it reconnects after an outage.
RESYNC_PREFIX = b'{"resync":"'


class _RestEnvelope(msgspec.Struct):
    rest: str
    error: str = ""


_REST_ENVELOPE = msgspec.json.Decoder(_RestEnvelope)

__all__ = ["WRONG_VENUE_FRAMES", "FrameDecoder"]

#: Frames after which a decoder that parsed nearly none of them says so (wrong_venue).
WRONG_VENUE_FRAMES = 1000
_WRONG_VENUE_MIN = 10
_FAILED_KEPT = 32


def _unchanged(events: list[Event]) -> list[Event]:
    return events


class FrameDecoder:
    """Frames in, checked events out; counts everything it skips.

    :ivar frames: frames seen.
    :ivar parse_errors: frames that raised :class:`ParseError` (skipped).
    :ivar gaps: trade-id gaps detected (a :class:`Gap` event was emitted for each).
    :ivar duplicates: trades dropped because their id was already delivered.
    :param sync_books: hold book deltas back until a snapshot anchors them (off for
        ``botkit decode``, which shows frames as parsed).
    :param backfill: on a trade-id gap, hold live trades until the missing ones are fed
        back as REST frames (see :class:`TradeSequencer`); off: emit a ``Gap`` at once.
    :param line_scanner: the compiled recording-line scanner (a replay passes it), for
        :meth:`decode_run`.
    :param book_levels: the books' syncs keep their levels, not only the ids; off, they
        keep them only where the venue's checksum or depth needs them (the sources'
        choice: the strategy's books are the engine's, built from the events).
    """

    def __init__(self, parser: Parser, *, sync_books: bool = True, backfill: bool = False,
                 line_scanner: LineScanner | None = None, book_levels: bool = True) -> None:
        self.parser = parser
        self.sync_books = sync_books
        self.book_levels = book_levels
        self.venue = parser.venue
        self.frames = 0
        self.parse_errors = 0
        self._book_gaps = 0
        self.last_error: ParseError | None = None
        #: The first frames that failed to parse (a few), for :meth:`wrong_venue`.
        self.failed_frames: list[bytes] = []
        #: Trade-id sequencing and backfill state.
        self.trades = TradeSequencer(parser.venue, backfill=backfill)
        self._stream_snapshots = parser.book_snapshots == "stream"
        # One call per trade frame, chosen once: venues without contiguous trade ids
        # (Kraken v1, Bybit) pass trades through.
        self._on_trades: Callable[[list[Event]], list[Event]] = self.trades.on_trades
        if parser.trade_ids != "contiguous":
            self._on_trades = _unchanged
        elif self._stream_snapshots and not parser.book_sequenced:
            self._on_trades = self._trades_then_resync
        # The compiled path over runs of frames (trade frames with the next id of their
        # symbol), where the parser has one and trades take the plain sequencer.
        self._compiled_trades = None
        if self._on_trades == self.trades.on_trades and hasattr(parser, "compiled_trades"):
            self._compiled_trades = parser.compiled_trades()
        self._scan_lines = line_scanner if self._compiled_trades is not None else None
        #: Per-symbol book synchronisation (diff depth + snapshots).
        self.books: dict[str, BookSync] = {}
        self.unassigned_snapshots = 0
        #: Symbols whose book waits for a REST snapshot (the I/O layer fetches them).
        self.pending_snapshots: set[str] = set()
        #: Symbols whose book broke on a venue that sends snapshots on the stream: the
        #: I/O layer resubscribes them (the venue then sends a fresh snapshot).
        self.pending_resubscribe: set[str] = set()

    def decode(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        """Events of ``frame`` (``[]`` for a bad frame, which is counted)."""
        self.frames += 1
        return self._decode(frame, ts_recv)

    def decode_frames(self, frames: list[bytes], ts_recv: int) -> list[Event]:
        """Events of ``frames``, received together at ``ts_recv``: what :meth:`decode`
        gives frame by frame, with runs of plain trade frames taken by the compiled path."""
        self.frames += len(frames)
        run = self._compiled_trades
        if run is None:
            out: list[Event] = []
            for frame in frames:
                out += self._decode(frame, ts_recv)
            return out
        out, i, n = [], 0, len(frames)
        while True:
            i = run.run_frames(frames, i, ts_recv, out, self.trades)
            if i >= n:
                return out
            out += self._decode(frames[i], ts_recv)
            i += 1

    def _decode(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        if isinstance(frame, str):
            frame = frame.encode()
        if not frame.startswith(_OWN_PREFIX):
            pass  # a venue's frame: the common case costs one test
        elif frame.startswith(_REST_PREFIX):
            rest = self._rest_trades(frame, ts_recv)
            if rest is not None:
                return rest
        elif frame.startswith(RESYNC_PREFIX):
            # The live source reconnected: trades after the last one delivered are
            # backfilled and the book re-anchored on a fresh snapshot. Recorded, so a
            # replay holds, merges and resyncs exactly as the live run did.
            symbol = frame[len(RESYNC_PREFIX) :].split(b'"', 1)[0].decode()
            self.trades.request_backfill(symbol)
            sync = self.books.get(symbol)
            if sync is not None and self.sync_books:
                sync.invalidate()
                if not self._stream_snapshots:  # stream venues resend snapshots on subscribe
                    self.pending_snapshots.add(symbol)
            return []
        try:
            events = self.parser.parse(frame, ts_recv)
        except ParseError as exc:
            self.parse_errors += 1
            self.last_error = exc
            if len(self.failed_frames) < _FAILED_KEPT:
                self.failed_frames.append(frame)
            return []
        if events:
            kind = type(events[0])
            if kind is Trade:
                return self._on_trades(events)
            if (kind is BookDelta or kind is BookSnapshot) and self.sync_books:
                return self._books(events)
        return events

    def decode_run(self, block: bytes, pos: int, end: int, out: list[Event], limit: int) -> tuple[int, int]:
        """Decode recording lines (``<ns> <frame>``, ``\\n``-separated) of
        ``block[pos:end]``, appending their events to ``out`` until it holds ``limit``,
        for as long as the compiled path is sure of them: trade frames whose id is the
        next of their symbol.

        Returns ``(offset of the first line not consumed, lines consumed)``; without the
        compiled path ``(pos, 0)``. The caller decodes that line with :meth:`decode`.
        The events and counters are exactly those :meth:`decode` would give.
        """
        if self._scan_lines is None:
            return pos, 0
        pos, lines = self._scan_lines(self._compiled_trades, block, pos, end, out, limit, self.trades)
        self.frames += lines
        return pos, lines

    def _trades_then_resync(self, events: list[Event]) -> list[Event]:
        """Venues whose book updates carry no sequence (Coinbase level2): a trade-id gap
        means frames were lost, book updates possibly among them, so the symbol's book is
        resubscribed as well."""
        gaps = self.trades.gaps
        out = self.trades.on_trades(events)
        if self.trades.gaps != gaps and self.sync_books:
            for event in out:
                sync = self.books.get(event.symbol) if type(event) is Gap else None
                if sync is not None and sync.synced:
                    sync.invalidate()
                    self.pending_resubscribe.add(sync.symbol)
        return out

    def _rest_trades(self, frame: bytes, ts_recv: int) -> list[Event] | None:
        """A recorded REST trades page (or the record of a failed fetch), else None."""
        try:
            envelope = _REST_ENVELOPE.decode(frame)
        except msgspec.MsgspecError:
            return None
        request = self.parser.rest_trades_request(envelope.rest)
        if request is None:
            return None
        symbol, limit = request
        if envelope.error:
            return self.trades.on_backfill_failed(symbol, envelope.error)
        try:
            events = self.parser.parse(frame, ts_recv)
        except ParseError as exc:
            self.parse_errors += 1
            self.last_error = exc
            return self.trades.on_backfill_failed(symbol, f"unreadable answer: {exc.reason}")
        return self.trades.on_backfill(symbol, events, limit, ts_recv)  # type: ignore[arg-type]

    def wrong_venue(self, *, at_end: bool = False) -> str | None:
        """One line saying the data is not this venue's, when nearly every frame so far
        failed to parse (and which venue it looks like), else None. Decided after
        :data:`WRONG_VENUE_FRAMES` frames, or ``at_end`` of the data on any count."""
        seen = self.frames - self.ignored
        if seen < (_WRONG_VENUE_MIN if at_end else WRONG_VENUE_FRAMES) or self.parse_errors < 0.9 * seen:
            return None
        share = f"{self.parse_errors:,} of {seen:,} frames ({self.parse_errors / seen:.0%})"
        guess = guess_venue(self.failed_frames, besides=self.venue)
        looks = f"; the data looks like {guess} (pass --venue {guess})" if guess else ""
        reason = self.last_error.reason if self.last_error is not None else ""
        return f"{share} failed to parse as {self.venue} ({reason}){looks}"

    def symbols(self) -> list[str]:
        """Symbols seen in trades or books."""
        return sorted(set(self.trades.symbols()) | set(self.books))

    def finish(self) -> list[Event]:
        """End of the data: release trades still held for a backfill that never came."""
        out = self.trades.flush()
        for symbol in self.trades.symbols():
            out += self.trades.on_backfill_failed(symbol, "end of data")
        return out

    @property
    def gaps(self) -> int:
        """Gaps reported (trades and books)."""
        return self.trades.gaps + self._book_gaps

    @property
    def book_gaps(self) -> int:
        """Book gaps and checksum mismatches (each made the book wait for a snapshot)."""
        return self._book_gaps

    @property
    def duplicates(self) -> int:
        """Trades dropped because their id was already delivered."""
        return self.trades.duplicates

    @property
    def outliers(self) -> int:
        """Trades and book updates dropped because their ids jumped and nothing
        following confirmed them."""
        return self.trades.outliers + sum(sync.outliers for sync in self.books.values())

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
                sync = self.books[symbol] = self._book_sync(symbol)
            if type(event) is BookDelta:
                result = sync.on_delta(event)
            else:
                result = sync.on_snapshot(event)  # type: ignore[arg-type]
            pending = self.pending_resubscribe if self._stream_snapshots else self.pending_snapshots
            if not sync.needs_snapshot:
                pending.discard(symbol)
            elif not self._stream_snapshots or result:  # a stream book asks once per break
                pending.add(symbol)
            for item in result:
                if type(item) is Gap:
                    self._book_gaps += 1
            out += result
        return out



    def _book_sync(self, symbol: str) -> BookSync:
        parser = self.parser
        depths = parser.book_depths
        return BookSync(
            self.venue, symbol,
            stream_snapshots=self._stream_snapshots,
            sequenced=parser.book_sequenced,
            checksum=parser.book_checksum,
            depth=depths.get(symbol) if depths else None,
            levels=self.book_levels,  # BookSync keeps them anyway where its checksum or depth needs them
        )

    @property
    def checksum_mismatches(self) -> int:
        """Books whose checksum disagreed with the venue's (each resynced)."""
        return sum(sync.mismatches for sync in self.books.values())

    @property
    def checksums_verified(self) -> int:
        """Venue checksums compared with our books."""
        return sum(sync.checks for sync in self.books.values())

    @property
    def ignored(self) -> int:
        """Frames the parser classified as carrying no market data."""
        return self.parser.ignored
