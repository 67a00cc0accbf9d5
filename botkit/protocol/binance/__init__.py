"""Binance spot: sans-IO parser and frame encoder."""

from .._common import rest_frame
from ._encode import encode_quote, encode_trade
from ._spot import BinanceSpotParser
from ._venue import REST_URL, WS_URL, BinanceFutures, BinanceSpot, rest_weight, stream_url

__all__ = [
    "REST_URL", "WS_URL", "BinanceFutures", "BinanceSpot", "BinanceSpotParser", "encode_quote", "encode_trade",
    "rest_frame", "rest_weight", "stream_url",
]
