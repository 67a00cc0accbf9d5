"""Coinbase Exchange feed: sans-IO parser and venue definition."""

from ._parser import CoinbaseParser
from ._venue import Coinbase

__all__ = ["Coinbase", "CoinbaseParser"]
