"""Events back to Kraken WS v1 frames (simulator, round-trip tests)."""

from __future__ import annotations

import json

from ..._events import BookDelta, BookSnapshot, Level, Side, Trade
from .._encoding import dumps, num, seconds
from ._venue import BOOK_DEPTH

__all__ = ["acks", "encode_book", "encode_trade"]

_CHANNEL_ID = 42


def _pair(event: Trade | BookSnapshot | BookDelta) -> str:
    if event.venue_symbol:
        return event.venue_symbol
    from ._venue import Kraken

    return Kraken().venue_symbol(event.symbol)


def encode_trade(trade: Trade) -> str:
    """A ``trade`` array frame (v1 trades carry no id)."""
    row = [num(trade.price), num(trade.size), seconds(trade.ts_exchange), "b" if trade.side is Side.BUY else "s",
           "m", ""]
    return dumps([_CHANNEL_ID, [row], "trade", _pair(trade)])


def encode_book(event: BookSnapshot | BookDelta, checksum: int | None = None) -> str:
    """A ``book-<depth>`` snapshot (``as``/``bs``) or update (``a``/``b`` and ``c``)."""
    stamp = seconds(event.ts_exchange)

    def rows(levels: tuple[Level, ...]) -> list[list[str]]:
        return [[num(p), num(s), stamp] for p, s in levels]

    payload: dict[str, list[list[str]] | str]
    if isinstance(event, BookSnapshot):
        payload = {"as": rows(event.asks), "bs": rows(event.bids)}
    else:
        payload = {"a": rows(event.asks), "b": rows(event.bids)}
        if checksum is not None:
            payload["c"] = str(checksum)
    return dumps([_CHANNEL_ID, payload, f"book-{BOOK_DEPTH}", _pair(event)])


def acks(message: str) -> list[str]:
    """``subscriptionStatus`` for every pair of a ``subscribe``."""
    request = json.loads(message)
    if request.get("event") != "subscribe":
        return []
    sub = request.get("subscription", {})
    return [dumps({"channelID": _CHANNEL_ID, "channelName": sub.get("name", ""), "event": "subscriptionStatus",
                   "pair": pair, "status": "subscribed", "subscription": sub}) for pair in request.get("pair", [])]
