"""Kraken WebSocket v1 public feed: subscribe by message per channel, snapshots on the
stream, CRC32 book checksums, ``{"event":"ping"}`` heartbeats."""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import ModuleType
from typing import Any, ClassVar

from ..._symbols import split_symbol
from .._venue import Venue

__all__ = ["Kraken", "KrakenV2"]

_LEGACY = {"BTC": "XBT", "DOGE": "XDG"}
#: Book depth subscribed to (Kraken offers 10, 25, 100, 500, 1000).
BOOK_DEPTH = 100


class Kraken(Venue):
    """Kraken spot (WS v1, as in the captures botkit is tested on)."""

    name = "kraken"
    title = "Kraken"
    ws_url = "wss://ws.kraken.com"
    rest_url = "https://api.kraken.com"
    channels: ClassVar[dict[str, str]] = {"trades": "trade", "quotes": "ticker", "books": "book", "bars": "ohlc"}
    ping_message = '{"event":"ping"}'
    max_subscriptions = 1000

    def parser(self):  # type: ignore[no-untyped-def]
        from ._parser import KrakenParser

        return KrakenParser()

    def venue_symbol(self, symbol: str) -> str:
        base, quote = split_symbol(symbol)
        return f"{_LEGACY.get(base, base)}/{_LEGACY.get(quote, quote)}"

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        pairs = self._check(symbols, channels)
        messages = []
        for channel in channels:
            wanted = [symbol for symbol, name in pairs if name == self.channels[channel]]
            messages.append(_message("subscribe", wanted, channel))
        return messages

    def resubscribe(self, symbol: str, channels: Sequence[str]) -> list[str]:
        pair = [self.venue_symbol(symbol)]
        return [_message("unsubscribe", pair, "books"), _message("subscribe", pair, "books")]


def _message(event: str, pairs: list[str], channel: str) -> str:
    subscription: dict[str, Any] = {"name": Kraken.channels[channel]}
    if channel == "books":
        subscription["depth"] = BOOK_DEPTH
    elif channel == "bars":
        subscription["interval"] = 1
    return json.dumps({"event": event, "pair": pairs, "subscription": subscription})


class KrakenV2(Venue):
    """Kraken spot, WebSocket v2 (``wss://ws.kraken.com/v2``): JSON objects, symbols as
    ``BTC/USD``, sequential trade ids, checksums on snapshots and updates."""

    name = "kraken-v2"
    title = "Kraken (WS v2)"
    ws_url = "wss://ws.kraken.com/v2"
    rest_url = "https://api.kraken.com"
    channels: ClassVar[dict[str, str]] = {"trades": "trade", "quotes": "ticker", "books": "book", "bars": "ohlc"}
    ping_message = '{"method":"ping"}'
    max_subscriptions = 1000

    def parser(self):  # type: ignore[no-untyped-def]
        from ._v2 import KrakenV2Parser

        return KrakenV2Parser()

    def encoder(self) -> ModuleType:
        from . import _encode_v2

        return _encode_v2

    def venue_symbol(self, symbol: str) -> str:
        return "/".join(split_symbol(symbol))

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        pairs = self._check(symbols, channels)
        return [
            _message_v2("subscribe", [s for s, name in pairs if name == self.channels[channel]], channel)
            for channel in channels
        ]

    def resubscribe(self, symbol: str, channels: Sequence[str]) -> list[str]:
        pair = [self.venue_symbol(symbol)]
        return [_message_v2("unsubscribe", pair, "books"), _message_v2("subscribe", pair, "books")]


def _message_v2(method: str, symbols: list[str], channel: str) -> str:
    params: dict[str, Any] = {"channel": KrakenV2.channels[channel], "symbol": symbols}
    if channel == "books":
        params["depth"] = BOOK_DEPTH
    elif channel == "bars":
        params["interval"] = 1
    return json.dumps({"method": method, "params": params})
