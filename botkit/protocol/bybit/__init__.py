"""Bybit v5 public feed: sans-IO parser and venue definition."""

from ._parser import BybitParser
from ._venue import Bybit

__all__ = ["Bybit", "BybitParser"]
