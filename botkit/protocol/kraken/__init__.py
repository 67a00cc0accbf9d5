"""Kraken WebSocket v1 and v2: sans-IO parsers, book checksum and venue definitions."""

from ._parser import KrakenParser, book_checksum
from ._v2 import KrakenV2Parser
from ._venue import Kraken, KrakenV2

__all__ = ["Kraken", "KrakenParser", "KrakenV2", "KrakenV2Parser", "book_checksum"]
