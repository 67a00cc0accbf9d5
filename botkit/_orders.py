"""Orders and what happens to them: typed, frozen, exact.

A strategy calls ``self.buy(...)``/``self.sell(...)``; the engine turns that into an
:class:`Order`, the risk gate accepts or rejects it, the broker (paper or venue) works
it, and the strategy hears back through ``on_order`` (:class:`OrderUpdate`) and
``on_fill`` (:class:`Fill`).
"""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from ._events import Side

__all__ = ["Fill", "Order", "OrderStatus", "OrderType", "OrderUpdate", "TimeInForce"]


class OrderType(enum.Enum):
    """Market or limit."""

    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(enum.Enum):
    """How long a limit order lives: until cancelled, or immediate-or-cancel."""

    GTC = "gtc"
    IOC = "ioc"


class OrderStatus(enum.Enum):
    """Lifecycle states reported in :class:`OrderUpdate`.

    ``UNKNOWN`` (live only): the order was sent but its answer was lost; botkit queries
    the venue and reports what it finds (the order is never sent twice). ``EXPIRED``:
    the venue ended it (an IOC remainder, a live order's time in force).
    """

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@attrs.frozen
class Order:
    """An order as submitted (prices and sizes already rounded to the instrument)."""

    client_id: str
    venue: str
    symbol: str
    side: Side
    type: OrderType
    size: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    post_only: bool
    ts_submitted: int


@attrs.frozen
class OrderUpdate:
    """An order changed state; ``reason`` says why for rejections and cancels."""

    client_id: str
    symbol: str
    status: OrderStatus
    filled: Decimal
    remaining: Decimal
    reason: str
    ts_recv: int


@attrs.frozen
class Fill:
    """Part or all of an order executed. ``fee`` is in ``fee_asset`` (the quote asset).
    ``trade_id``: the venue's id of the execution (a paper fill's is made from the order's
    client id and the size filled before it), unique per venue and symbol."""

    client_id: str
    venue: str
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: str  # "maker" or "taker"
    ts_recv: int
    trade_id: str = ""
