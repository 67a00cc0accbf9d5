"""The registry of venues: name -> definition."""

from __future__ import annotations

from .._exceptions import ConfigError
from ._parser import Parser
from ._venue import Venue
from .binance._venue import BinanceFutures, BinanceSpot
from .bybit._venue import Bybit
from .coinbase._venue import Coinbase
from .kraken._venue import Kraken, KrakenV2
from .okx._venue import Okx

__all__ = ["VENUES", "parser_for", "venue_for"]

#: Venue name (``--venue``) -> definition.
VENUES: dict[str, type[Venue]] = {
    cls.name: cls for cls in (BinanceSpot, BinanceFutures, Coinbase, Kraken, Okx, Bybit, KrakenV2)
}


def venue_for(name: str) -> Venue:
    """The definition of venue ``name``.

    :raises ConfigError: if the venue is unknown.
    """
    try:
        return VENUES[name]()
    except KeyError:
        known = ", ".join(sorted(VENUES))
        raise ConfigError(f"unknown venue {name!r}; known venues: {known}") from None


def parser_for(venue: str) -> Parser:
    """A fresh parser for ``venue``.

    :raises ConfigError: if the venue is unknown.
    """
    return venue_for(venue).parser()
