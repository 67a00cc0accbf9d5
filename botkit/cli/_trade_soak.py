"""``botkit soak --orders N --faults K``: live trading against the simulator under K
execution faults, and a check that the bot's orders, fills and balances converge to the
venue's.

Everything runs in one event loop on loopback: the simulator (an endless generated
market, the WebSocket API with its matching engine and balances, the faults), the
market feed, the live broker and an order-placing strategy. The strategy keeps its own
ledger from ``on_fill`` alone, so a fill missed or delivered twice shows up as a balance
difference whatever the broker corrected. It prints one ``name: value`` per line.
"""

from __future__ import annotations

import random
import resource
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import anyio

from .._clock import LiveClock
from .._engine import Engine
from .._events import Trade
from .._orders import Fill, OrderStatus, OrderUpdate
from .._strategy import Strategy
from ..execution._risk import RiskLimits
from ..live._broker import BinanceBroker
from ..live._keys import Credentials
from ..protocol._ratelimit import RestLimiter
from ..protocol._reconnect import ReconnectPolicy
from ..protocol.binance._signing import HmacSigner
from ..sim import market_frames
from ..sim._trading import EXECUTION_FAULTS, SimAccount, TradingVenue

__all__ = ["MISMATCH_KEYS", "run_trade_soak"]

#: The counters that must all be 0 (exit 1 otherwise).
MISMATCH_KEYS = ("duplicate_orders", "orphan_orders", "missed_fills", "double_fills", "position_mismatch",
                 "balance_mismatch")
_START = {"USDT": Decimal(1_000_000), "BTC": Decimal(10)}
_LOT = Decimal("0.001")
_SOAK_WEIGHT_PER_MINUTE = 1_000_000


class _OrderFlow(Strategy):
    """Places ``orders`` orders: limit buys and sells around the last price (some cross
    and fill at once, some rest and fill later, some are cancelled), a market order now
    and then; keeps a ledger of what ``on_fill`` said."""

    symbols = ("BTCUSDT",)
    channels = ("trades",)

    def __init__(self, orders: int, seed: int, more: Callable[[], bool]) -> None:
        self.target = orders
        self.more = more  # True while faults are still to come: keep trading
        self.rng = random.Random(seed)
        self.sent: list[str] = []
        self.fills: list[Fill] = []
        self.ledger: dict[str, Decimal] = {}
        self.finished: dict[str, OrderStatus] = {}
        self.live: list[str] = []
        self.n = 0
        self.pause_until = 0
        self.next_cancel = 0

    def on_trade(self, trade: Trade) -> None:
        self.n += 1
        if len(self.sent) >= self.target and not self.more():
            open_orders = self.open_orders()
            if not open_orders:
                self.stop("orders sent")
            elif self.n >= self.next_cancel:  # what still rests: cancel it (again, if a cancel was lost)
                self.next_cancel = self.n + 50
                for order in open_orders:
                    self.cancel(order.client_id)
            return
        if self.n < self.pause_until:
            return
        rng = self.rng
        if len(self.live) > 6:
            self.cancel(self.live.pop(0))
        size = _LOT * rng.randint(1, 5)
        offset = Decimal(rng.randint(-8, 8)) / 10
        roll = rng.random()
        if roll < 0.1:
            cid = self.buy(size) if rng.random() < 0.5 else self.sell(size)
        elif roll < 0.55:
            cid = self.buy(size, trade.price + offset)
        else:
            cid = self.sell(size, trade.price - offset)
        self.sent.append(cid)
        self.live.append(cid)

    def on_order(self, update: OrderUpdate) -> None:
        if update.status is OrderStatus.REJECTED and update.reason.startswith("trading connection not ready"):
            self.sent.remove(update.client_id)  # never left the bot: does not count as sent
            self.pause_until = self.n + 10
        if update.status in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED):
            self.finished[update.client_id] = update.status
            if update.client_id in self.live:
                self.live.remove(update.client_id)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        notional = fill.price * fill.size
        ledger = self.ledger
        if fill.side.value == "buy":
            ledger["BTC"] = ledger.get("BTC", Decimal(0)) + fill.size
            ledger["USDT"] = ledger.get("USDT", Decimal(0)) - notional
        else:
            ledger["BTC"] = ledger.get("BTC", Decimal(0)) - fill.size
            ledger["USDT"] = ledger.get("USDT", Decimal(0)) + notional
        ledger[fill.fee_asset] = ledger.get(fill.fee_asset, Decimal(0)) - fill.fee


async def run_trade_soak(orders: int, faults: int, *, seed: int = 1, speed: float = 20.0) -> dict[str, Any]:
    """Run the trading soak and return its figures (``name: value``)."""
    from ..sim import ExchangeSimulator
    from ..sources._websocket import WebSocketSource

    plan = [EXECUTION_FAULTS[i % len(EXECUTION_FAULTS)] for i in range(faults)]
    random.Random(seed).shuffle(plan)
    secret = f"soak-{random.Random(seed).getrandbits(128):032x}"
    account = SimAccount("soak-key", hmac_secret=secret.encode(), balances=dict(_START))
    venue = TradingVenue([account], plan=plan, fault_every=max(1, orders // max(faults, 1)),
                         orders_per_10s=100_000, orders_per_day=10_000_000)
    sim = ExchangeSimulator(market_frames(seed=seed), speed=speed, pause_when_idle=False, trading=venue,
                            end_when_done=False)
    url = sim.listen()
    policy = ReconnectPolicy(backoff_base_s=0.02, backoff_cap_s=0.5, connect_timeout_s=3.0,
                             max_attempts_per_minute=600)
    source = WebSocketSource(url, venue="binance", policy=policy)
    clock = LiveClock()
    credentials = Credentials("soak-key", HmacSigner(secret), "the soak's own test key")
    # A 1 s recvWindow (loopback): an order lost with its connection is known not to be
    # at the venue 1 s later, not 5 s (the default, for real networks).
    # And a request-weight budget for K reconnects in seconds, not hours (a run's is 6,000
    # a minute, Binance's IP limit); the simulator does not count WebSocket API weight.
    broker = BinanceBroker(credentials, url.replace("/stream", "/ws-api/v3"), ["BTC-USDT"], clock,
                           cancel_timeout_s=30.0, request_timeout_s=5.0, recv_window_ms=1_000,
                           limiter=RestLimiter(_SOAK_WEIGHT_PER_MINUTE))
    strategy = _OrderFlow(orders, seed, lambda: bool(venue.plan))
    # The soak's policy: orders as fast as the venue takes them (a run's default is 10/s).
    risk = RiskLimits(max_orders_per_second=2_000, max_open_orders=50, max_order_notional=None)
    engine = Engine(strategy, source, broker=broker, clock=clock, risk=risk, starting_cash=dict(_START))
    started = time.monotonic()
    async with anyio.create_task_group() as nursery:
        await nursery.start(sim.serve)
        summary = await engine.run()
        nursery.cancel_scope.cancel()
    elapsed = time.monotonic() - started
    return _figures(strategy, venue, account, broker, summary.to_dict(), faults, elapsed)


def _figures(strategy: _OrderFlow, venue: TradingVenue, account: SimAccount, broker: BinanceBroker,
             summary: dict[str, Any], faults: int, elapsed: float) -> dict[str, Any]:
    ours = set(strategy.sent)
    venue_orders = {o.order.client_id: o for o in venue.orders.values()}
    # Every venue fill, per order, against every fill the strategy heard of.
    by_order: dict[str, list[Decimal]] = {}
    for row in venue.trades:
        by_order.setdefault(venue.client_id_of(row["orderId"]), []).append(Decimal(row["qty"]))
    heard: dict[str, list[Decimal]] = {}
    for fill in strategy.fills:
        heard.setdefault(fill.client_id, []).append(fill.size)
    missed = sum(max(len(v) - len(heard.get(k, ())), 0) for k, v in by_order.items())
    double = sum(max(len(v) - len(by_order.get(k, ())), 0) for k, v in heard.items())
    sized = sum(1 for k in by_order.keys() | heard.keys() if sum(by_order.get(k, ())) != sum(heard.get(k, ())))
    change = {a: account.balances.get(a, Decimal(0)) - _START.get(a, Decimal(0)) for a in ("BTC", "USDT")}
    position = strategy.ledger.get("BTC", Decimal(0)) != change["BTC"]
    balance = strategy.ledger.get("USDT", Decimal(0)) != change["USDT"]
    still_open = [cid for cid, o in venue_orders.items() if o.status in ("NEW", "PARTIALLY_FILLED")]
    unknown_to_bot = [cid for cid in venue_orders if cid not in ours]
    report = broker.report()
    corrections = summary["trading"]["live"]["balance_corrections"]
    return {
        "orders_sent": report["orders_sent"],
        "orders_planned": strategy.target,
        "orders_at_venue": len(venue_orders),
        "fills_at_venue": len(venue.trades),
        "fills_delivered": len(strategy.fills),
        "execution_faults_planned": faults,
        "execution_faults_injected": sum(venue.stats.faults.values()),
        "execution_faults_by_kind": dict(sorted(venue.stats.faults.items())),
        "reconnects": report["connects"] - 1,
        "reconciliations": report["reconciliations"],
        "unknown_orders_resolved": report["unknown_orders"],
        "fills_recovered_by_reconciliation": report["recovered_fills"],
        "stale_or_duplicate_messages_ignored": report["duplicates_ignored"],
        "refused_locally": report["refused_locally"],
        "reports_lost_by_the_venue": venue.stats.reports_lost,
        "duplicate_orders": venue.stats.duplicate_placements,
        "orphan_orders": len(still_open) + len(unknown_to_bot),
        "missed_fills": missed,
        "double_fills": double,
        "fill_size_mismatch": sized,
        "position_mismatch": int(position),
        "balance_mismatch": int(balance) + corrections,
        "balance_corrections_during_run": corrections,
        "not_cancelled_at_end": len(report["not_cancelled"]),
        "strategy_errors": summary["strategy_errors"],
        "crashes": 0,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "request_weight_per_minute_soak_policy": _SOAK_WEIGHT_PER_MINUTE,
        "elapsed_s": round(elapsed, 1),
    }
