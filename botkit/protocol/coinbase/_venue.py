"""Coinbase Exchange (``ws-feed``): subscribe by message, snapshots on the stream."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar

from .._venue import Venue

__all__ = ["Coinbase"]


class Coinbase(Venue):
    """Coinbase Exchange market data. ``level2_batch`` carries the same snapshot and
    l2update messages as ``level2`` (which now requires authentication), batched 50 ms."""

    name = "coinbase"
    title = "Coinbase Exchange"
    ws_url = "wss://ws-feed.exchange.coinbase.com"
    rest_url = "https://api.exchange.coinbase.com"
    channels: ClassVar[dict[str, str]] = {"trades": "matches", "quotes": "ticker", "books": "level2_batch"}
    max_subscriptions = 1000

    def parser(self):  # type: ignore[no-untyped-def]
        from ._parser import CoinbaseParser

        return CoinbaseParser()

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        pairs = self._check(symbols, channels)
        products = sorted({symbol for symbol, _ in pairs})
        names = [self.channels[c] for c in channels]
        # The heartbeat channel makes a quiet product still prove the connection alive.
        return [json.dumps({"type": "subscribe", "product_ids": products, "channels": [*names, "heartbeat"]})]

    def resubscribe(self, symbol: str, channels: Sequence[str]) -> list[str]:
        product = [self.venue_symbol(symbol)]
        book = self.channels["books"]
        return [
            json.dumps({"type": "unsubscribe", "product_ids": product, "channels": [book]}),
            json.dumps({"type": "subscribe", "product_ids": product, "channels": [book]}),
        ]
