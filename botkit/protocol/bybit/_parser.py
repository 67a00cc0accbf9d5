"""Sans-IO parser for Bybit v5 public topics: ``publicTrade``, ``tickers``,
``orderbook.<depth>`` and ``kline.<interval>``; written from Bybit's v5 documentation
(there is no Bybit capture here; the tests use the documented example messages).

Books: ``type`` ``snapshot`` resets the book (Bybit also resends one after a service
restart, with ``u`` = 1), ``delta`` applies; ``u`` goes up by one per message, so a
missing message is a gap. Linear tickers send only the fields that changed: the parser
keeps the last values per symbol to emit whole quotes. Trade ids are UUIDs on linear
and numbers on spot, so they are not sequenced.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import msgspec

from ..._events import Bar, BookDelta, BookSnapshot, Event, Quote, Side, Trade
from ..._exceptions import ParseError
from .._common import VenueParser, check, check_levels

__all__ = ["BybitParser"]

VENUE = "bybit"
_MS = 1_000_000
_SIDES = {"Buy": Side.BUY, "Sell": Side.SELL}
_INTERVALS = {"D": "1d", "W": "1w", "M": "1M"}


class _Envelope(msgspec.Struct):
    topic: str = ""
    type: str = ""
    ts: int = 0
    op: str = ""
    success: bool = True
    ret_msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


class _Trade(msgspec.Struct):
    T: int
    s: str
    S: str
    v: Decimal
    p: Decimal
    i: str


class _Book(msgspec.Struct):
    s: str
    b: list[tuple[Decimal, Decimal]]
    a: list[tuple[Decimal, Decimal]]
    u: int
    seq: int = -1


class _Ticker(msgspec.Struct):
    symbol: str
    bid1Price: Decimal | None = None
    bid1Size: Decimal | None = None
    ask1Price: Decimal | None = None
    ask1Size: Decimal | None = None


class _Kline(msgspec.Struct):
    start: int
    end: int
    interval: str
    open: Decimal
    close: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal
    confirm: bool


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_TRADES = msgspec.json.Decoder(list[_Trade])
_BOOK = msgspec.json.Decoder(_Book)
_TICKER = msgspec.json.Decoder(_Ticker)
_KLINES = msgspec.json.Decoder(list[_Kline])


def _trade_id(text: str) -> int:
    """Spot ids are numbers; linear ids are UUIDs (kept, as their 128-bit integer)."""
    return int(text) if text.isdigit() else uuid.UUID(text).int


class BybitParser(VenueParser):
    """Parse Bybit v5 public frames into events."""

    venue = VENUE
    title = "Bybit"
    book_snapshots = "stream"
    trade_ids = "none"

    def __init__(self) -> None:
        super().__init__()
        self._tickers: dict[str, list[Decimal | None]] = {}

    def _parse(self, frame: bytes, ts_recv: int) -> list[Event]:
        env = _ENVELOPE.decode(frame)
        if env.op or not env.topic:
            if not env.success:
                raise ParseError(f"Bybit {env.op or 'request'} failed: {env.ret_msg}", frame)
            if env.op:
                self.ignored += 1  # subscribe acks, pongs
                return []
            raise ParseError("unknown Bybit frame", frame)
        topic = env.topic
        if topic.startswith("publicTrade."):
            return [self._trade(t, ts_recv) for t in _TRADES.decode(env.data)]
        if topic.startswith("orderbook."):
            return [self._book(_BOOK.decode(env.data), env.type, env.ts, ts_recv)]
        if topic.startswith("tickers."):
            quote = self._quote(_TICKER.decode(env.data), env.ts, ts_recv)
            return [quote] if quote is not None else []
        if topic.startswith("kline."):
            symbol = topic.rsplit(".", 1)[1]
            return [self._bar(k, symbol, ts_recv) for k in _KLINES.decode(env.data)]
        raise ParseError(f"unknown Bybit topic {topic!r}", frame)

    def _trade(self, t: _Trade, ts_recv: int) -> Trade:
        check(t.p, t.v)
        return Trade(VENUE, self._names[t.s], t.p, t.v, _SIDES[t.S], _trade_id(t.i), t.T * _MS, ts_recv, t.s)

    def _book(self, b: _Book, kind: str, ts: int, ts_recv: int) -> BookSnapshot | BookDelta:
        name = self._names[b.s]
        bids, asks = check_levels(b.b), check_levels(b.a)
        if kind == "snapshot":
            return BookSnapshot(VENUE, name, bids, asks, b.u, ts * _MS, ts_recv, b.s)
        if kind != "delta":
            raise ParseError(f"unknown Bybit orderbook type {kind!r}")
        return BookDelta(VENUE, name, bids, asks, b.u, b.u, ts * _MS, ts_recv, -1, b.s)

    def _quote(self, t: _Ticker, ts: int, ts_recv: int) -> Quote | None:
        last = self._tickers.setdefault(t.symbol, [None, None, None, None])
        for i, value in enumerate((t.bid1Price, t.bid1Size, t.ask1Price, t.ask1Size)):
            if value is not None:
                last[i] = value
        bid, bid_size, ask, ask_size = last
        if bid is None or bid_size is None or ask is None or ask_size is None:
            return None  # spot tickers carry no book top; linear deltas before a snapshot
        check(bid, bid_size)
        check(ask, ask_size)
        return Quote(VENUE, self._names[t.symbol], bid, bid_size, ask, ask_size, -1, ts * _MS, ts_recv, t.symbol)

    def _bar(self, k: _Kline, symbol: str, ts_recv: int) -> Bar:
        for price in (k.open, k.high, k.low, k.close):
            check(price, k.volume)
        interval = _INTERVALS.get(k.interval, f"{k.interval}m")
        return Bar(VENUE, self._names[symbol], interval, k.open, k.high, k.low, k.close, k.volume, k.start * _MS,
                   k.end * _MS, k.confirm, ts_recv, symbol)
