"""The risk gate and the risk task: whether the strategy may trade, and why not.

Every order passes :meth:`RiskManager.check_order` before it reaches a broker. The gate
is synchronous on purpose: it decides at the engine time the order was sent, so a
backtest is deterministic and no order can slip past it. The risk *task* is its
clock-driven half (stale data on a live clock).

Order rules (each off when ``None``): ``max_position`` (absolute size per symbol,
counting open orders on the same side), ``max_order_notional`` (default 100,000),
``max_open_orders`` (default 200), ``max_orders_per_second`` (default 10; token bucket,
burst = one second's worth), ``max_daily_loss``
and ``max_drawdown`` (kill switch: cancel everything, halt trading for the rest of the
run), and the stale-data guard (no new orders while the feed is down or the last market
event is older than ``stale_after_s``).

Halting rules (each configurable through :class:`RiskLimits`):

* **strategy error**: a hook that raised halts trading for the rest of the run;
* **feed down**: a feed reporting ``DOWN`` halts trading until it is ``LIVE`` again;
* **stale data** (live clock only): no market event for ``stale_after_s`` halts
  trading until events flow again. In a replay, time only moves with events, so
  there is nothing to watch and the rule is inert.
* **manual**: :meth:`RiskManager.halt` / :meth:`RiskManager.resume`.

Every halt is logged and recorded (``halts`` in the run summary). Order checks join
this module with execution.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import anyio
import attrs
from anyio.abc import TaskStatus

from .._clock import Clock
from .._decimals import exact_decimal
from .._events import ConnectionState, FeedStatus, Side
from .._orders import Order

__all__ = ["Halt", "RiskLimits", "RiskManager", "TokenBucket", "VenueLimits"]

log = logging.getLogger("botkit.risk")

_STALE = "stale data"
_FEED_DOWN = "feed down"


#: Default order limits, each a user can raise (``[risk]`` in the config). Binance spot
#: allows 100 orders per 10 s per account and 200 open orders per symbol; one order of
#: more than 100,000 in the quote asset is a bug far more often than a plan.
DEFAULT_ORDERS_PER_SECOND = 10.0
DEFAULT_OPEN_ORDERS = 200
DEFAULT_ORDER_NOTIONAL = Decimal(100_000)


def _opt_decimal(value: object) -> Decimal | None:
    return None if value is None else exact_decimal(value, floats=True)


@attrs.frozen
class VenueLimits:
    """Order limits on one venue of a strategy trading several (each off when ``None``),
    checked beside :class:`RiskLimits`' own, which then hold over all venues together
    (``max_position``: a symbol's position summed over the venues).

    :param max_position: largest absolute position per symbol on this venue, open orders
        there included.
    :param max_order_notional: largest price x size of one order on this venue.
    :param max_open_orders: most orders working at once on this venue.
    :param max_orders_per_second: order rate on this venue (token bucket).
    """

    max_position: Decimal | None = attrs.field(default=None, converter=_opt_decimal)
    max_order_notional: Decimal | None = attrs.field(default=None, converter=_opt_decimal)
    max_open_orders: int | None = None
    max_orders_per_second: float | None = None


@attrs.frozen
class RiskLimits:
    """Risk configuration.

    :param stale_after_s: live only: halt when no market event arrived for this long.
    :param halt_on_strategy_error: halt trading once a strategy hook has raised.
    :param max_position: largest absolute position per symbol, open orders included.
    :param max_order_notional: largest price x size of one order (quote asset); default
        100,000.
    :param max_open_orders: most orders working at once; default 200.
    :param max_orders_per_second: order rate (token bucket); default 10.
    :param max_daily_loss: loss from the day's starting equity that trips the kill switch.
    :param max_drawdown: loss from peak equity that trips the kill switch.
    :param flatten_on_kill: when the kill switch trips, also sell long positions at market
        (after cancelling every open order).
    :param venues: a strategy trading several venues: venue -> :class:`VenueLimits`
        checked there too. The limits above then hold over all venues together (loss
        limits on the summed equity).
    """

    stale_after_s: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    halt_on_strategy_error: bool = True
    max_position: Decimal | None = attrs.field(default=None, converter=_opt_decimal)
    max_order_notional: Decimal | None = attrs.field(default=DEFAULT_ORDER_NOTIONAL, converter=_opt_decimal)
    max_open_orders: int | None = DEFAULT_OPEN_ORDERS
    max_orders_per_second: float | None = DEFAULT_ORDERS_PER_SECOND
    max_daily_loss: Decimal | None = attrs.field(default=None, converter=_opt_decimal)
    max_drawdown: Decimal | None = attrs.field(default=None, converter=_opt_decimal)
    flatten_on_kill: bool = False
    venues: dict[str, VenueLimits] = attrs.field(factory=dict, hash=False)


class TokenBucket:
    """An order-rate token bucket (burst = one second's worth)."""

    __slots__ = ("_at", "_rate", "_tokens")

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._tokens = float(rate)
        self._at = 0

    def take(self, now: int) -> bool:
        burst = max(self._rate, 1.0)
        if self._at:
            self._tokens = min(burst, self._tokens + (now - self._at) / 1e9 * self._rate)
        else:
            self._tokens = burst
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@attrs.frozen
class Halt:
    """One halt: when (engine ns), why, when it was lifted (-1: never), and how many
    times its cause recurred while it held (the same hook raising the same error type
    is one halt, counted, not one per event)."""

    ts: int
    reason: str
    lifted_ts: int = -1
    count: int = 1


class RiskManager:
    """Holds the halt state; its :meth:`run` is the engine's risk task.

    :param on_kill: called with the reason when the kill switch trips (the engine
        cancels every open order through it).
    :param on_stale: called when the data goes stale on a live clock (the engine cancels
        a live broker's open orders: quotes resting on a market no one sees are the
        kill switch's business; the halt lifts when data flows again).
    """

    def __init__(self, clock: Clock, limits: RiskLimits | None = None, *,
                 on_kill: Callable[[str], None] | None = None,
                 on_stale: Callable[[str], None] | None = None) -> None:
        self.clock = clock
        self.limits = limits or RiskLimits()
        self.halts: list[Halt] = []
        #: Receive time of the latest market event (updated by the strategy runner).
        self.last_event_ns = 0
        self._active: dict[str, int] = {}  # reason -> index in halts
        self._error_reasons: dict[str, str] = {}  # "strategy error in HOOK: TYPE" -> its halt's reason
        #: Venues whose feed is down now (each holds its own halt until it is live again).
        self.feeds_down: set[str] = set()
        self.killed = ""
        self._bucket = TokenBucket(self.limits.max_orders_per_second or 0.0)
        self._venue_buckets = {venue: TokenBucket(v.max_orders_per_second) for venue, v in self.limits.venues.items()
                               if v.max_orders_per_second is not None}
        self._peak_equity: Decimal | None = None
        self._day_start: tuple[int, Decimal] | None = None
        self._on_kill = on_kill
        self._on_stale = on_stale

    @property
    def halted(self) -> bool:
        """True while any halt is active."""
        return bool(self._active)

    @property
    def feed_down(self) -> bool:
        """True while any venue's feed is down."""
        return bool(self.feeds_down)

    @property
    def active_halts(self) -> list[str]:
        """The reasons of the halts active now, oldest first."""
        return list(self._active)

    @property
    def halt_reason(self) -> str:
        """The active halt reasons joined by "; " ("" when trading is allowed)."""
        return "; ".join(self._active)

    def halt(self, reason: str) -> None:
        """Halt trading for ``reason`` (idempotent per reason)."""
        if reason in self._active:
            return
        log.warning("trading halted: %s", reason)
        self._active[reason] = len(self.halts)
        self.halts.append(Halt(self.clock.now_ns(), reason))

    def resume(self, reason: str) -> None:
        """Lift the halt for ``reason`` (no-op when it is not active)."""
        index = self._active.pop(reason, None)
        if index is not None:
            log.warning("trading resumed: %s cleared", reason)
            self.halts[index] = attrs.evolve(self.halts[index], lifted_ts=self.clock.now_ns())

    def on_strategy_error(self, hook: str, error: str) -> None:
        """A strategy hook raised."""
        if not self.limits.halt_on_strategy_error:
            return
        kind = error.split(":", 1)[0]
        key = f"strategy error in {hook}: {kind}"
        index = self._active.get(self._error_reasons.get(key, ""))
        if index is not None:  # the same error again: counted on its halt
            self.halts[index] = attrs.evolve(self.halts[index], count=self.halts[index].count + 1)
            return
        self._error_reasons[key] = reason = f"strategy error in {hook}: {error}"
        self.halt(reason)

    def on_feed_status(self, status: FeedStatus) -> None:
        """Track feed health from connection-state events."""
        reason = f"{_FEED_DOWN}: {status.venue}"
        if status.state is ConnectionState.LIVE:
            self.feeds_down.discard(status.venue)
            self.resume(reason)
        elif status.state is ConnectionState.DOWN:
            self.feeds_down.add(status.venue)
            self.halt(reason)

    def kill(self, reason: str) -> None:
        """The kill switch: halt trading for good and cancel every open order."""
        if self.killed:
            return
        self.killed = reason
        self.halt(f"kill switch: {reason}")
        if self._on_kill is not None:
            self._on_kill(reason)

    def check_order(self, order: Order, position: Decimal, open_orders: list[Order], price: Decimal | None) -> str:
        """Why ``order`` must be rejected, or ``""`` to accept it.

        :param position: current signed position in the order's symbol.
        :param open_orders: orders working now.
        :param price: reference price for market orders (last trade or quote).
        """
        limits = self.limits
        now = self.clock.now_ns()
        if self._active:
            return f"trading halted: {self.halt_reason}"
        # Replay time is event time: the current event is never stale.
        if not self.clock.virtual and self.last_event_ns and now - self.last_event_ns > limits.stale_after_s * 1e9:
            return f"stale data: last market event {(now - self.last_event_ns) / 1e9:.1f} s ago"
        rate = self._bucket if limits.max_orders_per_second is not None else None
        return _order_rules(limits, order, position, open_orders, price, rate, now, "")

    def check_venue(self, order: Order, position: Decimal, open_orders: list[Order], price: Decimal | None) -> str:
        """Why ``order`` breaks its venue's :class:`VenueLimits`, or ``""`` (after
        :meth:`check_order`, with the position and open orders on the order's venue)."""
        limits = self.limits.venues.get(order.venue)
        if limits is None:
            return ""
        return _order_rules(limits, order, position, open_orders, price, self._venue_buckets.get(order.venue),
                            self.clock.now_ns(), f" on {order.venue}")

    @property
    def watches_equity(self) -> bool:
        """Whether a loss limit is set, so equity must be marked on every trade."""
        return self.limits.max_daily_loss is not None or self.limits.max_drawdown is not None

    def on_equity(self, equity: Decimal, now_ns: int) -> None:
        """Mark-to-market equity (after fills and periodically); trips loss limits."""
        limits = self.limits
        day = now_ns // 86_400_000_000_000
        if self._day_start is None or self._day_start[0] != day:
            self._day_start = (day, equity)
        if self._peak_equity is None or equity > self._peak_equity:
            self._peak_equity = equity
        if limits.max_daily_loss is not None and self._day_start[1] - equity > limits.max_daily_loss:
            self.kill(f"daily loss {self._day_start[1] - equity} > {limits.max_daily_loss}")
        elif limits.max_drawdown is not None and self._peak_equity - equity > limits.max_drawdown:
            self.kill(f"drawdown {self._peak_equity - equity} > {limits.max_drawdown}")

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The risk task: watches for stale data on a live clock; runs until cancelled."""
        task_status.started()
        if self.clock.virtual:
            await anyio.sleep_forever()
        stale_ns = int(self.limits.stale_after_s * 1e9)
        self.last_event_ns = self.last_event_ns or self.clock.now_ns()
        while True:
            await anyio.sleep(self.limits.stale_after_s / 4)
            age = self.clock.now_ns() - self.last_event_ns
            if age > stale_ns:
                if _STALE not in self._active and self._on_stale is not None:
                    self._on_stale(f"no market event for {age / 1e9:.1f} s")
                self.halt(_STALE)
            else:
                self.resume(_STALE)


def _order_rules(limits: RiskLimits | VenueLimits, order: Order, position: Decimal, open_orders: list[Order],
                 price: Decimal | None, rate: TokenBucket | None, now: int, where: str) -> str:
    """The order rules of ``limits`` (``where``: the venue they hold on, for the reason)."""
    if limits.max_open_orders is not None and len(open_orders) >= limits.max_open_orders:
        return f"max open orders{where}: {len(open_orders)} working, limit {limits.max_open_orders}"
    ref = order.price if order.price is not None else price
    if limits.max_order_notional is not None and ref is not None and ref * order.size > limits.max_order_notional:
        return f"max order notional{where}: {ref * order.size} > {limits.max_order_notional}"
    if limits.max_position is not None:
        same_side = sum((o.size for o in open_orders if o.symbol == order.symbol and o.side is order.side), Decimal(0))
        signed = order.size + same_side if order.side is Side.BUY else -(order.size + same_side)
        after = position + signed
        if abs(after) > limits.max_position and abs(after) > abs(position):
            return f"max position{where}: {order.symbol} would reach {after}, limit {limits.max_position}"
    if rate is not None and not rate.take(now):
        return f"max orders per second{where}: limit {limits.max_orders_per_second}"
    return ""
