"""Bybit v5 public WebSocket (spot by default; ``--url`` for linear/inverse): topics
subscribed by message, snapshots on the stream, ``{"op":"ping"}`` every 20 s."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar

from ..._symbols import normalise_symbol
from .._venue import Venue

__all__ = ["Bybit"]

#: Order-book depth subscribed to (spot: 1, 50, 200; linear: 1, 50, 200, 500).
BOOK_DEPTH = 50
_ARGS_PER_REQUEST = 10  # Bybit spot accepts at most 10 topics per subscribe request


class Bybit(Venue):
    """Bybit v5 spot (``wss://stream.bybit.com/v5/public/spot``); the linear feed
    (``/v5/public/linear``) speaks the same messages."""

    name = "bybit"
    title = "Bybit"
    ws_url = "wss://stream.bybit.com/v5/public/spot"
    rest_url = "https://api.bybit.com"
    channels: ClassVar[dict[str, str]] = {
        "trades": "publicTrade", "quotes": "tickers", "books": f"orderbook.{BOOK_DEPTH}", "bars": "kline.1",
    }
    ping_message = '{"op":"ping"}'
    max_subscriptions = 1000

    def parser(self):  # type: ignore[no-untyped-def]
        from ._parser import BybitParser

        return BybitParser()

    def venue_symbol(self, symbol: str) -> str:
        return normalise_symbol(symbol).replace("-", "")

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        topics = [f"{channel}.{symbol}" for symbol, channel in self._check(symbols, channels)]
        return [
            _message("subscribe", topics[i : i + _ARGS_PER_REQUEST]) for i in range(0, len(topics), _ARGS_PER_REQUEST)
        ]

    def resubscribe(self, symbol: str, channels: Sequence[str]) -> list[str]:
        topic = [f"{self.channels['books']}.{self.venue_symbol(symbol)}"]
        return [_message("unsubscribe", topic), _message("subscribe", topic)]


def _message(op: str, args: list[str]) -> str:
    return json.dumps({"op": op, "args": args})
