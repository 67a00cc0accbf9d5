"""The parser interface every venue implements, and the registry of venues."""

from __future__ import annotations

from typing import Protocol

from .._events import Event
from .._exceptions import ConfigError
from ._venue import Venue
from .binance._venue import BinanceFutures, BinanceSpot
from .bybit._venue import Bybit
from .coinbase._venue import Coinbase
from .kraken._venue import Kraken, KrakenV2
from .okx._venue import Okx

__all__ = ["VENUES", "Parser", "parser_for", "venue_for"]


class Parser(Protocol):
    """Turns one raw frame into typed events; pure (no I/O, no clock reads).

    ``parse`` raises only :class:`~botkit.ParseError`; frames that carry no market data
    (acks, heartbeats) return ``[]`` and are counted in ``ignored``.

    Optional attributes a parser may set (read by :class:`~botkit.protocol.FrameDecoder`):
    ``book_snapshots`` (``"rest"`` or ``"stream"``), ``book_sequenced`` (False: deltas
    carry no update ids), ``book_checksum(book) -> int`` (the venue's checksum
    algorithm), ``book_depths`` (symbol -> levels the venue maintains), ``trade_ids``
    (``"contiguous"``: ids go up by one per trade, so gaps are detectable).
    """

    venue: str
    ignored: int

    def parse(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        """Parse ``frame`` received at ``ts_recv`` (ns) into events."""
        ...


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
