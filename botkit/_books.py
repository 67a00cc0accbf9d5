"""The order book of each symbol as the book events delivered so far left it: the one
copy a strategy reads (``Strategy.order_book``), kept by the strategy runner."""

from __future__ import annotations

from ._events import BookDelta, BookSnapshot, Gap
from .protocol._book import OrderBook

__all__ = ["Books"]


class Books(dict[str, OrderBook]):
    """symbol -> its book: from the first snapshot on, dropped at a book gap until the
    next snapshot (the feed has sequenced the events already)."""

    def on_book(self, event: BookSnapshot | BookDelta) -> None:
        """Apply a book event, before the strategy's hook sees it."""
        book = self.get(event.symbol)
        if type(event) is BookDelta:
            if book is not None:
                book.apply(event)
        else:
            if book is None:
                book = self[event.symbol] = OrderBook()
            book.reset(event)  # type: ignore[arg-type]

    def on_gap(self, gap: Gap) -> None:
        """A gap in a symbol's book events: its book is unknown until the next snapshot."""
        if gap.channel.startswith("books"):
            self.pop(gap.symbol, None)
