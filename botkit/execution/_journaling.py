"""What the execution layer tells a journal, and what a journal gives back after a restart.

The journal itself (SQLite) is :mod:`botkit.journal`; the router, the brokers and the
tracker see only this protocol, so they run the same without one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from .._orders import Order, OrderStatus
from ._instruments import Instrument

__all__ = ["OrderJournal", "RestorableBroker", "RestoredOrder"]


class OrderJournal(Protocol):
    """Where the execution layer writes what it does before (or as) it does it."""

    def intent(self, order: Order) -> None:
        """``order`` is about to be sent (durable before its frame is written)."""

    def sent(self, client_id: str, expires_ms: int) -> None:
        """A live placement went out; after ``expires_ms`` (venue clock) it cannot be accepted."""

    def venue_view(self, client_id: str, order_id: int, status: str, executed: Decimal, reason: str) -> None:
        """What the venue said of an order (a response, an execution report or a query)."""

    def cancel(self, client_id: str, ts_ns: int) -> None:
        """A cancel was sent."""

    def flush_intents(self) -> None:
        """Make the intents (and their ``sent``) written so far durable: before a frame
        with those orders is written."""


@attrs.frozen
class RestoredOrder:
    """An order the journal holds as open: sent, and not known to be finished.

    :ivar told: the last update the strategy heard (``SUBMITTED``: none yet).
    :ivar filled: the size of the fills journaled for it.
    :ivar order_id: the venue's id, once it answered (-1: never, as far as journaled).
    :ivar venue_status: the furthest status the venue reported ("" none).
    :ivar executed: the largest executed size the venue reported.
    :ivar expires_ms: live: venue time after which its placement can no longer be accepted.
    :ivar trade_ids: the venue trade ids of its journaled fills.
    """

    order: Order
    told: OrderStatus
    filled: Decimal
    order_id: int = -1
    venue_status: str = ""
    executed: Decimal = Decimal(0)
    expires_ms: int = 0
    trade_ids: tuple[str, ...] = ()


@runtime_checkable
class RestorableBroker(Protocol):
    """A broker that can take back the open orders of a run that ended without settling."""

    def restore(self, orders: Sequence[RestoredOrder], last_trade_ids: Mapping[str, Collection[str]],
                instrument: Callable[[str], Instrument], now_ns: int) -> None:
        """Hold ``orders`` as open again (before the run starts). ``last_trade_ids``:
        per symbol, the trade ids already journaled that the venue may report again."""
