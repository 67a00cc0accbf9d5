"""What the market last showed, per symbol: the engine's one copy, read by execution."""

from __future__ import annotations

from decimal import Decimal

from .._events import Quote

__all__ = ["MarketState"]


class MarketState:
    """The latest trade price and top-of-book quote per symbol.

    The strategy runner keeps it current as events are dispatched (before the hook sees
    the event); the order router marks positions with :attr:`last_prices` and brokers
    read :attr:`last_quotes` at an order's arrival. Everyone else reads it.
    """

    __slots__ = ("last_prices", "last_quotes")

    def __init__(self) -> None:
        #: symbol -> price of the latest trade.
        self.last_prices: dict[str, Decimal] = {}
        #: symbol -> latest quote.
        self.last_quotes: dict[str, Quote] = {}
