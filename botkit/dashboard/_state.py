"""What the dashboard shows, read from a running engine's public state.

Everything here runs in the dashboard's task, a few times a second: the hot path never
calls into it. Sections are plain data (decimals as exact strings; chart points as
numbers, which is what a chart draws). The series are bounded: when one is full, every
other point is dropped, so a run of days keeps its whole shape in a fixed size.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from .._orders import Fill, Order
from ..execution._metrics import percent
from ..sources._base import FEED_COUNTERS, FeedStats

if TYPE_CHECKING:
    from .._engine import Engine

__all__ = ["MAX_POINTS", "Series", "StateView"]

#: Points a chart series keeps (and the page with it).
MAX_POINTS = 1_800
#: Fills and halts a snapshot lists, newest last.
RECENT = 50
_ZERO = Decimal(0)


class Series:
    """A bounded time series of ``[ms, value]``: when full, every other point goes and
    :attr:`generation` counts up (a reader holding the old points must start over)."""

    __slots__ = ("generation", "limit", "points", "total")

    def __init__(self, limit: int = MAX_POINTS) -> None:
        self.limit = limit
        self.points: list[list[float]] = []
        self.generation = 0
        #: Points ever added (a reader's position: what it has not seen is after it).
        self.total = 0

    def add(self, ms: float, value: float) -> None:
        if len(self.points) >= self.limit:
            del self.points[::2]
            self.generation += 1
        self.points.append([ms, value])
        self.total += 1

    def since(self, total: int) -> list[list[float]]:
        """The points added after the reader had seen ``total`` (all it can have)."""
        return self.points[len(self.points) - min(self.total - total, len(self.points)):]


class StateView:
    """The engine's state as the API and the page show it.

    :param engine: the running engine (read only; actions go through its methods).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.started = time.time()
        self._started_mono = time.monotonic()
        self.equity = Series()
        self.price = Series()
        #: The symbol the price chart follows: the strategy's first, else the first traded.
        self.symbol = engine.strategy.symbols[0] if engine.strategy.symbols else ""
        self._rate_at = (self._started_mono, 0)
        self.events_per_s = 0.0

    def sample(self) -> None:
        """One tick: a point on each series, the recent event rate."""
        engine = self.engine
        now = engine.clock.now_ns() / 1e6
        self.equity.add(now, float(engine.router.equity()))
        marks = engine.market.last_prices
        if not self.symbol and marks:
            self.symbol = next(iter(marks))
        price = marks.get(self.symbol)
        if price is not None:
            self.price.add(now, float(price))
        mono, events = time.monotonic(), self._events()
        last_mono, last_events = self._rate_at
        if mono > last_mono:
            self.events_per_s = round((events - last_events) / (mono - last_mono), 1)
        self._rate_at = (mono, events)

    def _events(self) -> int:
        return sum(self.engine.runner.counts.values())

    # -- sections ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        engine = self.engine
        runner = engine.runner
        router = engine.router
        source = engine.source
        return {
            "mode": engine.mode,
            "strategy": type(engine.strategy).__name__,
            "venues": list(router.accounts),
            "symbols": list(engine.strategy.symbols),
            "source": source.describe(),
            "started_at": self.started,
            "uptime_s": round(time.monotonic() - self._started_mono, 3),
            "engine_time_ns": engine.clock.now_ns(),
            "stopping": runner.stop_reason,
            "events": self._events(),
            "events_by_type": runner.counts_by_name(),
            "events_per_s": self.events_per_s,
            "strategy_errors": runner.errors,
            "conflated": engine.subscription.stats.conflated,
            "backpressure_waits": engine.subscription.stats.backpressure_waits,
            "orders": router.orders,
            "rejected": router.rejected,
            "rejections": dict(router.rejections),
            "fills": len(router.fills),
            "paused": engine.paused,
            "killed": engine.risk.killed,
            "feeds": feeds(source.feeds(), engine.risk.feeds_down),
        }

    def portfolio(self) -> dict[str, Any]:
        router = self.engine.router
        equity, start = router.equity(), router.starting_equity()
        positions = []
        cash: dict[str, dict[str, str]] = {}
        realised = fees = _ZERO
        for venue, account in router.accounts.items():
            portfolio = account.portfolio
            realised += portfolio.realised_pnl
            fees += portfolio.fees
            cash[venue] = {asset: str(amount) for asset, amount in sorted(portfolio.cash.items())}
            for symbol, position in sorted(portfolio.positions.items()):
                if not position.size:
                    continue
                mark = account.market.last_prices.get(symbol)
                positions.append({
                    "venue": venue, "symbol": symbol, "size": _text(position.size),
                    "avg_price": _text(position.avg_price), "mark": _text(mark),
                    "unrealised_pnl": _text(position.unrealised_pnl(mark)) if mark is not None else None,
                    "realised_pnl": _text(position.realised_pnl), "fees": _text(position.fees),
                })
        return {
            "quote_asset": router.quote_asset,
            "equity": _text(equity),
            "starting_equity": _text(start),
            "total_return": _text(equity - start),
            "return_pct": percent(equity - start, start),
            "realised_pnl": _text(realised),
            "fees": _text(fees),
            "cash": cash,
            "positions": positions,
        }

    def orders(self) -> list[dict[str, Any]]:
        return [order_row(order) for order in self.engine.router.open_orders()]

    def fills(self, limit: int = RECENT) -> list[dict[str, Any]]:
        fills = self.engine.router.fills
        return [fill_row(fill) for fill in fills[max(len(fills) - limit, 0):]]

    def risk(self) -> dict[str, Any]:
        engine = self.engine
        risk = engine.risk
        limits = {k: _plain(v) for k, v in attrs.asdict(risk.limits, recurse=False).items() if k != "venues"}
        limits["venues"] = {venue: {k: _plain(v) for k, v in attrs.asdict(v_limits).items()}
                            for venue, v_limits in risk.limits.venues.items()}
        return {
            "paused": engine.paused,
            "killed": risk.killed,
            "halted": risk.halted,
            "active_halts": risk.active_halts,
            "halts": [attrs.asdict(halt) for halt in risk.halts[-RECENT:]],
            "halt_count": len(risk.halts),
            "limits": limits,
        }

    def series(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "equity": list(self.equity.points), "price": list(self.price.points),
                "max_points": MAX_POINTS}

    def snapshot(self) -> dict[str, Any]:
        """Every section but the series (the stream sends those as they grow)."""
        return {"status": self.status(), "portfolio": self.portfolio(), "orders": self.orders(),
                "fills": self.fills(), "risk": self.risk()}


def feeds(stats: list[FeedStats], down: set[str]) -> list[dict[str, Any]]:
    """Feed health per venue: its connection (a venue with several feeds: the worst),
    counters summed, the age of its last message."""
    out = []
    for venue, group in FeedStats.by_venue(stats).items():
        total = FeedStats.total(group)
        states = [each.state for each in group if each.state]
        state = next((s for s in ("closed", "backoff", "connecting", "subscribing", "idle") if s in states),
                     "live" if states else "replay")
        ages = [each.last_message_age_s for each in group if each.last_message_age_s >= 0]
        row: dict[str, Any] = {"venue": venue, "state": state,
                               "connected": state in ("live", "replay") and venue not in down}
        row.update({name: getattr(total, name) for name in FEED_COUNTERS})
        row["last_message_age_s"] = max(ages) if ages else None
        out.append(row)
    return out


def order_row(order: Order) -> dict[str, Any]:
    return {"client_id": order.client_id, "venue": order.venue, "symbol": order.symbol, "side": order.side.value,
            "type": order.type.value, "size": _text(order.size), "price": _text(order.price),
            "time_in_force": order.time_in_force.value, "post_only": order.post_only,
            "ts_submitted": order.ts_submitted}


def fill_row(fill: Fill) -> dict[str, Any]:
    return {"client_id": fill.client_id, "venue": fill.venue, "symbol": fill.symbol, "side": fill.side.value,
            "price": _text(fill.price), "size": _text(fill.size), "fee": _text(fill.fee),
            "fee_asset": fill.fee_asset, "liquidity": fill.liquidity, "ts": fill.ts_recv, "trade_id": fill.trade_id}


def _text(value: Decimal | None) -> str | None:
    """A decimal as the run summary writes it (``str``: exact), or None."""
    return None if value is None else str(value)


def _plain(value: object) -> object:
    return _text(value) if isinstance(value, Decimal) else value
