"""Sans-IO protocol layer: venue definitions and parsers (no sockets, no clocks, no async).

Importing this package pulls in no anyio, trio or socket module (a test guards it).
"""

from ._decoder import FrameDecoder
from ._parser import Parser, ParserRules
from ._venue import Venue
from ._venues import VENUES, parser_for, venue_for
from .binance import BinanceSpotParser

__all__ = ["VENUES", "BinanceSpotParser", "FrameDecoder", "Parser", "ParserRules", "Venue", "parser_for", "venue_for"]
