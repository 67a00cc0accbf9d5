"""Sans-IO parser for the Coinbase Exchange feed: match/last_match, ticker, snapshot and
l2update; subscription acks, heartbeats and status messages are ignorable.

Coinbase's ``sequence`` numbers every message of a product's full feed, so a subset of
channels sees them with holes; what must hold is that they only go up, per product and
channel: an older or repeated one is a stale message and is dropped (``stale``).
Trade ids are contiguous per product, so lost matches are seen as trade gaps. Level2
messages carry no sequence: a lost one is undetectable, which is why botkit resubscribes
the book (fresh snapshot) after every reconnect.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from ..._events import BookDelta, BookSnapshot, Event, Quote, Side, Trade
from ..._exceptions import ParseError
from .._common import VenueParser, check, check_levels, iso_ns

__all__ = ["CoinbaseParser"]

VENUE = "coinbase"
_ZERO = Decimal(0)
_IGNORED = frozenset({"subscriptions", "heartbeat", "status", "received", "open", "done", "change", "activate"})


#: A message at most this far behind the last one delivered is stale (dropped); further
#: behind, the last one was an outlier.
STALE_WINDOW = 10_000


class _Kind(msgspec.Struct):
    type: str


class _Match(msgspec.Struct):
    trade_id: int
    side: str
    size: Decimal
    price: Decimal
    product_id: str
    sequence: int
    time: str


class _Ticker(msgspec.Struct):
    product_id: str
    sequence: int
    best_bid: Decimal
    best_ask: Decimal
    time: str = ""
    best_bid_size: Decimal = _ZERO
    best_ask_size: Decimal = _ZERO


class _Snapshot(msgspec.Struct):
    product_id: str
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]


class _L2Update(msgspec.Struct):
    product_id: str
    changes: list[tuple[str, Decimal, Decimal]]
    time: str = ""


class _Error(msgspec.Struct):
    message: str
    reason: str = ""


_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "match": msgspec.json.Decoder(_Match),
    "last_match": msgspec.json.Decoder(_Match),
    "ticker": msgspec.json.Decoder(_Ticker),
    "snapshot": msgspec.json.Decoder(_Snapshot),
    "l2update": msgspec.json.Decoder(_L2Update),
    "error": msgspec.json.Decoder(_Error),
}
_KIND = msgspec.json.Decoder(_Kind)


class CoinbaseParser(VenueParser):
    """Parse Coinbase Exchange frames into events.

    :ivar stale: messages dropped because their sequence was not above the last one seen
        for that product and channel.
    """

    venue = VENUE
    title = "Coinbase"
    book_snapshots = "stream"
    book_sequenced = False
    trade_ids = "contiguous"

    def __init__(self) -> None:
        super().__init__()
        self.stale = 0
        self.sequence_restarts = 0
        self._sequences: dict[tuple[str, str], int] = {}

    def _parse(self, frame: bytes, ts_recv: int) -> list[Event]:
        kind = _KIND.decode(frame).type
        decoder = _DECODERS.get(kind)
        if decoder is None:
            if kind in _IGNORED:
                self.ignored += 1
                return []
            raise ParseError(f"unknown Coinbase message type {kind!r}", frame)
        msg = decoder.decode(frame)
        if kind == "l2update":
            return self._l2update(msg, ts_recv)
        if kind == "snapshot":
            return self._snapshot(msg, ts_recv)
        if kind == "error":
            raise ParseError(f"Coinbase error: {msg.message} {msg.reason}".rstrip(), frame)
        # Checked first: a frame that fails must not move the sequence.
        events = self._ticker(msg, ts_recv) if kind == "ticker" else self._match(msg, ts_recv)
        if not self._fresh(msg.product_id, "ticker" if kind == "ticker" else "matches", msg.sequence):
            return []
        return events

    def _fresh(self, product: str, channel: str, sequence: int) -> bool:
        """False for a message older than one already delivered (Coinbase may deliver
        out of order). Far older, it is the sequence before that was wrong (one corrupt
        number must not make every later message stale): the sequence restarts here."""
        key = (product, channel)
        last = self._sequences.get(key, -1)
        if last - STALE_WINDOW <= sequence <= last:
            self.stale += 1
            return False
        if sequence < last:
            self.sequence_restarts += 1
        self._sequences[key] = sequence
        return True

    def _match(self, msg: _Match, ts_recv: int) -> list[Event]:
        check(msg.price, msg.size)
        # Coinbase's ``side`` is the maker's order: a resting sell was hit by a buyer.
        side = Side.BUY if msg.side == "sell" else Side.SELL
        name = self._names[msg.product_id]
        return [Trade(VENUE, name, msg.price, msg.size, side, msg.trade_id, iso_ns(msg.time), ts_recv, msg.product_id)]

    def _ticker(self, msg: _Ticker, ts_recv: int) -> list[Event]:
        check(msg.best_bid, msg.best_bid_size)
        check(msg.best_ask, msg.best_ask_size)
        ts = iso_ns(msg.time) if msg.time else 0
        return [Quote(VENUE, self._names[msg.product_id], msg.best_bid, msg.best_bid_size, msg.best_ask,
                      msg.best_ask_size, msg.sequence, ts, ts_recv, msg.product_id)]

    def _snapshot(self, msg: _Snapshot, ts_recv: int) -> list[Event]:
        name = self._names[msg.product_id]
        return [BookSnapshot(VENUE, name, check_levels(msg.bids), check_levels(msg.asks), -1, 0, ts_recv,
                             msg.product_id)]

    def _l2update(self, msg: _L2Update, ts_recv: int) -> list[Event]:
        bids, asks = [], []
        for side, price, size in msg.changes:
            check(price, size)
            if side == "buy":
                bids.append((price, size))
            elif side == "sell":
                asks.append((price, size))
            else:
                raise ParseError(f"l2update with side {side!r}")
        ts = iso_ns(msg.time) if msg.time else 0
        return [BookDelta(VENUE, self._names[msg.product_id], tuple(bids), tuple(asks), -1, -1, ts, ts_recv, -1,
                          msg.product_id)]
