"""The order tracker against a model venue: random interleavings of placements, fills,
cancels, lost / duplicated / reordered messages and disconnects. After every
reconciliation the tracker equals the venue's ledger, and what the strategy heard is
consistent: each fill once, in lifecycle order, never an order twice."""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from botkit import Side
from botkit._orders import Fill, Order, OrderStatus, OrderType, OrderUpdate, TimeInForce
from botkit.execution._tracker import OrderTracker, VenueFill, VenueOrder, VenueStatus

D = Decimal
SYMBOL = "BTC-USDT"
RECV_WINDOW = 5_000
_FINAL = {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
_RANK = {OrderStatus.SUBMITTED: 0, OrderStatus.UNKNOWN: 0, OrderStatus.ACCEPTED: 1, OrderStatus.PARTIALLY_FILLED: 2,
         **{s: 3 for s in _FINAL}}


@attrs.define
class _VenueOrder:
    client_id: str
    order_id: int
    size: Decimal
    status: VenueStatus = VenueStatus.NEW
    executed: Decimal = attrs.Factory(Decimal)

    def view(self) -> VenueOrder:
        return VenueOrder(self.client_id, self.order_id, SYMBOL, self.status, self.executed)


class TrackerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tracker = OrderTracker()
        self.venue: dict[str, _VenueOrder] = {}
        self.trades: list[VenueFill] = []
        self.never_arrived: set[str] = set()
        # Requests still travelling: (client id, size, expiry, the connection it was sent on).
        self.in_flight: list[tuple[str, int, int, int]] = []
        self.connection = 0
        self.inbox: list[tuple] = []  # messages on their way to the tracker
        self.now_ms = 1_000_000
        self.next_id = 0
        self.next_trade = 100
        self.seen: list[OrderUpdate | Fill] = []

    # -- the bot and the venue ----------------------------------------------------------

    @rule(size=st.integers(1, 4),
          outcome=st.sampled_from(["answered", "lost answer", "lost request", "refused", "delayed"]))
    def place(self, size: int, outcome: str) -> None:
        self.next_id += 1
        cid = f"bk-{self.next_id}"
        order = Order(cid, "binance", SYMBOL, Side.BUY, OrderType.LIMIT, D(size), D(100), TimeInForce.GTC, False, 0)
        self.tracker.submit(order, expires_ms=self.now_ms + RECV_WINDOW)
        if outcome == "lost request":
            self.never_arrived.add(cid)
            self.inbox.append(("lost", cid))
            return
        if outcome == "refused":
            self.never_arrived.add(cid)
            self.inbox.append(("rejected", cid))
            return
        if outcome == "delayed":
            self.in_flight.append((cid, size, self.now_ms + RECV_WINDOW, self.connection))
            return
        self._accept(cid, size, answered=outcome == "answered")

    def _accept(self, cid: str, size: int, *, answered: bool) -> None:
        venue_order = self.venue[cid] = _VenueOrder(cid, 5_000 + int(cid[3:]), D(size))
        self.inbox.append(("placed", venue_order.view()) if answered else ("lost", cid))
        self.inbox.append(("report", venue_order.view(), None))

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def request_arrives(self, data: st.DataObject) -> None:
        """A slow request reaches the venue (before its recvWindow ends: else it is refused)."""
        cid, size, expires, connection = self.in_flight.pop(data.draw(st.integers(0, len(self.in_flight) - 1)))
        if self.now_ms <= expires:
            self._accept(cid, size, answered=connection == self.connection)
        else:
            self.never_arrived.add(cid)

    def _open(self) -> list[_VenueOrder]:
        return [o for o in self.venue.values() if not o.status.final]

    @precondition(lambda self: self._open())
    @rule(data=st.data(), whole=st.booleans())
    def venue_fills(self, data: st.DataObject, whole: bool) -> None:
        order = data.draw(st.sampled_from(self._open()))
        left = order.size - order.executed
        part = left if whole else data.draw(st.sampled_from([D("0.5"), D(1), left]))
        part = min(part, left)
        self.next_trade += data.draw(st.integers(1, 3))  # other people's trades in between
        order.executed += part
        order.status = VenueStatus.FILLED if order.executed == order.size else VenueStatus.PARTIALLY_FILLED
        fill = VenueFill(SYMBOL, self.next_trade, order.order_id, order.client_id, Side.BUY, D(100), part, D(0),
                         "BTC", True, self.now_ms)
        self.trades.append(fill)
        self.inbox.append(("report", order.view(), fill))

    @precondition(lambda self: self._open())
    @rule(data=st.data(), expire=st.booleans())
    def venue_cancels(self, data: st.DataObject, expire: bool) -> None:
        order = data.draw(st.sampled_from(self._open()))
        order.status = VenueStatus.EXPIRED if expire else VenueStatus.CANCELLED
        self.inbox.append(("report", order.view(), None))

    # -- the network --------------------------------------------------------------------

    @precondition(lambda self: self.inbox)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        self._apply(self.inbox.pop(data.draw(st.integers(0, len(self.inbox) - 1))))

    @precondition(lambda self: self.inbox)
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        self._apply(self.inbox[data.draw(st.integers(0, len(self.inbox) - 1))])

    @precondition(lambda self: self.inbox)
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        message = self.inbox.pop(data.draw(st.integers(0, len(self.inbox) - 1)))
        if message[0] in ("placed", "rejected"):
            self.inbox.append(("lost", message[1] if message[0] == "rejected" else message[1].client_id))

    @rule(early=st.booleans())
    def disconnect_and_reconcile(self, early: bool) -> None:
        """What the live broker does after a reconnect: every message in flight is gone;
        unanswered orders are unknown; each open order is queried, then the fills of the
        orders the venue executed more of than was delivered are fetched."""
        self.inbox.clear()
        self.connection += 1
        tracker = self.tracker
        for cid in tracker.unknown():
            tracker.lost(cid, 0)
        if not early:
            self.now_ms += RECV_WINDOW + 1  # every request sent before is expired
            self.never_arrived.update(cid for cid, *_ in self.in_flight)
            self.in_flight.clear()
        for order in tracker.open_orders():
            venue_order = self.venue.get(order.client_id)
            if venue_order is None:
                tracker.not_found(order.client_id, self.now_ms, 0)
            else:
                tracker.apply(venue_order.view(), 0)
        for tracked in tracker.incomplete():
            tracker.fills([t for t in self.trades if t.order_id == tracked.order_id], 0)
        if not early:
            self.check_converged()

    def _apply(self, message: tuple) -> None:
        kind = message[0]
        if kind == "placed":
            self.tracker.apply(message[1], 0)
        elif kind == "report":
            self.tracker.apply(message[1], 0, message[2])
        elif kind == "rejected":
            self.tracker.rejected(message[1], "-2010 insufficient balance", 0)
        elif kind == "lost":
            self.tracker.lost(message[1], 0)

    # -- what must hold -----------------------------------------------------------------

    def check_converged(self) -> None:
        tracker = self.tracker
        self._collect()
        for cid, tracked in tracker.orders.items():
            venue_order = self.venue.get(cid)
            if venue_order is None:
                assert tracked.status is VenueStatus.REJECTED and tracked.told is OrderStatus.REJECTED, cid
                continue
            assert tracked.status is venue_order.status, (cid, tracked.status, venue_order.status)
            assert tracked.delivered == venue_order.executed == tracked.executed, cid
            if venue_order.status.final:
                assert tracked.told.value == {VenueStatus.FILLED: "filled", VenueStatus.CANCELLED: "cancelled",
                                              VenueStatus.EXPIRED: "expired"}[venue_order.status]
        delivered = sorted(f.size for f in self._fills())
        assert len(delivered) == len(self.trades)
        assert not tracker.unknown()

    def _fills(self) -> list[Fill]:
        return [item for item in self.seen if isinstance(item, Fill)]

    def _collect(self) -> None:
        self.seen += self.tracker.outbox
        self.tracker.outbox.clear()

    @invariant()
    def what_the_strategy_heard_is_consistent(self) -> None:
        self._collect()
        fills: dict[str, Decimal] = {}
        rank: dict[str, int] = {}
        finals: dict[str, int] = {}
        for item in self.seen:
            if isinstance(item, Fill):
                assert finals.get(item.client_id, 0) == 0, "a fill after the order's final update"
                assert rank.get(item.client_id, 0) >= 1, "a fill before the order was accepted"
                fills[item.client_id] = fills.get(item.client_id, D(0)) + item.size
            else:
                r = _RANK[item.status]
                assert r >= rank.get(item.client_id, 0), f"{item.client_id} went back to {item.status}"
                rank[item.client_id] = r
                assert item.filled == fills.get(item.client_id, D(0))
                if item.status in _FINAL:
                    finals[item.client_id] = finals.get(item.client_id, 0) + 1
                    assert finals[item.client_id] == 1, "two final updates"
                if item.status is OrderStatus.FILLED:
                    assert item.remaining == 0
        sizes = {cid: o.size for cid, o in self.venue.items()}
        assert all(size <= sizes[cid] for cid, size in fills.items()), "more filled than the order's size"
        counted = [f for f in self._fills()]
        assert len(counted) <= len(self.trades), "a fill delivered twice"


TrackerMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
test_the_tracker_converges_to_the_venue = TrackerMachine.TestCase
