"""OKX v5 public WebSocket: subscribe by message, snapshots on the stream, ``seqId``
continuity and CRC32 checksums, text ``ping`` keep-alive (OKX drops a connection idle
for 30 s)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar

from .._venue import Venue

__all__ = ["Okx"]


class Okx(Venue):
    """OKX spot, swaps and futures (instrument ids such as ``BTC-USDT``,
    ``BTC-USDT-SWAP``). Candles are served on ``/ws/v5/business``: pass that URL with
    ``--url`` to receive bars."""

    name = "okx"
    title = "OKX"
    ws_url = "wss://ws.okx.com:8443/ws/v5/public"
    rest_url = "https://www.okx.com"
    channels: ClassVar[dict[str, str]] = {"trades": "trades", "quotes": "tickers", "books": "books", "bars": "candle1m"}
    ping_message = "ping"
    max_subscriptions = 480  # OKX: at most 480 subscribe operations per hour per connection

    def parser(self):  # type: ignore[no-untyped-def]
        from ._parser import OkxParser

        return OkxParser()

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        pairs = self._check(symbols, channels)
        return [_message("subscribe", [{"channel": channel, "instId": inst} for inst, channel in pairs])]

    def resubscribe(self, symbol: str, channels: Sequence[str]) -> list[str]:
        arg = [{"channel": self.channels["books"], "instId": self.venue_symbol(symbol)}]
        return [_message("unsubscribe", arg), _message("subscribe", arg)]


def _message(op: str, args: list[dict[str, str]]) -> str:
    return json.dumps({"op": op, "args": args})
