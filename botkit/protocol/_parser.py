"""The parser interface every venue implements, and the registry of venues."""

from __future__ import annotations

from typing import Protocol

from .._events import Event
from .._exceptions import ConfigError

__all__ = ["Parser", "VENUES", "parser_for"]


class Parser(Protocol):
    """Turns one raw frame into typed events; pure (no I/O, no clock reads).

    ``parse`` raises only :class:`~botkit.ParseError`; frames that carry no market data
    (acks, heartbeats) return ``[]`` and are counted in ``ignored``.
    """

    venue: str
    ignored: int

    def parse(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        """Parse ``frame`` received at ``ts_recv`` (ns) into events."""
        ...


def _binance() -> Parser:
    from .binance import BinanceSpotParser

    return BinanceSpotParser()


VENUES = {"binance": _binance}


def parser_for(venue: str) -> Parser:
    """A fresh parser for ``venue``.

    :raises ConfigError: if the venue is unknown.
    """
    try:
        factory = VENUES[venue]
    except KeyError:
        known = ", ".join(sorted(VENUES))
        raise ConfigError(f"unknown venue {venue!r}; known venues: {known}") from None
    return factory()
