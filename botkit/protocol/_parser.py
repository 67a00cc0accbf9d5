"""The parser interface every venue implements, with the rules it declares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, Protocol

from .._events import Event

if TYPE_CHECKING:
    from ._book import OrderBook

__all__ = ["Parser", "ParserRules"]


class ParserRules:
    """The venue rules a parser declares, with the defaults most venues have; a parser
    class inherits this and overrides what differs. :class:`~botkit.protocol.FrameDecoder`
    reads them to sequence trades and keep books without knowing the venue."""

    #: ``"rest"``: a depth snapshot comes from REST, diffs then apply (Binance);
    #: ``"stream"``: the venue sends snapshots on the stream itself.
    book_snapshots: Literal["rest", "stream"] = "rest"
    #: False: book deltas carry no update ids (a gap cannot be seen in them).
    book_sequenced: bool = True
    #: The venue's book checksum over a book, or None when it sends none.
    book_checksum: Callable[[OrderBook], int] | None = None
    #: Symbol -> number of levels the venue maintains (None: all).
    book_depths: Mapping[str, int] | None = None
    #: ``"contiguous"``: trade ids go up by one per trade (gaps are detectable);
    #: ``"none"``: they do not (no gap detection on trades).
    trade_ids: Literal["contiguous", "none"] = "contiguous"

    def rest_trades_request(self, path: str) -> tuple[str, int] | None:
        """``(symbol, page size)`` of a REST path that fetches trades (a backfill page),
        or None for any other path (and for venues without such an endpoint)."""
        return None


class Parser(Protocol):
    """Turns one raw frame into typed events; pure (no I/O, no clock reads).

    ``parse`` raises only :class:`~botkit.ParseError`; frames that carry no market data
    (acks, heartbeats) return ``[]`` and are counted in ``ignored``. The rules of
    :class:`ParserRules` are part of the interface.
    """

    venue: str
    ignored: int
    book_snapshots: Literal["rest", "stream"]
    book_sequenced: bool
    book_checksum: Callable[[OrderBook], int] | None
    book_depths: Mapping[str, int] | None
    trade_ids: Literal["contiguous", "none"]

    def rest_trades_request(self, path: str) -> tuple[str, int] | None:
        """See :meth:`ParserRules.rest_trades_request`."""
        ...

    def parse(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        """Parse ``frame`` received at ``ts_recv`` (ns) into events."""
        ...
