"""The live order tracker: what the bot believes about each order, kept true to the venue
whatever order, number or loss its messages come in (sans-IO).

Every message about an order is a *view* of the venue's state at some moment: a
placement response, an execution report, a query result, a ``myTrades`` row. Views are
merged, never replayed: an order's status only moves forward
(``pending/unknown -> new -> partially filled -> filled | cancelled | rejected | expired``),
its executed size only grows, and a fill counts once, by its trade id. So a duplicate,
stale or reordered message changes nothing, and a missed one is made good by the next
view that covers it (the reconciliation after a reconnect fetches those).

What the strategy hears is derived from that state, in an order it can rely on: an
order is ``accepted`` before its first fill, each fill comes with its
``partially_filled`` update, and the final ``filled`` (or ``cancelled`` after partial
fills) comes only once every fill of the executed size has been delivered.

An order whose placement got no answer (lost response, dropped connection, a 5xx) is
``UNKNOWN``: it may or may not be at the venue. It is never sent again; the broker
queries it by client id. "No such order" settles it as rejected only once the request
can no longer be accepted (its ``recvWindow`` has passed on the venue's clock), since a
request still in flight could yet arrive.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal

import attrs

from .._events import Side
from .._orders import Fill, Order, OrderStatus, OrderUpdate
from ._journaling import RestoredOrder

__all__ = ["OrderTracker", "TrackedOrder", "VenueBalances", "VenueFill", "VenueOrder", "VenueStatus"]

log = logging.getLogger("botkit.orders")

_ZERO = Decimal(0)


class VenueStatus(enum.IntEnum):
    """An order's state; the value orders them (a state never moves to a lower one)."""

    PENDING = 0  # sent, no answer yet
    UNKNOWN = 1  # sent, answer lost: resolved by query
    NEW = 2
    PARTIALLY_FILLED = 3
    FILLED = 4
    CANCELLED = 5
    REJECTED = 6
    EXPIRED = 7

    @property
    def final(self) -> bool:
        return self >= VenueStatus.FILLED


_TO_UPDATE = {
    VenueStatus.NEW: OrderStatus.ACCEPTED,
    VenueStatus.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    VenueStatus.FILLED: OrderStatus.FILLED,
    VenueStatus.CANCELLED: OrderStatus.CANCELLED,
    VenueStatus.REJECTED: OrderStatus.REJECTED,
    VenueStatus.EXPIRED: OrderStatus.EXPIRED,
    VenueStatus.UNKNOWN: OrderStatus.UNKNOWN,
}


@attrs.frozen
class VenueOrder:
    """The venue's view of one order (a response, a report or a query)."""

    client_id: str
    order_id: int
    symbol: str
    status: VenueStatus
    executed: Decimal
    reason: str = ""


@attrs.frozen
class VenueFill:
    """One execution of one of our orders. ``order_id`` always; ``client_id`` when the
    message had it (``myTrades`` rows do not)."""

    symbol: str
    trade_id: int
    order_id: int
    client_id: str | None
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_asset: str
    maker: bool
    ts_ms: int


@attrs.frozen
class VenueBalances:
    """The venue's balances (total per asset), in the outbox where they were read: the
    router books the updates and fills before it first, then corrects the portfolio to
    it. ``first``: the run's starting account."""

    balances: dict[str, Decimal]
    first: bool = False


@attrs.define
class TrackedOrder:
    """One order as the tracker holds it."""

    order: Order
    status: VenueStatus = VenueStatus.PENDING
    order_id: int = -1
    executed: Decimal = _ZERO  # the venue's cumulative executed size (largest seen)
    delivered: Decimal = _ZERO  # the size of the fills handed to the strategy
    told: OrderStatus = OrderStatus.SUBMITTED  # the last status the strategy was told
    reason: str = ""
    #: Venue clock (ms) after which the placement can no longer be accepted.
    expires_ms: int = 0
    adopted: bool = False

    @property
    def open(self) -> bool:
        """Not finished as far as the strategy knows (its final update not yet told)."""
        return self.told not in _FINAL_UPDATES

    @property
    def remaining(self) -> Decimal:
        return self.order.size - self.delivered


_FINAL_UPDATES = frozenset((OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED))


class OrderTracker:
    """Merges every view of our orders into one state and derives what the strategy hears
    (see the module docstring). Everything it decides goes to :attr:`outbox`, in order."""

    def __init__(self) -> None:
        self.orders: dict[str, TrackedOrder] = {}
        self._open: dict[str, TrackedOrder] = {}  # the ones not finished (checked per order sent)
        self._by_order_id: dict[tuple[str, int], str] = {}
        self._trade_ids: dict[str, set[int]] = {}  # symbol -> trade ids already delivered
        #: Per symbol, the highest trade id delivered (``myTrades`` resumes after it).
        self.last_trade_id: dict[str, int] = {}
        # Fills whose order is not known yet (a myTrades row before the query that gives
        # the order id): kept until it is.
        self._orphans: dict[tuple[str, int], list[VenueFill]] = {}
        self.outbox: list[OrderUpdate | Fill | VenueBalances] = []
        #: Messages that changed nothing (duplicates, stale views): counted, harmless.
        self.ignored = 0
        self.fills_delivered = 0
        #: Called with every view of a known order, before it is merged (the journal).
        self.observer: Callable[[str, VenueOrder], None] | None = None

    # -- what the bot did ---------------------------------------------------------------

    def submit(self, order: Order, expires_ms: int = 0) -> None:
        """``order`` was sent (it is ``pending``)."""
        self.orders[order.client_id] = self._open[order.client_id] = TrackedOrder(order, expires_ms=expires_ms)

    def adopt(self, order: Order, view: VenueOrder) -> None:
        """Take over an order found open at the venue (placed by an earlier run)."""
        if order.client_id in self.orders:
            return
        tracked = TrackedOrder(order, adopted=True, told=OrderStatus.ACCEPTED, status=VenueStatus.NEW)
        self.orders[order.client_id] = self._open[order.client_id] = tracked
        self.apply(view, 0)

    def restore(self, restored: RestoredOrder) -> None:
        """Hold again an order a journal kept as open (a run that ended without settling):
        its last known state, the fills already delivered counted. An order the venue
        never answered is ``UNKNOWN``: queried, never sent again."""
        order = restored.order
        status = VenueStatus[restored.venue_status] if restored.venue_status else VenueStatus.UNKNOWN
        tracked = TrackedOrder(order, status=max(status, VenueStatus.UNKNOWN), order_id=restored.order_id,
                               executed=max(restored.executed, restored.filled), delivered=restored.filled,
                               told=restored.told, expires_ms=restored.expires_ms)
        self.orders[order.client_id] = self._open[order.client_id] = tracked
        if restored.order_id >= 0:
            self._by_order_id[(order.symbol, restored.order_id)] = order.client_id
        self.seen(order.symbol, restored.trade_ids)

    def seen(self, symbol: str, trade_ids: Iterable[str]) -> None:
        """Trade ids already delivered in an earlier run (a report of them again is a duplicate)."""
        ids = {int(t) for t in trade_ids}
        if ids:
            self._trade_ids.setdefault(symbol, set()).update(ids)
            self.last_trade_id[symbol] = max(max(ids), self.last_trade_id.get(symbol, -1))

    # -- what the venue said ------------------------------------------------------------

    def lost(self, client_id: str, now_ns: int) -> None:
        """The placement got no answer: ``UNKNOWN`` until a query settles it."""
        tracked = self.orders.get(client_id)
        if tracked is None or tracked.status is not VenueStatus.PENDING:
            return
        tracked.status = VenueStatus.UNKNOWN
        log.warning("order %s: no answer from the venue; its state is unknown until queried", client_id)
        self._tell(tracked, OrderStatus.UNKNOWN, "no answer from the venue: querying it", now_ns)

    def rejected(self, client_id: str, reason: str, now_ns: int) -> None:
        """The venue refused the placement (a definite answer)."""
        tracked = self.orders.get(client_id)
        if tracked is None or tracked.status > VenueStatus.UNKNOWN:
            self.ignored += 1
            return
        tracked.status, tracked.reason = VenueStatus.REJECTED, reason
        self._settle(tracked, now_ns)

    def not_found(self, client_id: str, venue_now_ms: int, now_ns: int) -> bool:
        """A query found no such order. Settles an ``UNKNOWN`` or ``PENDING`` order as
        rejected once its request has expired on the venue's clock; returns whether it did."""
        tracked = self.orders.get(client_id)
        if tracked is None or tracked.status > VenueStatus.UNKNOWN:
            return False
        if venue_now_ms <= tracked.expires_ms:
            return False
        tracked.status, tracked.reason = VenueStatus.REJECTED, "never reached the venue (no answer, and no such order)"
        self._settle(tracked, now_ns)
        return True

    def apply(self, view: VenueOrder, now_ns: int, fill: VenueFill | None = None) -> None:
        """Merge a view of an order (and the fill it reports, if any)."""
        tracked = self.orders.get(view.client_id)
        if tracked is None and view.order_id >= 0:
            client = self._by_order_id.get((view.symbol, view.order_id))
            tracked = self.orders.get(client) if client else None
        if tracked is None:
            self.ignored += 1
            return
        if self.observer is not None:
            self.observer(tracked.order.client_id, view)
        changed = False
        if view.order_id >= 0 and tracked.order_id < 0:
            tracked.order_id = view.order_id
            self._by_order_id[(tracked.order.symbol, view.order_id)] = tracked.order.client_id
            changed = True
        if view.executed > tracked.executed:
            tracked.executed = view.executed
            changed = True
        if view.status > tracked.status and not tracked.status.final:
            tracked.status = view.status
            tracked.reason = view.reason or tracked.reason
            changed = True
        if fill is not None:
            changed = self._fill(tracked, fill, now_ns) or changed
        if changed:
            self._adopt_orphans(tracked, now_ns)
            self._settle(tracked, now_ns)
        else:
            self.ignored += 1

    def fills(self, rows: Iterable[VenueFill], now_ns: int) -> None:
        """Merge fills (``myTrades`` rows, in any order): each is delivered once, in trade
        id order, to the order it belongs to."""
        for row in sorted(rows, key=lambda r: r.trade_id):
            client = row.client_id or self._by_order_id.get((row.symbol, row.order_id))
            tracked = self.orders.get(client) if client else None
            if tracked is None:
                if row.trade_id not in self._trade_ids.get(row.symbol, ()):
                    self._orphans.setdefault((row.symbol, row.order_id), []).append(row)
                continue
            if self._fill(tracked, row, now_ns):
                self._settle(tracked, now_ns)
            else:
                self.ignored += 1

    # -- what the broker asks -----------------------------------------------------------

    def open_orders(self) -> list[Order]:
        """Orders not yet finished (pending and unknown ones included)."""
        return [t.order for t in self._open.values()]

    def unknown(self) -> list[str]:
        """Client ids whose placement is unanswered (pending or unknown)."""
        return [cid for cid, t in self._open.items() if t.status <= VenueStatus.UNKNOWN]

    def incomplete(self) -> list[TrackedOrder]:
        """Orders the venue executed more of than the fills delivered (fills to fetch)."""
        return [t for t in self._open.values() if t.executed > t.delivered]

    def forget_finished(self) -> None:
        """Drop finished orders (their trade ids stay, so a late duplicate is still known)."""
        for cid in [cid for cid, t in self.orders.items() if not t.open]:
            tracked = self.orders.pop(cid)
            self._by_order_id.pop((tracked.order.symbol, tracked.order_id), None)

    # -- internals ----------------------------------------------------------------------

    def _fill(self, tracked: TrackedOrder, fill: VenueFill, now_ns: int) -> bool:
        seen = self._trade_ids.setdefault(fill.symbol, set())
        if fill.trade_id in seen:
            return False
        seen.add(fill.trade_id)
        if fill.trade_id > self.last_trade_id.get(fill.symbol, -1):
            self.last_trade_id[fill.symbol] = fill.trade_id
        order = tracked.order
        if tracked.order_id < 0:
            tracked.order_id = fill.order_id
            self._by_order_id[(order.symbol, fill.order_id)] = order.client_id
        if tracked.status < VenueStatus.NEW:
            tracked.status = VenueStatus.NEW  # it executed, so the venue has it
        if tracked.told in (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN):
            self._tell(tracked, OrderStatus.ACCEPTED, "", now_ns)
        tracked.delivered += fill.size
        tracked.executed = max(tracked.executed, tracked.delivered)
        self.fills_delivered += 1
        self.outbox.append(Fill(order.client_id, order.venue, order.symbol, order.side, fill.price, fill.size,
                                fill.fee, fill.fee_asset, "maker" if fill.maker else "taker", now_ns,
                                str(fill.trade_id)))
        if tracked.delivered >= order.size:
            if not tracked.status.final:
                tracked.status = VenueStatus.FILLED  # all of it executed, whatever report was missed
        elif not tracked.status.final:
            tracked.status = max(tracked.status, VenueStatus.PARTIALLY_FILLED)
            self._tell(tracked, OrderStatus.PARTIALLY_FILLED, "", now_ns)
        elif tracked.told not in _FINAL_UPDATES:
            self._tell(tracked, OrderStatus.PARTIALLY_FILLED, "", now_ns)  # a late fill of a finished order
        return True

    def _adopt_orphans(self, tracked: TrackedOrder, now_ns: int) -> None:
        rows = self._orphans.pop((tracked.order.symbol, tracked.order_id), None)
        for row in sorted(rows or (), key=lambda r: r.trade_id):
            self._fill(tracked, row, now_ns)

    def _settle(self, tracked: TrackedOrder, now_ns: int) -> None:
        """Tell the strategy what the state now allows, in lifecycle order."""
        status = tracked.status
        if tracked.told in _FINAL_UPDATES or status <= VenueStatus.UNKNOWN:
            return
        if tracked.told in (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN) and status is not VenueStatus.REJECTED:
            self._tell(tracked, OrderStatus.ACCEPTED, "", now_ns)
        if status.final and tracked.delivered >= tracked.executed:
            if status is VenueStatus.FILLED and tracked.delivered < tracked.order.size:
                return  # the venue says filled: the fills that make it so are still to come
            self._tell(tracked, _TO_UPDATE[status], tracked.reason, now_ns)

    def _tell(self, tracked: TrackedOrder, status: OrderStatus, reason: str, now_ns: int) -> None:
        tracked.told = status
        order = tracked.order
        if status in _FINAL_UPDATES:
            self._open.pop(order.client_id, None)
        self.outbox.append(OrderUpdate(order.client_id, order.symbol, status, tracked.delivered,
                                       max(order.size - tracked.delivered, _ZERO), reason, now_ns))
