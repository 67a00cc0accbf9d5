"""Binance spot: sans-IO parser and frame encoder."""

from ._encode import encode_quote, encode_trade
from ._spot import BinanceSpotParser

__all__ = ["BinanceSpotParser", "encode_quote", "encode_trade"]
