"""Events back to Bybit v5 public frames (simulator, round-trip tests)."""

from __future__ import annotations

import json

from ..._events import BookDelta, BookSnapshot, Side, Trade
from .._encoding import dumps, levels, num
from ._venue import BOOK_DEPTH

__all__ = ["acks", "encode_book", "encode_trade"]

_MS = 1_000_000


def _symbol(event: Trade | BookSnapshot | BookDelta) -> str:
    return event.venue_symbol or event.symbol.replace("-", "")


def encode_trade(trade: Trade) -> str:
    ms = trade.ts_exchange // _MS
    data = {"T": ms, "s": _symbol(trade), "S": "Buy" if trade.side is Side.BUY else "Sell", "v": num(trade.size),
            "p": num(trade.price), "i": str(trade.trade_id), "BT": False}
    return dumps({"topic": f"publicTrade.{_symbol(trade)}", "type": "snapshot", "ts": ms, "data": [data]})


def encode_book(event: BookSnapshot | BookDelta, checksum: int | None = None) -> str:
    """``orderbook.<depth>`` snapshot or delta; ``u`` from the event's last update id."""
    ms = event.ts_exchange // _MS
    kind = "snapshot" if isinstance(event, BookSnapshot) else "delta"
    data = {"s": _symbol(event), "b": levels(event.bids), "a": levels(event.asks), "u": event.last_update_id,
            "seq": event.last_update_id}
    return dumps({"topic": f"orderbook.{BOOK_DEPTH}.{_symbol(event)}", "type": kind, "ts": ms, "data": data, "cts": ms})


def acks(message: str) -> list[str]:
    request = json.loads(message)
    if request.get("op") not in ("subscribe", "ping"):
        return []
    if request["op"] == "ping":
        return [dumps({"success": True, "ret_msg": "pong", "conn_id": "sim", "op": "ping"})]
    return [dumps({"success": True, "ret_msg": "", "conn_id": "sim", "op": "subscribe"})]
