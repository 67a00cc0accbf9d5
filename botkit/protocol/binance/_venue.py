"""Binance spot endpoints and stream names (pure string building, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

from ..._exceptions import ConfigError

__all__ = ["REST_URL", "REST_WEIGHTS", "STREAM_CHANNELS", "WS_URL", "rest_weight", "stream_url"]

WS_URL = "wss://stream.binance.com:9443"
REST_URL = "https://api.binance.com"
#: botkit channel -> Binance stream suffix.
STREAM_CHANNELS = {"trades": "trade", "quotes": "bookTicker", "books": "depth@100ms", "bars": "kline_1m"}
_MAX_STREAMS = 1024  # per connection (Binance limit)


def stream_url(symbols: Iterable[str], channels: Iterable[str], base: str = WS_URL) -> str:
    """The combined-stream URL for ``symbols`` x ``channels``.

    >>> stream_url(["BTCUSDT"], ["trades", "quotes"])
    'wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@bookTicker'

    :raises ConfigError: with no symbols, an unknown channel, or too many streams.
    """
    symbols = [s.strip() for s in symbols if s.strip()]
    if not symbols:
        raise ConfigError("the Binance feed needs at least one symbol (e.g. --symbols BTCUSDT)")
    streams = []
    for channel in channels:
        if channel not in STREAM_CHANNELS:
            raise ConfigError(f"unknown channel {channel!r}; use any of {', '.join(STREAM_CHANNELS)}")
        streams += [f"{symbol.lower()}@{STREAM_CHANNELS[channel]}" for symbol in symbols]
    if not streams:
        raise ConfigError("no channels to subscribe to")
    if len(streams) > _MAX_STREAMS:
        raise ConfigError(f"{len(streams)} streams exceed Binance's {_MAX_STREAMS} per connection")
    return f"{base}/stream?streams={'/'.join(streams)}"


#: REST request weights (Binance spot docs) of the endpoints botkit uses, except depth.
REST_WEIGHTS = {"/api/v3/historicalTrades": 25, "/api/v3/aggTrades": 2}


def rest_weight(path: str, limit: int = 100) -> int:
    """Request weight of ``GET path`` (depth depends on ``limit``: 100 -> 5, 500 -> 25,
    1000 -> 50, 5000 -> 250)."""
    if path == "/api/v3/depth":
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    return REST_WEIGHTS.get(path, 1)
