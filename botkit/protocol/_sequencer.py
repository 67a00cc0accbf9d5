"""Sans-IO decoding pipeline: parser + sequence checks, shared by live and replay.

Trade ids must be contiguous per symbol (Binance ``trade`` and ``aggTrade`` ids are).
A jump emits a :class:`~botkit.Gap` before the trade; a trade whose id was already
seen (a replayed frame after a reconnect) is dropped and counted as a duplicate, so a
strategy sees every trade at most once, in id order.
"""

from __future__ import annotations

from .._events import Event, Gap, Trade
from .._exceptions import ParseError
from ._parser import Parser

__all__ = ["FrameDecoder"]


class FrameDecoder:
    """Frames in, checked events out; counts everything it skips.

    :ivar frames: frames seen.
    :ivar parse_errors: frames that raised :class:`ParseError` (skipped).
    :ivar gaps: trade-id gaps detected (a :class:`Gap` event was emitted for each).
    :ivar duplicates: trades dropped because their id was already delivered.
    """

    def __init__(self, parser: Parser) -> None:
        self.parser = parser
        self.venue = parser.venue
        self.frames = 0
        self.parse_errors = 0
        self.gaps = 0
        self.duplicates = 0
        self.last_error: ParseError | None = None
        self._last_trade: dict[str, int] = {}

    def decode(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        """Events of ``frame`` (``[]`` for a bad frame, which is counted)."""
        self.frames += 1
        try:
            events = self.parser.parse(frame, ts_recv)
        except ParseError as exc:
            self.parse_errors += 1
            self.last_error = exc
            return []
        if events and type(events[0]) is Trade:
            return self._sequence(events)
        return events

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
