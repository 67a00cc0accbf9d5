"""Events back to Binance combined-stream frames (for the sample generator and simulator).

The inverse of the parser for what Binance can express: ms timestamps, and the
aggressor side folded into the ``m`` (buyer is maker) flag.
"""

from __future__ import annotations

import json

from ..._events import Quote, Side, Trade

__all__ = ["encode_quote", "encode_trade"]

_MS = 1_000_000


def encode_trade(trade: Trade, *, event_time_ns: int | None = None) -> bytes:
    """A ``<symbol>@trade`` combined-stream frame for ``trade``."""
    data = {
        "e": "trade",
        "E": (event_time_ns if event_time_ns is not None else trade.ts_exchange) // _MS,
        "s": _venue_symbol(trade),
        "t": trade.trade_id,
        "p": str(trade.price),
        "q": str(trade.size),
        "T": trade.ts_exchange // _MS,
        "m": trade.side is Side.SELL,
        "M": True,
    }
    return _envelope(f"{_venue_symbol(trade).lower()}@trade", data)


def encode_quote(quote: Quote) -> bytes:
    """A ``<symbol>@bookTicker`` combined-stream frame for ``quote``."""
    data = {
        "u": quote.update_id,
        "s": _venue_symbol(quote),
        "b": str(quote.bid_price),
        "B": str(quote.bid_size),
        "a": str(quote.ask_price),
        "A": str(quote.ask_size),
    }
    return _envelope(f"{_venue_symbol(quote).lower()}@bookTicker", data)


def _venue_symbol(event: Trade | Quote) -> str:
    return event.venue_symbol or event.symbol.replace("-", "")


def _envelope(stream: str, data: dict[str, object]) -> bytes:
    return json.dumps({"stream": stream, "data": data}, separators=(",", ":")).encode()
