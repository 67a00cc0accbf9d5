"""Sans-IO protocol layer: venue definitions and parsers (no sockets, no clocks, no async).

Importing this package pulls in no anyio, trio or socket module (a test guards it).
"""

from ._parser import VENUES, Parser, parser_for, venue_for
from ._sequencer import FrameDecoder
from ._venue import Venue
from .binance import BinanceSpotParser

__all__ = ["VENUES", "BinanceSpotParser", "FrameDecoder", "Parser", "Venue", "parser_for", "venue_for"]
