"""Events back to OKX v5 public frames (simulator, round-trip tests)."""

from __future__ import annotations

import json

from ..._events import BookDelta, BookSnapshot, Level, Quote, Side, Trade
from .._encoding import dumps, num

__all__ = ["acks", "encode_book", "encode_quote", "encode_trade"]

_MS = 1_000_000


def _inst(event: Trade | Quote | BookSnapshot | BookDelta) -> str:
    return event.venue_symbol or event.symbol


def encode_trade(trade: Trade) -> str:
    data = {"instId": _inst(trade), "tradeId": str(trade.trade_id), "px": num(trade.price), "sz": num(trade.size),
            "side": "buy" if trade.side is Side.BUY else "sell", "ts": str(trade.ts_exchange // _MS)}
    return dumps({"arg": {"channel": "trades", "instId": _inst(trade)}, "data": [data]})


def encode_quote(quote: Quote) -> str:
    """A ``tickers`` push: the best bid and ask (OKX sends the last trade with them)."""
    data = {"instType": "SPOT", "instId": _inst(quote), "bidPx": num(quote.bid_price), "bidSz": num(quote.bid_size),
            "askPx": num(quote.ask_price), "askSz": num(quote.ask_size), "ts": str(quote.ts_exchange // _MS)}
    return dumps({"arg": {"channel": "tickers", "instId": _inst(quote)}, "data": [data]})


def encode_book(event: BookSnapshot | BookDelta, checksum: int | None = None) -> str:
    """``books`` snapshot or update; ``seqId``/``prevSeqId`` from the event's ids."""
    def rows(levels: tuple[Level, ...]) -> list[list[str]]:
        return [[num(p), num(s), "0", "1"] for p, s in levels]

    data = {"asks": rows(event.asks), "bids": rows(event.bids), "ts": str(event.ts_exchange // _MS),
            "checksum": checksum}
    if isinstance(event, BookSnapshot):
        action = "snapshot"
        data.update(seqId=event.last_update_id, prevSeqId=-1)
    else:
        action = "update"
        data.update(seqId=event.last_update_id, prevSeqId=event.prev_update_id)
    return dumps({"arg": {"channel": "books", "instId": _inst(event)}, "action": action, "data": [data]})


def acks(message: str) -> list[str]:
    request = json.loads(message)
    if request.get("op") != "subscribe":
        return []
    return [dumps({"event": "subscribe", "arg": arg}) for arg in request.get("args", [])]
