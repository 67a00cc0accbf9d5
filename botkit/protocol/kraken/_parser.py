"""Sans-IO parser for Kraken's WebSocket v1 public feed.

Data frames are arrays ``[channelID, payload..., channelName, pair]``: ``trade``
(trades carry no id in v1, so gaps cannot be seen by id), ``ticker``, ``spread``,
``ohlc-<minutes>`` and ``book-<depth>`` (snapshot ``as``/``bs``; updates ``a``/``b``,
possibly split in two objects, with the CRC32 ``c`` of the top ten levels after the
update). Events (``heartbeat``, ``systemStatus``, ``subscriptionStatus``, ``pong``) are
ignorable; an error status is a :class:`ParseError`.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

import msgspec

from ..._events import Bar, BookDelta, BookSnapshot, Event, Quote, Side, Trade
from ..._exceptions import ParseError
from .._book import OrderBook
from .._common import VenueParser, check, check_levels, wire

__all__ = ["KrakenParser", "book_checksum"]

VENUE = "kraken"
_S = 1_000_000_000
_IGNORED_EVENTS = frozenset({"heartbeat", "systemStatus", "pong"})
_SIDES = {"b": Side.BUY, "s": Side.SELL}
# Decimals straight from the wire strings (digits kept: the checksum needs them).
_DECODE = msgspec.json.Decoder(float_hook=Decimal)


def _digits(value: Decimal) -> str:
    return wire(value).replace(".", "").lstrip("0")


def book_checksum(book: OrderBook) -> int:
    """Kraken's checksum: CRC32 over the top ten asks (ascending) then the top ten bids
    (descending), each price and size with the decimal point and leading zeros removed."""
    bids, asks = book.levels(10)
    text = "".join(_digits(p) + _digits(s) for p, s in asks) + "".join(_digits(p) + _digits(s) for p, s in bids)
    return zlib.crc32(text.encode())


def _seconds_ns(text: str) -> int:
    """``"1618678142.557535"`` -> ns, exactly (no float)."""
    whole, _, frac = text.partition(".")
    return int(whole) * _S + int(frac[:9].ljust(9, "0") or 0)


def _levels(rows: list[Any]) -> tuple[tuple[Decimal, Decimal], ...]:
    return check_levels((Decimal(row[0]), Decimal(row[1])) for row in rows)


class KrakenParser(VenueParser):
    """Parse Kraken WS v1 frames into events.

    :ivar book_depths: pair -> depth of its book channel (the checksum assumes the book
        is kept at that depth).
    """

    venue = VENUE
    title = "Kraken"
    book_snapshots = "stream"
    book_sequenced = False
    trade_ids = "none"
    book_checksum = staticmethod(book_checksum)

    def __init__(self) -> None:
        super().__init__()
        self.book_depths: dict[str, int] = {}

    def _parse(self, frame: bytes, ts_recv: int) -> list[Event]:
        msg = _DECODE.decode(frame)
        if isinstance(msg, dict):
            return self._event(msg, frame)
        if not isinstance(msg, list) or len(msg) < 4:
            raise ParseError("unknown Kraken frame", frame)
        channel, pair = msg[-2], msg[-1]
        if not isinstance(channel, str) or not isinstance(pair, str):
            raise ParseError("Kraken frame without channel name and pair", frame)
        name = self._names[pair]
        if channel == "trade":
            return [
                Trade(VENUE, name, check_price(row[0], row[1]), Decimal(row[1]), _SIDES[row[3]], -1,
                      _seconds_ns(row[2]), ts_recv, pair)
                for row in msg[1]
            ]
        if channel.startswith("book-"):
            return self._book(msg[1:-2], name, pair, int(channel[5:]), ts_recv)
        if channel == "ticker":
            data = msg[1]
            return [self._quote(name, pair, data["b"][0], data["b"][2], data["a"][0], data["a"][2], 0, ts_recv)]
        if channel == "spread":
            bid, ask, ts, bid_size, ask_size = msg[1][:5]
            return [self._quote(name, pair, bid, bid_size, ask, ask_size, _seconds_ns(ts), ts_recv)]
        if channel.startswith("ohlc-"):
            return [self._bar(msg[1], name, pair, int(channel[5:]), ts_recv)]
        raise ParseError(f"unknown Kraken channel {channel!r}", frame)

    def _event(self, msg: dict[str, Any], frame: bytes) -> list[Event]:
        event = msg.get("event")
        if event == "subscriptionStatus" and msg.get("status") == "error":
            raise ParseError(f"Kraken subscription error: {msg.get('errorMessage', '?')}", frame)
        if event in _IGNORED_EVENTS or event in ("subscriptionStatus", "unsubscribe"):
            self.ignored += 1
            return []
        raise ParseError(f"unknown Kraken event {event!r}", frame)

    def _quote(self, name: str, pair: str, bid: str, bid_size: str, ask: str, ask_size: str, ts: int,
               ts_recv: int) -> Quote:
        b, bs, a, as_ = Decimal(bid), Decimal(bid_size), Decimal(ask), Decimal(ask_size)
        check(b, bs)
        check(a, as_)
        return Quote(VENUE, name, b, bs, a, as_, -1, ts, ts_recv, pair)

    def _bar(self, row: list[str], name: str, pair: str, minutes: int, ts_recv: int) -> Bar:
        # [time, etime, open, high, low, close, vwap, volume, count]; etime ends the bar.
        end = _seconds_ns(row[1])
        o, h, low, c, v = (Decimal(x) for x in (row[2], row[3], row[4], row[5], row[7]))
        for price in (o, h, low, c):
            check(price, v)
        return Bar(VENUE, name, f"{minutes}m", o, h, low, c, v, end - minutes * 60 * _S, end, False, ts_recv, pair)

    def _book(self, parts: list[Any], name: str, pair: str, depth: int, ts_recv: int) -> list[Event]:
        self.book_depths[name] = depth
        first = parts[0]
        if "as" in first or "bs" in first:
            return [BookSnapshot(VENUE, name, _levels(first.get("bs", [])), _levels(first.get("as", [])), -1, 0,
                                 ts_recv, pair)]
        bids: list[Any] = []
        asks: list[Any] = []
        checksum = None
        latest = 0
        for part in parts:
            bids += part.get("b", [])
            asks += part.get("a", [])
            if "c" in part:
                checksum = int(part["c"])
        for row in (*bids, *asks):
            latest = max(latest, _seconds_ns(row[2]))
        return [BookDelta(VENUE, name, _levels(bids), _levels(asks), -1, -1, latest, ts_recv, -1, pair, checksum)]


def check_price(price: str, size: str) -> Decimal:
    """``price`` as a Decimal, after checking it and ``size``."""
    p = Decimal(price)
    check(p, Decimal(size))
    return p
