"""The strategy task: pulls batches from the bus and calls the strategy's hooks in order.

This is the engine's hot loop; per event it does one dict lookup, one clock update,
one timer check and the hook call.
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus

from . import _failpoints
from ._books import Books
from ._bus import Subscription
from ._clock import Clock, VirtualClock
from ._events import (
    MARKET_EVENT_TYPES,
    BookDelta,
    BookSnapshot,
    BrokerWake,
    Event,
    FeedStatus,
    Gap,
    Quote,
    Timer,
    Trade,
)
from ._exceptions import ConfigError, HookTimeout, StrategyError, UsageError
from ._orders import Fill, OrderUpdate
from ._strategy import CHANNELS, HOOKS, Strategy, attach
from ._suggest import nearest as _nearest
from ._timers import Timers
from ._watchdog import BLOCK_WARN_S, HOOK_TIMEOUT_S, Watchdog
from .execution._broker import LiveBroker
from .execution._market import MarketState
from .execution._risk import RiskManager
from .execution._router import OrderRouter
from .execution._tracker import VenueBalances

if TYPE_CHECKING:
    from .journal import Journal

__all__ = ["StrategyRunner", "subscription_types"]

_ON_STOP_TIMEOUT_S = 10.0
_END_PASSES = 3  # the stop's own results, then refusals of what hooks sent in answer


def _overrides(strategy: Strategy, hook: str) -> bool:
    return getattr(type(strategy), hook) is not getattr(Strategy, hook)


def subscription_types(strategy: Strategy) -> frozenset[type]:
    """Event types the strategy subscribes to (declared channels, else overridden hooks).

    :raises ConfigError: if a declared channel is unknown.
    """
    channels = strategy.channels or tuple(c for c, (_, hook) in CHANNELS.items() if _overrides(strategy, hook))
    types: set[type] = set()
    for channel in channels:
        if channel not in CHANNELS:
            raise ConfigError(
                f"{type(strategy).__name__}.channels: unknown channel {channel!r}{_nearest(channel, CHANNELS)}; "
                f"use any of {', '.join(CHANNELS)}"
            )
        types.update(CHANNELS[channel][0])
    return frozenset(types)


class StrategyRunner:
    """Runs one strategy: hooks, timers, the market state, errors, stop requests. It is
    the strategy's :class:`~botkit._strategy.StrategyContext`.

    :param market: kept current here, event by event, before each hook runs.
    :param venue_markets: a strategy trading several venues: venue -> that venue's market
        state, kept current here too (``market`` then holds the latest of any venue).
    """

    def __init__(
        self,
        strategy: Strategy,
        subscription: Subscription,
        clock: Clock,
        risk: RiskManager,
        router: OrderRouter,
        market: MarketState,
        *,
        max_errors: int = 0,
        hook_timeout_s: float = HOOK_TIMEOUT_S,
        block_warn_s: float = BLOCK_WARN_S,
        venue_markets: dict[str, MarketState] | None = None,
    ) -> None:
        self.strategy = strategy
        self.subscription = subscription
        self.clock = clock
        self.risk = risk
        self.router = router
        self.market = market
        self._markets = venue_markets or {}
        # venue -> its last trade prices and last quotes (None: one venue, ``market``'s).
        self._venue_prices = (_ByVenue({v: m.last_prices for v, m in venue_markets.items()})
                              if venue_markets else None)
        self._venue_quotes = (_ByVenue({v: m.last_quotes for v, m in venue_markets.items()})
                              if venue_markets else None)
        #: Each symbol's order book, kept from the book events as they are dispatched.
        self.books = Books()
        self.max_errors = max_errors
        self.log = logging.getLogger(f"botkit.strategy.{type(strategy).__name__}")
        self.timers = Timers()
        # The clock the dispatch loops move with the events (None: a wall clock).
        self._event_clock = clock if isinstance(clock, VirtualClock) else None
        self.counts: Counter[type] = Counter()
        self.errors = 0
        self._error_kinds: dict[tuple[str, type], int] = {}
        self.unprocessed = 0
        self.stop_reason = ""
        self.first_ts = 0
        self.last_ts = 0
        #: The strategy's ``self.state``: saved in the journal (when there is one) after
        #: on_start, at each fill, timer tick and stop, and restored from it.
        self.state: dict[str, Any] = {}
        #: The run continues a journaled one (``self.restored``).
        self.restored = False
        self.journal: Journal | None = None
        attach(strategy, self)
        self._live = router.broker if isinstance(router.broker, LiveBroker) else None
        # event type -> bound hook, split by plain / async def so the hot loop never asks.
        self._sync: dict[type, Callable[[Any], Any]] = {}
        self._async: dict[type, Callable[[Any], Any]] = {}
        self._hooks = {t: hook for _, (types, hook) in CHANNELS.items() for t in types}
        self._hooks[Timer] = "on_timer"
        self._hooks[FeedStatus] = "on_status"
        self._hooks[Gap] = "on_gap"
        self._hooks[OrderUpdate] = "on_order"
        self._hooks[Fill] = "on_fill"
        for event_type, hook in self._hooks.items():
            if _overrides(strategy, hook):
                method = getattr(strategy, hook)
                table = self._async if inspect.iscoroutinefunction(method) else self._sync
                table[event_type] = method
        #: Things about the strategy the user should know (a misspelt hook...).
        self.warnings = [f"{type(strategy).__name__}.{name} is not a hook botkit calls{_nearest(name, HOOKS)}"
                         for name in _hook_like(strategy)]
        for warning in self.warnings:
            self.log.warning("%s", warning)
        codes = {hook: getattr(type(strategy), hook).__code__
                 for hook in {*self._hooks.values(), "on_start", "on_stop"}
                 if _overrides(strategy, hook) and hasattr(getattr(type(strategy), hook), "__code__")}
        #: Names stuck async hooks and plain hooks that block the loop (its task runs in
        #: the engine's group).
        self.watchdog = Watchdog(codes, hook_timeout_s=hook_timeout_s, block_warn_s=block_warn_s,
                                 on_stuck=lambda reason: risk.halt(f"hook stuck: {reason}"))

    def venue_market(self, venue: str) -> MarketState:
        """What ``venue``'s market last showed (a strategy watching one venue: ``market``).

        :raises UsageError: the strategy does not watch ``venue``.
        """
        market = self._markets.get(venue)
        if market is not None:
            return market
        if not self._markets and venue == self.router.venue:
            return self.market
        watched = ", ".join(self._markets) or self.router.venue
        raise UsageError(f"{type(self.strategy).__name__} watches no venue {venue!r} (its venues: {watched})")

    def counts_by_name(self) -> dict[str, int]:
        """Events delivered so far, by type name (sorted): the summary's ``events_by_type``."""
        return {t.__name__: n for t, n in sorted(self.counts.items(), key=lambda kv: kv[0].__name__)}

    def request_stop(self, reason: str) -> None:
        """Stop after the current event (first reason wins)."""
        if not self.stop_reason:
            self.stop_reason = reason
        self.watchdog.stopping()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The strategy task: runs until the bus ends, a stop is requested, or an error."""
        task_status.started()
        started = False
        try:
            if not self.clock.virtual:
                if isinstance(self.router.broker, LiveBroker):
                    # Orders, balances and fills are reconciled with the venue first.
                    await self.router.broker.wait_ready()
                started = True
                await self._call("on_start", self.strategy.on_start, None)
                await self._deliver_broker()
                self._journal_ready()
            while not self.stop_reason:
                batch = await self._next_batch()
                if batch is None:
                    break
                if not batch:
                    continue
                if not started:
                    started = True
                    self.clock.advance(batch[0].ts_recv)
                    await self._call("on_start", self.strategy.on_start, None)
                    await self._deliver()
                    self._journal_ready()
                await self._dispatch(batch)
        finally:
            self.unprocessed += self.subscription.discard()
            if started:
                with anyio.move_on_after(_ON_STOP_TIMEOUT_S, shield=True):
                    await self._call("on_stop", self.strategy.on_stop, None, fatal=False)
            # Orders still working are cancelled (in-flight ones delivered first), so
            # nothing is left open at the venue and the final portfolio is complete.
            if isinstance(self.router.broker, LiveBroker):
                with anyio.CancelScope(shield=True):
                    await self.router.settle()
            self.router.finish()
            if started:
                with anyio.move_on_after(_ON_STOP_TIMEOUT_S, shield=True):
                    await self._tell_the_end()
            journal = self.journal
            if journal is not None:
                for item in self.router.outbox:  # not told: a hook's refusals beyond the last pass, or not started
                    self._journal(journal, item)
                if started:
                    journal.state(self.state, "stop", self.clock.now_ns())
            self.router.outbox.clear()

    async def _tell_the_end(self) -> None:
        """What the stop settled (orders cancelled, last fills) reaches ``on_order`` and
        ``on_fill`` after ``on_stop``, so the strategy and its state know the whole run.
        Orders are refused from here on; what a hook does about a refusal is told in at
        most two more passes."""
        self.router.closed = "the run is stopping: order not sent"
        outbox, journal = self.router.outbox, self.journal
        for _ in range(_END_PASSES):
            items = list(outbox)
            if not items:
                return
            outbox.clear()
            for item in items:
                method = self._sync.get(type(item)) or self._async.get(type(item))
                if method is not None:
                    await self._call(self._hooks[type(item)], method, item, fatal=False)
                if journal is not None:
                    self._journal(journal, item)

    def _journal_ready(self) -> None:
        """Restored, reconciled and started: the state ``on_start`` left is saved with it."""
        if self.journal is not None:
            now = self.clock.now_ns()
            self.journal.state(self.state, "start", now)
            self.journal.ready(now)

    async def _next_batch(self) -> list[Event] | None:
        if self.clock.virtual or not len(self.timers):
            return await self.subscription.get()
        delay = (self.timers.next_due - self.clock.now_ns()) / 1e9
        with anyio.move_on_after(max(delay, 0.0)):
            return await self.subscription.get()
        await self._fire_timers(self.clock.now_ns())
        return []

    async def _dispatch(self, batch: list[Event]) -> None:
        # Hot loop: locals only; stop requests can only come from a hook or an await,
        # so the stop flag is checked after those, not before every event.
        sync_get = self._sync.get
        async_handlers = self._async
        timers = self.timers
        last_prices = self.market.last_prices
        last_quotes = self.market.last_quotes
        venue_prices = self._venue_prices
        venue_quotes = self._venue_quotes
        books = self.books
        on_book = books.on_book
        counts = self.counts
        router = self.router
        broker = router.broker
        record_prices = router.record_prices
        clock = self._event_clock
        # Runs of plain trades (the bulk of a feed) take _trade_run's shorter loop.
        fast = not record_prices and Trade not in async_handlers
        on_trade = sync_get(Trade)
        n = len(batch)
        done = 0
        while done < n:
            if fast and type(batch[done]) is Trade:
                done = self._trade_run(batch, done, on_trade)
                if router.outbox:
                    await self._deliver()
                if self.stop_reason or done >= n:
                    break
            # Anything else, one event: other types, a timer or sample due, the broker
            # working an order.
            event = batch[done]
            ts = event.ts_recv
            if timers.next_due <= ts:
                await self._fire_timers(ts)
                if self.stop_reason:
                    break
            if clock is not None and ts > clock.ns:
                clock.ns = ts
            event_type = type(event)
            if broker.busy:
                router.on_market(event)
                if router.outbox:
                    await self._deliver()
            if event_type is BrokerWake:
                done += 1
                if self.stop_reason:
                    break
                continue
            if event_type is Trade:
                last_prices[event.symbol] = event.price  # type: ignore[union-attr]
                if venue_prices is not None:
                    venue_prices[event.venue][event.symbol] = event.price  # type: ignore[union-attr]
                if ts >= router.sample_due:
                    router.maybe_sample(ts)
                if record_prices:
                    router.sample_price(event.price, ts)  # type: ignore[union-attr]
            elif event_type is Quote:
                last_quotes[event.symbol] = event  # type: ignore[union-attr,assignment]
                if venue_quotes is not None:
                    venue_quotes[event.venue][event.symbol] = event  # type: ignore[union-attr]
            elif event_type is BookDelta or event_type is BookSnapshot:
                on_book(event)  # type: ignore[arg-type]
            elif event_type is Gap:
                books.on_gap(event)  # type: ignore[arg-type]
            elif event_type is FeedStatus:
                self.risk.on_feed_status(event)  # type: ignore[arg-type]
            done += 1
            counts[event_type] += 1
            method = sync_get(event_type)
            completed = True
            try:
                if method is not None:
                    method(event)
                elif event_type in async_handlers:
                    completed = await self._await(self._hooks[event_type], async_handlers[event_type](event))
                else:
                    continue
            except Exception as exc:
                self._failed(self._hooks[event_type], exc)
            if not completed:
                self._stuck(self._hooks[event_type])
            if router.outbox:
                await self._deliver()
            if self.stop_reason:
                break
        self.unprocessed += n - done
        if done:
            last = batch[done - 1].ts_recv
            if not self.first_ts:
                self.first_ts = batch[0].ts_recv
            self.last_ts = last
            if type(batch[done - 1]) in MARKET_EVENT_TYPES:
                self.risk.last_event_ns = last

    def _trade_run(self, batch: list[Event], i: int, on_trade: Callable[[Any], Any] | None) -> int:
        """The plain trades from ``batch[i]`` on (no timer or equity sample due, the
        broker idle, no price recording) with a plain ``def on_trade`` or none: what
        :meth:`_dispatch` does for them, in fewer steps. Returns the index of the first
        event left to it (also after a hook that sent an order or asked to stop)."""
        timers = self.timers
        router = self.router
        broker = router.broker
        last_prices = self.market.last_prices
        venue_prices = self._venue_prices
        clock = self._event_clock
        start, n = i, len(batch)
        while i < n:
            event = batch[i]
            ts = event.ts_recv
            if type(event) is not Trade or ts >= timers.next_due or ts >= router.sample_due or broker.busy:
                break
            if clock is not None and ts > clock.ns:
                clock.ns = ts
            last_prices[event.symbol] = event.price
            if venue_prices is not None:
                venue_prices[event.venue][event.symbol] = event.price
            i += 1
            if on_trade is not None:
                try:
                    on_trade(event)
                except Exception as exc:
                    self._failed("on_trade", exc)
                if router.outbox or self.stop_reason:
                    break
        self.counts[Trade] += i - start
        return i

    async def _deliver_broker(self) -> None:
        if self.router.broker.busy:
            self.router.on_market(BrokerWake(self.router.venue, self.clock.now_ns()))
        await self._deliver()

    async def _deliver(self) -> None:
        """Hand order updates and fills to on_order / on_fill, in order (hooks may add more)."""
        outbox = self.router.outbox
        if self._live is not None:
            # The orders a hook just sent go on the socket from this task, now: not after
            # the scheduler has run the feed's next batch.
            await self._live.send_now()
        journal = self.journal
        filled = False
        while outbox:
            item = outbox.pop(0)
            method = self._sync.get(type(item)) or self._async.get(type(item))
            if method is not None:
                await self._call(self._hooks[type(item)], method, item)
            if journal is not None:
                filled |= self._journal(journal, item)
        if filled:
            journal.flush()  # type: ignore[union-attr]  # a fill (and the state after it) is saved when told

    def _journal(self, journal: Journal, item: OrderUpdate | Fill | VenueBalances) -> bool:
        """After its hook: a fill with the state that hook left (they commit together).
        True for a fill."""
        if type(item) is Fill:
            if _failpoints.ARMED:
                _failpoints.hit("fill")
            journal.state(self.state, "fill", item.ts_recv)  # first: it may refuse a value JSON cannot hold
            journal.fill(item)
            return True
        if type(item) is OrderUpdate:
            journal.update(item)
        else:
            journal.balances(item.balances, item.first, self.clock.now_ns())  # type: ignore[union-attr]
        return False

    async def _fire_timers(self, now_ns: int) -> None:
        while not self.stop_reason and (due := self.timers.pop_due(now_ns)) is not None:
            name, due_ns = due
            self.clock.advance(due_ns)
            timer = Timer(name, due_ns)
            self.counts[Timer] += 1
            method = self._sync.get(Timer) or self._async.get(Timer)
            if method is not None:
                await self._call("on_timer", method, timer)
                if self.router.outbox:
                    await self._deliver()
            if self.journal is not None:
                self.journal.state(self.state, "timer", due_ns)
                self.journal.flush()

    async def _call(self, hook: str, method: Callable[..., Any], arg: Any, *, fatal: bool = True) -> None:
        completed = True
        try:
            result = method() if arg is None else method(arg)
            if inspect.isawaitable(result):
                completed = await self._await(hook, result)
        except Exception as exc:
            if fatal:
                self._failed(hook, exc)
            else:
                self.errors += 1
                self.log.error("%s raised %s", hook, _describe(exc), exc_info=exc)
        if not completed and fatal:
            self._stuck(hook)

    async def _await(self, hook: str, awaitable: Awaitable[Any]) -> bool:
        """Await an async hook under the watchdog; False if it had to cancel it."""
        watchdog = self.watchdog
        with anyio.CancelScope() as scope:
            watchdog.awaiting(hook, scope)
            try:
                await awaitable
            finally:
                watchdog.awaiting(hook, None)
        return not scope.cancelled_caught

    def _stuck(self, hook: str) -> None:
        self.errors += 1
        raise HookTimeout(type(self.strategy).__name__, hook, self.watchdog.cancelled)

    def _failed(self, hook: str, exc: Exception) -> None:
        self.errors += 1
        name = type(self.strategy).__name__
        if self.errors > self.max_errors:
            raise StrategyError(name, hook, _describe(exc)) from exc
        # The first of each kind in full; repeats counted, and said at 10, 100, 1000...
        key = (hook, type(exc))
        seen = self._error_kinds[key] = self._error_kinds.get(key, 0) + 1
        if seen == 1:
            self.log.error("%s raised %s (error %d of %d allowed)", hook, _describe(exc), self.errors,
                           self.max_errors, exc_info=exc)
        elif _power_of_ten(seen):
            self.log.error("%s raised %s again: %d times so far (%d errors of %d allowed); repeats are not logged",
                           hook, type(exc).__name__, seen, self.errors, self.max_errors)
        self.risk.on_strategy_error(hook, _describe(exc))


class _ByVenue(dict[str, dict[str, Any]]):
    """venue -> a market state's mapping; a venue the strategy does not watch (a recording
    holding more venues than its feeds) gets a throwaway one."""

    def __missing__(self, venue: str) -> dict[str, Any]:
        return {}


def _hook_like(strategy: Strategy) -> list[str]:
    """Methods of the strategy's classes named like a hook that is not one (``on_trades``)."""
    names: list[str] = []
    for cls in type(strategy).__mro__:
        if cls is Strategy or cls is object:
            break
        names += [n for n, v in vars(cls).items() if n.startswith("on_") and callable(v) and n not in HOOKS
                  and n not in names]
    return names


def _power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
