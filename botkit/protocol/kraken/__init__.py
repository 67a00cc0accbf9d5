"""Kraken WebSocket v1: sans-IO parser, book checksum and venue definition."""

from ._parser import KrakenParser, book_checksum
from ._venue import Kraken

__all__ = ["Kraken", "KrakenParser", "book_checksum"]
