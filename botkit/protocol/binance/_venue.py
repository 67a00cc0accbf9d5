"""Binance spot and USD-M / coin-M futures: endpoints, stream names, REST paths and
weights (pure string building, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from ..._exceptions import ConfigError
from ..._symbols import normalise_symbol
from .._venue import Venue

__all__ = [
    "REST_URL", "REST_WEIGHTS", "STREAM_CHANNELS", "WS_URL", "BinanceFutures", "BinanceSpot",
    "rest_weight", "stream_url",
]

WS_URL = "wss://stream.binance.com:9443"
REST_URL = "https://api.binance.com"
#: botkit channel -> Binance stream suffix.
STREAM_CHANNELS = {"trades": "trade", "quotes": "bookTicker", "books": "depth@100ms", "bars": "kline_1m"}
_MAX_STREAMS = 1024  # per connection (Binance limit)


def stream_url(symbols: Iterable[str], channels: Iterable[str], base: str = WS_URL,
               stream_channels: dict[str, str] = STREAM_CHANNELS) -> str:
    """The combined-stream URL for ``symbols`` x ``channels``.

    >>> stream_url(["BTCUSDT"], ["trades", "quotes"])
    'wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@bookTicker'

    :raises ConfigError: with no symbols, an unknown channel, or too many streams.
    """
    symbols = [s.strip().replace("-", "").replace("/", "") for s in symbols if s.strip()]
    if not symbols:
        raise ConfigError("the Binance feed needs at least one symbol (e.g. --symbols BTCUSDT)")
    streams = []
    for channel in channels:
        if channel not in stream_channels:
            raise ConfigError(f"unknown channel {channel!r}; use any of {', '.join(stream_channels)}")
        streams += [f"{symbol.lower()}@{stream_channels[channel]}" for symbol in symbols]
    if not streams:
        raise ConfigError("no channels to subscribe to")
    if len(streams) > _MAX_STREAMS:
        raise ConfigError(f"{len(streams)} streams exceed Binance's {_MAX_STREAMS} per connection")
    return f"{base}/stream?streams={'/'.join(streams)}"


#: REST request weights (Binance docs) of the endpoints botkit uses, except depth.
REST_WEIGHTS = {
    "/api/v3/historicalTrades": 25, "/api/v3/aggTrades": 2,
    "/fapi/v1/aggTrades": 20, "/dapi/v1/aggTrades": 20,
}


def rest_weight(path: str, limit: int = 100) -> int:
    """Request weight of ``GET path`` (spot depth depends on ``limit``: 100 -> 5,
    500 -> 25, 1000 -> 50, 5000 -> 250; futures depth: 100 -> 5, 500 -> 10, 1000 -> 20)."""
    if path == "/api/v3/depth":
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    if path in ("/fapi/v1/depth", "/dapi/v1/depth"):
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    return REST_WEIGHTS.get(path, 1)


class BinanceSpot(Venue):
    """Binance spot: combined streams named in the URL, REST depth snapshots, trade-id
    backfill from ``historicalTrades`` / ``aggTrades``."""

    name = "binance"
    title = "Binance spot"
    ws_url = WS_URL
    rest_url = REST_URL
    channels: ClassVar[dict[str, str]] = STREAM_CHANNELS
    book_snapshots = "rest"
    backfill_trades = True
    subscribes_by_message = False
    max_subscriptions = _MAX_STREAMS
    _api = "/api/v3"

    def parser(self):  # type: ignore[no-untyped-def]
        from ._spot import BinanceSpotParser

        return BinanceSpotParser(self.name)

    def venue_symbol(self, symbol: str) -> str:
        """``BTC-USDT`` -> ``BTCUSDT``; contracts keep their suffix: ``BTC-USD-PERP`` ->
        ``BTCUSD_PERP``."""
        base, *rest = normalise_symbol(symbol).split("-")
        quote, suffix = (rest[0], rest[1:]) if rest else ("", [])
        return base + quote + "".join(f"_{part}" for part in suffix)

    def url(self, symbols: Sequence[str], channels: Sequence[str], base: str | None = None) -> str:
        self._check(symbols, channels)
        return stream_url([self.venue_symbol(s) for s in symbols], channels, base or self.ws_url, dict(self.channels))

    def snapshot_path(self, symbol: str, limit: int) -> str:
        return f"{self._api}/depth?symbol={self.venue_symbol(symbol)}&limit={limit}"

    def trades_path(self, symbol: str, from_id: int, aggregated: bool) -> str:
        endpoint = "aggTrades" if aggregated else "historicalTrades"
        return f"{self._api}/{endpoint}?symbol={self.venue_symbol(symbol)}&fromId={from_id}&limit=1000"

    def rest_weight(self, path: str, limit: int = 100) -> int:
        return rest_weight(path, limit)


class BinanceFutures(BinanceSpot):
    """Binance USD-M futures (``fstream``; coin-M contracts on ``dstream`` via ``--url``):
    aggTrade (futures publish no raw trade stream), bookTicker, depth diffs linked by
    ``pu``, klines; REST snapshots and aggTrades backfill from ``/fapi/v1``."""

    name = "binance-futures"
    derivatives = True
    title = "Binance futures"
    ws_url = "wss://fstream.binance.com"
    rest_url = "https://fapi.binance.com"
    channels: ClassVar[dict[str, str]] = {**STREAM_CHANNELS, "trades": "aggTrade"}
    max_subscriptions = 200  # futures combined-stream limit
    _api = "/fapi/v1"
    #: Coin-margined contracts (``BTCUSD_PERP``, ``BTCUSD_250328``) live on their own hosts.
    coin_m_ws_url = "wss://dstream.binance.com"
    coin_m_rest_url = "https://dapi.binance.com"

    def url(self, symbols: Sequence[str], channels: Sequence[str], base: str | None = None) -> str:
        coin_m = all("_" in self.venue_symbol(s) for s in symbols if s.strip())
        return super().url(symbols, channels, base or (self.coin_m_ws_url if coin_m else self.ws_url))

    def rest_base(self, ws_url: str) -> str:
        return self.coin_m_rest_url if "dstream." in ws_url else self.rest_url

    def snapshot_path(self, symbol: str, limit: int) -> str:
        return f"{self._api_for(symbol)}/depth?symbol={self.venue_symbol(symbol)}&limit={limit}"

    def trades_path(self, symbol: str, from_id: int, aggregated: bool) -> str:
        name = self.venue_symbol(symbol)
        return f"{self._api_for(symbol)}/aggTrades?symbol={name}&fromId={from_id}&limit=1000"

    def _api_for(self, symbol: str) -> str:
        return "/dapi/v1" if "_" in self.venue_symbol(symbol) else "/fapi/v1"
