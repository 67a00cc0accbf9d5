"""Events back to Kraken WS v2 frames (simulator, round-trip tests). Prices and
quantities are written as JSON numbers with their exact digits, as Kraken sends them."""

from __future__ import annotations

import json

from ..._events import BookDelta, BookSnapshot, Level, Side, Trade
from ..._symbols import split_symbol
from .._encoding import dumps, iso, num

__all__ = ["acks", "encode_book", "encode_trade"]


def _symbol(event: Trade | BookSnapshot | BookDelta) -> str:
    return event.venue_symbol or "/".join(split_symbol(event.symbol))


def _levels(levels: tuple[Level, ...]) -> str:
    return "[" + ",".join(f'{{"price":{num(p)},"qty":{num(s)}}}' for p, s in levels) + "]"


def encode_trade(trade: Trade) -> str:
    side = "buy" if trade.side is Side.BUY else "sell"
    return (f'{{"channel":"trade","type":"update","data":[{{"symbol":{dumps(_symbol(trade))},"side":"{side}",'
            f'"price":{num(trade.price)},"qty":{num(trade.size)},"ord_type":"market","trade_id":{trade.trade_id},'
            f'"timestamp":"{iso(trade.ts_exchange)}"}}]}}')


def encode_book(event: BookSnapshot | BookDelta, checksum: int | None = None) -> str:
    kind = "snapshot" if isinstance(event, BookSnapshot) else "update"
    extra = f',"checksum":{checksum}' if checksum is not None else ""
    return (f'{{"channel":"book","type":"{kind}","data":[{{"symbol":{dumps(_symbol(event))},'
            f'"bids":{_levels(event.bids)},"asks":{_levels(event.asks)}{extra},'
            f'"timestamp":"{iso(event.ts_exchange)}"}}]}}')


def acks(message: str) -> list[str]:
    request = json.loads(message)
    method = request.get("method")
    if method == "ping":
        return [dumps({"method": "pong", "time_in": "", "time_out": ""})]
    if method != "subscribe":
        return []
    params = request.get("params", {})
    return [dumps({"method": "subscribe", "result": {"channel": params.get("channel", ""), "symbol": symbol,
                                                     "depth": params.get("depth", 10), "snapshot": True},
                   "success": True}) for symbol in params.get("symbol", [])]
