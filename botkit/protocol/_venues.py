"""The registry of venues: name -> definition."""

from __future__ import annotations

from collections.abc import Sequence

from .._exceptions import ConfigError, ParseError
from .._suggest import nearest
from ._parser import Parser
from ._venue import Venue
from .binance._venue import BinanceFutures, BinanceSpot
from .bybit._venue import Bybit
from .coinbase._venue import Coinbase
from .kraken._venue import Kraken, KrakenV2
from .okx._venue import Okx

__all__ = ["VENUES", "guess_venue", "parser_for", "venue_for"]

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
        raise ConfigError(f"unknown venue {name!r}{nearest(str(name), VENUES)}; known venues: {known}") from None


def parser_for(venue: str) -> Parser:
    """A fresh parser for ``venue``.

    :raises ConfigError: if the venue is unknown.
    """
    return venue_for(venue).parser()


def guess_venue(frames: Sequence[bytes], *, besides: str = "") -> str | None:
    """The venue whose parser reads most of ``frames`` (at least half of them), other
    than ``besides``; None when none does. For saying which venue data looks like."""
    best, best_count = None, len(frames) // 2
    for name, cls in VENUES.items():
        if name == besides:
            continue
        parser = cls().parser()
        count = 0
        for frame in frames:
            try:
                count += bool(parser.parse(frame, 0))
            except ParseError:
                pass
        if count > best_count:
            best, best_count = name, count
    return best
