"""Events back to Binance combined-stream frames (for the sample generator and simulator).

The inverse of the parser for what Binance can express: ms timestamps, and the
aggressor side folded into the ``m`` (buyer is maker) flag.
"""

from __future__ import annotations

import json

from ..._events import BookDelta, BookSnapshot, Quote, Side, Trade
from .._encoding import levels

__all__ = ["acks", "encode_book", "encode_quote", "encode_trade"]

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


def encode_book(event: BookSnapshot | BookDelta, checksum: int | None = None) -> bytes:
    """A ``<symbol>@depth@100ms`` diff (Binance sends snapshots over REST only)."""
    if isinstance(event, BookSnapshot):
        raise ValueError("Binance book snapshots come from REST /api/v3/depth, not the stream")
    symbol = _venue_symbol(event)
    data: dict[str, object] = {"e": "depthUpdate", "E": event.ts_exchange // _MS, "s": symbol,
                               "U": event.first_update_id, "u": event.last_update_id,
                               "b": levels(event.bids), "a": levels(event.asks)}
    if event.prev_update_id >= 0:
        data["pu"] = event.prev_update_id
    return _envelope(f"{symbol.lower()}@depth@100ms", data)


def acks(message: str) -> list[str]:
    """Binance streams are named in the URL: nothing to acknowledge."""
    return []


def _venue_symbol(event: Trade | Quote | BookDelta) -> str:
    return event.venue_symbol or event.symbol.replace("-", "")


def _envelope(stream: str, data: dict[str, object]) -> bytes:
    return json.dumps({"stream": stream, "data": data}, separators=(",", ":")).encode()
