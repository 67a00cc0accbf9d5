"""Sans-IO parser for Kraken's WebSocket v2 public feed (``wss://ws.kraken.com/v2``),
from Kraken's v2 documentation (no v2 capture here).

Messages are objects ``{"channel": ..., "type": "snapshot"|"update", "data": [...]}``;
prices and quantities are JSON numbers at full precision (decoded straight to
``Decimal``, digits kept, as the checksum needs). ``book`` carries the same CRC32 as
v1 (top ten levels) on snapshots *and* updates; the book is kept at the subscribed depth
(learnt from the subscribe ack, default 10). ``trade`` ids are sequential per symbol.
Method answers (``subscribe``, ``unsubscribe``, ``pong``), ``heartbeat`` and ``status``
are ignorable; a failed method is a :class:`ParseError`.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from ..._events import Bar, BookDelta, BookSnapshot, Event, Quote, Side, Trade
from ..._exceptions import ParseError
from .._common import VenueParser, check, check_levels, iso_ns
from ._parser import book_checksum

__all__ = ["KrakenV2Parser"]

VENUE = "kraken-v2"
_S = 1_000_000_000
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_DEFAULT_DEPTH = 10


class _Result(msgspec.Struct):
    channel: str = ""
    symbol: str = ""
    depth: int = 0


class _Envelope(msgspec.Struct):
    channel: str = ""
    type: str = ""
    method: str = ""
    success: bool = True
    error: str = ""
    result: _Result | None = None
    data: msgspec.Raw = msgspec.Raw(b"[]")


class _Level(msgspec.Struct):
    price: Decimal
    qty: Decimal


class _Book(msgspec.Struct):
    symbol: str
    bids: list[_Level] = []
    asks: list[_Level] = []
    checksum: int | None = None
    timestamp: str = ""


class _Trade(msgspec.Struct):
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    trade_id: int
    timestamp: str


class _Ticker(msgspec.Struct):
    symbol: str
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal


class _Ohlc(msgspec.Struct):
    symbol: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    interval_begin: str
    interval: int


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_BOOKS = msgspec.json.Decoder(list[_Book])
_TRADES = msgspec.json.Decoder(list[_Trade])
_TICKERS = msgspec.json.Decoder(list[_Ticker])
_OHLC = msgspec.json.Decoder(list[_Ohlc])
_IGNORED_CHANNELS = frozenset({"heartbeat", "status"})


def _levels(rows: list[_Level]) -> tuple[tuple[Decimal, Decimal], ...]:
    return check_levels((row.price, row.qty) for row in rows)


class KrakenV2Parser(VenueParser):
    """Parse Kraken WS v2 frames into events.

    :ivar book_depths: symbol -> book depth subscribed (from the acks; default 10).
    """

    venue = VENUE
    title = "Kraken v2"
    book_snapshots = "stream"
    book_sequenced = False
    trade_ids = "contiguous"
    book_checksum = staticmethod(book_checksum)

    def __init__(self) -> None:
        super().__init__()
        self.book_depths: dict[str, int] = {}

    def _parse(self, frame: bytes, ts_recv: int) -> list[Event]:
        env = _ENVELOPE.decode(frame)
        if env.method:
            if not env.success:
                raise ParseError(f"Kraken {env.method} failed: {env.error}", frame)
            result = env.result
            if result is not None and result.channel == "book" and result.symbol and result.depth:
                self.book_depths[self._names[result.symbol]] = result.depth
            self.ignored += 1
            return []
        channel = env.channel
        if channel == "book":
            return [self._book(b, env.type, ts_recv) for b in _BOOKS.decode(env.data)]
        if channel == "trade":
            return [self._trade(t, ts_recv) for t in _TRADES.decode(env.data)]
        if channel == "ticker":
            return [self._quote(t, ts_recv) for t in _TICKERS.decode(env.data)]
        if channel == "ohlc":
            return [self._bar(o, ts_recv) for o in _OHLC.decode(env.data)]
        if channel in _IGNORED_CHANNELS:
            self.ignored += 1
            return []
        raise ParseError(f"unknown Kraken v2 channel {channel!r}", frame)

    def _book(self, b: _Book, kind: str, ts_recv: int) -> BookSnapshot | BookDelta:
        name = self._names[b.symbol]
        ts = iso_ns(b.timestamp) if b.timestamp else 0
        bids, asks = _levels(b.bids), _levels(b.asks)
        if kind == "snapshot":
            self.book_depths.setdefault(name, _DEFAULT_DEPTH)
            return BookSnapshot(VENUE, name, bids, asks, -1, ts, ts_recv, b.symbol, b.checksum)
        if kind != "update":
            raise ParseError(f"unknown Kraken v2 book type {kind!r}")
        return BookDelta(VENUE, name, bids, asks, -1, -1, ts, ts_recv, -1, b.symbol, b.checksum)

    def _trade(self, t: _Trade, ts_recv: int) -> Trade:
        check(t.price, t.qty)
        return Trade(VENUE, self._names[t.symbol], t.price, t.qty, _SIDES[t.side], t.trade_id, iso_ns(t.timestamp),
                     ts_recv, t.symbol)

    def _quote(self, t: _Ticker, ts_recv: int) -> Quote:
        check(t.bid, t.bid_qty)
        check(t.ask, t.ask_qty)
        return Quote(VENUE, self._names[t.symbol], t.bid, t.bid_qty, t.ask, t.ask_qty, -1, 0, ts_recv, t.symbol)

    def _bar(self, o: _Ohlc, ts_recv: int) -> Bar:
        for price in (o.open, o.high, o.low, o.close):
            check(price, o.volume)
        start = iso_ns(o.interval_begin)
        return Bar(VENUE, self._names[o.symbol], f"{o.interval}m", o.open, o.high, o.low, o.close, o.volume, start,
                   start + o.interval * 60 * _S, False, ts_recv, o.symbol)
