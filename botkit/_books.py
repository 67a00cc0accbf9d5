"""The order book of each symbol on each venue as the book events delivered so far left
it: the one copy a strategy reads (``Strategy.order_book``), kept by the strategy runner."""

from __future__ import annotations

from ._events import BookDelta, BookSnapshot, Gap
from ._exceptions import UsageError
from .protocol._book import OrderBook

__all__ = ["Books"]


class Books:
    """symbol -> venue -> its book: from the first snapshot on, dropped at a book gap
    until the next snapshot (the feed has sequenced the events already)."""

    __slots__ = ("_books",)

    def __init__(self) -> None:
        self._books: dict[str, dict[str, OrderBook]] = {}

    def on_book(self, event: BookSnapshot | BookDelta) -> None:
        """Apply a book event, before the strategy's hook sees it."""
        venues = self._books.get(event.symbol)
        book = venues.get(event.venue) if venues is not None else None
        if type(event) is BookDelta:
            if book is not None:
                book.apply(event)
        else:
            if book is None:
                book = self._books.setdefault(event.symbol, {})[event.venue] = OrderBook()
            book.reset(event)  # type: ignore[arg-type]

    def on_gap(self, gap: Gap) -> None:
        """A gap in a symbol's book events: its book is unknown until the next snapshot."""
        if gap.channel.startswith("books"):
            self._books.get(gap.symbol, {}).pop(gap.venue, None)

    def get(self, symbol: str, venue: str | None = None) -> OrderBook | None:
        """``symbol``'s book on ``venue``; with no venue, its only one.

        :raises UsageError: no venue given, and the symbol has books on several.
        """
        venues = self._books.get(symbol)
        if not venues:
            return None
        if venue is not None:
            return venues.get(venue)
        if len(venues) > 1:
            raise UsageError(f"{symbol} has books on {' and '.join(sorted(venues))}: pass venue=")
        return next(iter(venues.values()))
