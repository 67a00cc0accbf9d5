"""What botkit needs to know about a venue, in one small definition per venue folder.

A :class:`Venue` is pure data and string building (no I/O): endpoints, the URL or the
subscription messages for a set of symbols and channels, the venue's symbol spelling,
its book-sync style and its REST paths. Adding a venue is adding a folder with a parser
and a ``Venue`` subclass, and one line in :data:`~botkit.protocol.VENUES`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, ClassVar

from .._exceptions import ConfigError
from .._suggest import nearest
from .._symbols import normalise_symbol

if TYPE_CHECKING:
    from ._parser import Parser

__all__ = ["CHANNEL_NAMES", "Venue", "check_channels"]

#: botkit's channel names (``--channels`` and what a strategy's hooks imply).
CHANNEL_NAMES = ("trades", "quotes", "books", "bars")


def check_channels(channels: Sequence[str]) -> None:
    """Every name one of :data:`CHANNEL_NAMES`.

    :raises ConfigError: naming the first unknown one and the nearest valid name.
    """
    for channel in channels:
        if channel not in CHANNEL_NAMES:
            raise ConfigError(f"unknown channel {channel!r}{nearest(channel, CHANNEL_NAMES)}; "
                              f"use any of {', '.join(CHANNEL_NAMES)}")


class Venue(ABC):
    """A venue definition. Subclasses set the class variables and override what differs.

    :cvar name: the CLI name (``--venue``).
    :cvar ws_url: public market-data WebSocket endpoint.
    :cvar rest_url: public REST endpoint ("" if botkit needs none).
    :cvar channels: botkit channel -> the venue's channel name.
    :cvar book_snapshots: ``"rest"`` (fetch a snapshot, then apply diffs: Binance) or
        ``"stream"`` (the venue sends the snapshot on subscribe; a broken book is
        resubscribed).
    :cvar ping_message: application-level ping the venue expects from an idle client.
    :cvar max_lifetime_s: the venue closes connections older than this.
    :cvar max_subscriptions: subscriptions allowed on one connection.
    :cvar backfill_trades: the venue serves missed trades by id over REST.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    ws_url: ClassVar[str]
    rest_url: ClassVar[str] = ""
    channels: ClassVar[Mapping[str, str]]
    book_snapshots: ClassVar[str] = "stream"
    #: A derivatives market: accounts trade on margin (shorts need no inventory).
    derivatives: ClassVar[bool] = False
    ping_message: ClassVar[str | None] = None
    max_lifetime_s: ClassVar[float] = 24 * 3600.0
    max_subscriptions: ClassVar[int] = 1024
    #: The venue serves trades by id over REST (lossless backfill after outages).
    backfill_trades: ClassVar[bool] = False
    #: Streams are chosen by messages after connecting (False: by the URL, as Binance).
    subscribes_by_message: ClassVar[bool] = True

    @abstractmethod
    def parser(self) -> Parser:
        """A fresh sans-IO parser for this venue's frames."""

    def encoder(self) -> ModuleType:
        """The venue's encoder module (``encode_trade``, ``encode_book``, ``acks``): events
        back to its frames, for the exchange simulator and round-trip tests."""
        return importlib.import_module(f"{type(self).__module__.rsplit('.', 1)[0]}._encode")

    def venue_symbol(self, symbol: str) -> str:
        """The venue's spelling of ``symbol`` (any spelling in, e.g. ``BTCUSDT``)."""
        return normalise_symbol(symbol)

    def url(self, symbols: Sequence[str], channels: Sequence[str], base: str | None = None) -> str:
        """The URL to connect to for ``symbols`` x ``channels`` (most venues: the
        endpoint itself; they subscribe by message)."""
        self._check(symbols, channels)
        return base or self.ws_url

    def subscribe(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        """Messages to send after connecting (``[]``: the URL says it all)."""
        return []

    def resubscribe(self, symbol: str, channels: Sequence[str]) -> list[str]:
        """Messages that make the venue send a fresh book snapshot of ``symbol``."""
        return []

    def rest_base(self, ws_url: str) -> str:
        """The REST endpoint that goes with the stream at ``ws_url``."""
        return self.rest_url

    def snapshot_path(self, symbol: str, limit: int) -> str | None:
        """REST path of a depth snapshot (venues with ``book_snapshots == "rest"``)."""
        return None

    def trades_path(self, symbol: str, from_id: int, aggregated: bool) -> str | None:
        """REST path of trades from id ``from_id`` (backfill), or None if the venue has
        no such endpoint (then a trade gap is reported, not filled)."""
        return None

    def rest_weight(self, path: str, limit: int = 100) -> int:
        """Request weight of ``GET path`` against the venue's REST limit."""
        return 1

    def _check(self, symbols: Sequence[str], channels: Sequence[str]) -> list[tuple[str, str]]:
        """``(venue symbol, venue channel)`` pairs, validated."""
        wanted = [s.strip() for s in symbols if s.strip()]
        if not wanted:
            raise ConfigError(f"the {self.title} feed needs at least one symbol (e.g. --symbols BTC-USDT)")
        pairs = []
        for channel in channels:
            if channel not in self.channels:
                offered = ", ".join(self.channels)
                raise ConfigError(f"{self.title} offers no {channel!r} channel{nearest(channel, self.channels)}; "
                                  f"use any of {offered}")
            pairs += [(self.venue_symbol(s), self.channels[channel]) for s in wanted]
        if not pairs:
            raise ConfigError("no channels to subscribe to")
        if len(pairs) > self.max_subscriptions:
            raise ConfigError(
                f"{len(pairs)} subscriptions exceed {self.title}'s {self.max_subscriptions} per connection"
            )
        return pairs
