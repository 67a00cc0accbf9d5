"""Sans-IO parser for OKX v5 public channels: ``trades``, ``tickers``, ``books`` (and
the other order-book channels), ``candle<bar>``.

Books: ``action`` ``snapshot`` resets, ``update`` applies; since 2023 each message links
to the previous one with ``prevSeqId`` -> ``seqId`` (older captures have no ids: then
the checksum alone guards the book). Every message carries a signed CRC32 ``checksum``
of the top 25 levels after it. Acks, errors and the text ``pong`` are handled here.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from ..._events import Bar, BookDelta, BookSnapshot, Event, Quote, Side, Trade
from ..._exceptions import ParseError
from .._book import OrderBook
from .._common import VenueParser, check, check_levels, crc32_signed, wire

__all__ = ["OkxParser", "book_checksum"]

VENUE = "okx"
_MS = 1_000_000
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_BAR_UNITS = {"s": 1, "m": 60, "H": 3600, "D": 86400, "W": 7 * 86400}


class _Arg(msgspec.Struct):
    channel: str
    instId: str = ""


class _Envelope(msgspec.Struct):
    arg: _Arg | None = None
    event: str = ""
    action: str = ""
    code: str = ""
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"[]")


class _Trade(msgspec.Struct):
    instId: str
    tradeId: str
    px: Decimal
    sz: Decimal
    side: str
    ts: str


class _Ticker(msgspec.Struct):
    instId: str
    bidPx: Decimal
    bidSz: Decimal
    askPx: Decimal
    askSz: Decimal
    ts: str


class _Book(msgspec.Struct):
    asks: list[list[Decimal]]
    bids: list[list[Decimal]]
    ts: str
    checksum: int | None = None
    seqId: int = -1
    prevSeqId: int = -1


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_TRADES = msgspec.json.Decoder(list[_Trade])
_TICKERS = msgspec.json.Decoder(list[_Ticker])
_BOOKS = msgspec.json.Decoder(list[_Book])
_CANDLES = msgspec.json.Decoder(list[list[str]])


def book_checksum(book: OrderBook) -> int:
    """OKX's checksum: ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...`` over the top 25 levels
    (a shorter side just stops contributing), CRC32 as a signed 32-bit integer."""
    bids, asks = book.levels(25)
    parts: list[str] = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            parts += (wire(bids[i][0]), wire(bids[i][1]))
        if i < len(asks):
            parts += (wire(asks[i][0]), wire(asks[i][1]))
    return crc32_signed(":".join(parts))


def _bar_seconds(channel: str) -> tuple[str, int]:
    """``candle1m`` -> ``("1m", 60)``; ``candle1Hutc`` -> ``("1H", 3600)``."""
    spec = channel[6:].removesuffix("utc")
    return spec, int(spec[:-1]) * _BAR_UNITS[spec[-1]]


class OkxParser(VenueParser):
    """Parse OKX v5 public frames into events."""

    venue = VENUE
    title = "OKX"
    book_snapshots = "stream"
    trade_ids = "contiguous"
    book_checksum = staticmethod(book_checksum)

    def _parse(self, frame: bytes, ts_recv: int) -> list[Event]:
        if frame == b"pong":
            self.ignored += 1
            return []
        env = _ENVELOPE.decode(frame)
        if env.event:
            if env.event == "error":
                raise ParseError(f"OKX error {env.code}: {env.msg}", frame)
            self.ignored += 1  # subscribe / unsubscribe acks, channel-conn-count notices
            return []
        if env.arg is None:
            raise ParseError("unknown OKX frame", frame)
        channel, inst = env.arg.channel, env.arg.instId
        if channel == "trades" or channel == "trades-all":
            return [self._trade(t, ts_recv) for t in _TRADES.decode(env.data)]
        if channel == "tickers":
            return [self._quote(t, ts_recv) for t in _TICKERS.decode(env.data)]
        if channel.startswith(("books", "bbo-tbt")):
            return [self._book(b, env.action, inst, ts_recv) for b in _BOOKS.decode(env.data)]
        if channel.startswith("candle"):
            return [self._bar(row, channel, inst, ts_recv) for row in _CANDLES.decode(env.data)]
        raise ParseError(f"unknown OKX channel {channel!r}", frame)

    def _trade(self, t: _Trade, ts_recv: int) -> Trade:
        check(t.px, t.sz)
        return Trade(VENUE, self._names[t.instId], t.px, t.sz, _SIDES[t.side], int(t.tradeId), int(t.ts) * _MS,
                     ts_recv, t.instId)

    def _quote(self, t: _Ticker, ts_recv: int) -> Quote:
        check(t.bidPx, t.bidSz)
        check(t.askPx, t.askSz)
        return Quote(VENUE, self._names[t.instId], t.bidPx, t.bidSz, t.askPx, t.askSz, -1, int(t.ts) * _MS,
                     ts_recv, t.instId)

    def _book(self, b: _Book, action: str, inst: str, ts_recv: int) -> BookSnapshot | BookDelta:
        name = self._names[inst]
        bids, asks = check_levels(b.bids), check_levels(b.asks)
        ts = int(b.ts) * _MS
        if action == "snapshot" or not action:  # books5 / bbo-tbt: every message is whole
            return BookSnapshot(VENUE, name, bids, asks, b.seqId, ts, ts_recv, inst, b.checksum)
        if action != "update":
            raise ParseError(f"unknown OKX book action {action!r}")
        return BookDelta(VENUE, name, bids, asks, b.seqId, b.seqId, ts, ts_recv, b.prevSeqId, inst, b.checksum)

    def _bar(self, row: list[str], channel: str, inst: str, ts_recv: int) -> Bar:
        interval, seconds = _bar_seconds(channel)
        start = int(row[0]) * _MS
        o, h, low, c, v = (Decimal(x) for x in row[1:6])
        for price in (o, h, low, c):
            check(price, v)
        closed = len(row) > 8 and row[8] == "1"
        return Bar(VENUE, self._names[inst], interval, o, h, low, c, v, start, start + seconds * 1_000_000_000,
                   closed, ts_recv, inst)
