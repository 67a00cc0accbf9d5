"""Kraken WebSocket v1 and v2 public feeds: subscribe by message per channel, snapshots
on the stream, CRC32 book checksums, application pings."""

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
        return [
            self._message("subscribe", [s for s, name in pairs if name == self.channels[channel]], channel)
            for channel in channels
        ]

    def resubscribe(self, symbol: str, channels: Sequence[str]) -> list[str]:
        pair = [self.venue_symbol(symbol)]
        return [self._message("unsubscribe", pair, "books"), self._message("subscribe", pair, "books")]

    def _message(self, action: str, pairs: list[str], channel: str) -> str:
        subscription = {"name": self.channels[channel], **_options(channel)}
        return json.dumps({"event": action, "pair": pairs, "subscription": subscription})


class KrakenV2(Kraken):
    """Kraken spot, WebSocket v2 (``wss://ws.kraken.com/v2``): JSON objects, symbols as
    ``BTC/USD``, sequential trade ids, checksums on snapshots and updates."""

    name = "kraken-v2"
    title = "Kraken (WS v2)"
    ws_url = "wss://ws.kraken.com/v2"
    ping_message = '{"method":"ping"}'

    def parser(self):  # type: ignore[no-untyped-def]
        from ._v2 import KrakenV2Parser

        return KrakenV2Parser()

    def encoder(self) -> ModuleType:
        from . import _encode_v2

        return _encode_v2

    def venue_symbol(self, symbol: str) -> str:
        return "/".join(split_symbol(symbol))

    def _message(self, action: str, pairs: list[str], channel: str) -> str:
        params = {"channel": self.channels[channel], "symbol": pairs, **_options(channel)}
        return json.dumps({"method": action, "params": params})


def _options(channel: str) -> dict[str, Any]:
    """What a channel's subscription needs beyond its name (same in v1 and v2)."""
    return {"books": {"depth": BOOK_DEPTH}, "bars": {"interval": 1}}.get(channel, {})
