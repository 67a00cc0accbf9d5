"""OKX v5 public feed: sans-IO parser, book checksum and venue definition."""

from ._parser import OkxParser, book_checksum
from ._venue import Okx

__all__ = ["Okx", "OkxParser", "book_checksum"]
