"""Events back to Coinbase Exchange feed messages (simulator, round-trip tests)."""

from __future__ import annotations

import json

from ..._events import BookDelta, BookSnapshot, Side, Trade
from .._encoding import dumps, iso, levels, num

__all__ = ["acks", "encode_book", "encode_trade"]


def _product(event: Trade | BookSnapshot | BookDelta) -> str:
    return event.venue_symbol or event.symbol


def encode_trade(trade: Trade) -> str:
    """A ``match`` message; Coinbase names the maker's side, the opposite of the aggressor."""
    return dumps({
        "type": "match", "trade_id": trade.trade_id, "maker_order_id": "", "taker_order_id": "",
        "side": "sell" if trade.side is Side.BUY else "buy", "size": num(trade.size), "price": num(trade.price),
        "product_id": _product(trade), "sequence": trade.trade_id, "time": iso(trade.ts_exchange),
    })


def encode_book(event: BookSnapshot | BookDelta, checksum: int | None = None) -> str:
    """``snapshot`` or ``l2update`` (Coinbase sends no checksum)."""
    if isinstance(event, BookSnapshot):
        return dumps({"type": "snapshot", "product_id": _product(event), "bids": levels(event.bids),
                      "asks": levels(event.asks)})
    changes = [["buy", p, s] for p, s in levels(event.bids)] + [["sell", p, s] for p, s in levels(event.asks)]
    return dumps({"type": "l2update", "product_id": _product(event), "changes": changes,
                  "time": iso(event.ts_exchange)})


def acks(message: str) -> list[str]:
    """What the venue answers to a client's ``subscribe`` (the current subscriptions)."""
    request = json.loads(message)
    if request.get("type") != "subscribe":
        return []
    channels = [{"name": name, "product_ids": request.get("product_ids", [])} for name in request.get("channels", [])]
    return [dumps({"type": "subscriptions", "channels": channels})]
