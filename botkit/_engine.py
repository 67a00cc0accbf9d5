"""The engine: one anyio task group holding the feed, risk and strategy tasks."""

from __future__ import annotations

import functools
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from ._bus import EventBus, Subscription
from ._clock import Clock, LiveClock, VirtualClock
from ._events import BrokerWake
from ._exceptions import BotkitError, BotkitInternalError, JournalError, UsageError, leaf_errors
from ._runner import StrategyRunner, subscription_types
from ._strategy import Strategy, strategy_feeds
from ._suggest import nearest
from ._symbols import normalise_symbol, split_symbol
from ._watchdog import BLOCK_WARN_S, HOOK_TIMEOUT_S
from .execution._accounts import Account, AccountSettings, VenueBrokers, summed_cash, venue_cash_key
from .execution._broker import Broker, LiveBroker
from .execution._instruments import Instrument
from .execution._journaling import RestorableBroker
from .execution._market import MarketState
from .execution._metrics import trading_report
from .execution._paper import PaperBroker, PaperConfig
from .execution._portfolio import Portfolio
from .execution._risk import RiskLimits, RiskManager
from .execution._router import OrderRouter
from .protocol import VENUES
from .sources import EventSource
from .sources._base import FEED_COUNTERS, FeedStats

if TYPE_CHECKING:
    from .journal import Journal

__all__ = ["Engine", "RunSummary"]

log = logging.getLogger("botkit.engine")

#: The halt reason of :meth:`Engine.pause`.
PAUSED = "paused"


@attrs.frozen
class RunSummary:
    """What a run did. ``botkit ... --json`` prints exactly this as one JSON object."""

    events: int
    events_by_type: dict[str, int]
    events_per_s: float
    strategy_errors: int
    elapsed_s: float
    frames: int
    parse_errors: int
    ignored_frames: int
    gaps: int
    duplicates: int
    reconnects: int
    stale_detections: int
    conflated: int
    backpressure_waits: int
    unprocessed: int
    stopped_by: str
    halts: list[dict[str, Any]]
    source: str
    first_event_ns: int
    last_event_ns: int
    trading: dict[str, Any] = attrs.field(factory=dict)
    error: str = ""
    #: Trades dropped because their id jumped far and the next trade did not follow.
    outliers: int = 0
    #: One line per thing about the data or the run the user should know.
    warnings: list[str] = attrs.field(factory=list)
    #: Per venue: the feed counters above (frames, parse_errors, ignored_frames, gaps,
    #: duplicates, outliers, reconnects, stale_detections), summed over its feeds.
    feeds: dict[str, dict[str, int]] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-ready)."""
        return attrs.asdict(self)


class Engine:
    """Runs a strategy on an event source until the source ends or the engine is stopped.

    Example::

        engine = Engine(Scalper(), ReplaySource("data.txt.gz"))
        summary = await engine.run()          # or: anyio.run(engine.run, backend="trio")
        print(summary.events_per_s)

    The engine owns ONE task group: the risk task and the strategy task start first
    (consumers before the producer), then the feed task. Whichever task fails first
    cancels the others, and :meth:`run` raises that error (a :class:`BotkitError`);
    :meth:`stop` (or SIGINT/SIGTERM with ``handle_signals``) ends the run cleanly:
    the feed stops, the strategy's ``on_stop`` runs, and :meth:`run` returns.

    :param strategy: the strategy instance.
    :param source: where events come from; a replay source gets a virtual clock.
    :param broker: where orders go (a :class:`~botkit.execution.Broker`); default a
        :class:`~botkit.execution.PaperBroker` with the ``paper`` settings.
    :param clock: override the clock (default: by source kind).
    :param risk: risk limits.
    :param max_strategy_errors: hook exceptions tolerated (logged, counted, trading
        halted) before the run fails with :class:`StrategyError`; 0 = first one fails.
    :param queue_capacity: batches buffered between feed and strategy before the
        overflow policy of :mod:`botkit._bus` applies.
    :param handle_signals: turn SIGINT/SIGTERM into a clean stop and SIGUSR1 into the
        manual kill switch (main thread only).
    :param paper: simulated execution settings (latency, slippage, fees).
    :param starting_cash: cash per asset (default 10,000 of ``quote_asset``).
    :param instruments: tick/lot/min-notional per symbol (default: inferred).
    :param quote_asset: asset equity and P&L are measured in.
    :param venue: the venue traded (orders and fills are labelled with it); default
        the strategy's ``venue``.
    :param record_prices: keep a once-a-second price series (for ``--report`` plots).
    :param hook_timeout_s: an ``async`` hook still awaiting after this long is cancelled,
        trading halts and the run fails naming it (see :mod:`botkit._watchdog`).
    :param block_warn_s: a plain hook holding the event loop this long in one call is
        warned about by name (0: not watched).
    :param journal: a :class:`~botkit.journal.Journal` to write everything to; one that
        holds earlier runs is restored from first (portfolio, open orders, the
        strategy's ``state``), before the venue is reconciled and ``on_start`` runs.
        The engine closes it at the end of the run.
    :param accounts: a strategy whose :attr:`~botkit.Strategy.feeds` name several venues
        trades on each from an account of its own (a paper broker, cash, positions);
        venue -> :class:`~botkit.AccountSettings` sets one's starting cash and paper
        settings (default: ``starting_cash``, or 10,000 of the venue's quote asset, and
        ``paper``). With ``broker=`` (a live broker) such a strategy trades on ``venue``
        alone, from that broker's account, and watches the other feeds.
    """

    def __init__(
        self,
        strategy: Strategy,
        source: EventSource,
        *,
        clock: Clock | None = None,
        risk: RiskLimits | None = None,
        max_strategy_errors: int = 0,
        queue_capacity: int = 64,
        handle_signals: bool = False,
        paper: PaperConfig | None = None,
        starting_cash: dict[str, Decimal] | None = None,
        instruments: dict[str, Instrument] | None = None,
        quote_asset: str = "USDT",
        broker: Broker | None = None,
        venue: str | None = None,
        record_prices: bool = False,
        hook_timeout_s: float = HOOK_TIMEOUT_S,
        block_warn_s: float = BLOCK_WARN_S,
        journal: Journal | None = None,
        accounts: dict[str, AccountSettings] | None = None,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise TypeError(f"strategy must be a botkit.Strategy instance, got {type(strategy).__name__}")
        if broker is not None and paper is not None:
            raise UsageError("paper= configures the default paper broker; configure the broker you pass instead")
        self.strategy = strategy
        self.source = source
        self.clock = clock or (VirtualClock() if source.replay else LiveClock())
        self.bus = EventBus()
        symbols = tuple(normalise_symbol(s) for s in strategy.symbols) or None
        self.subscription = self.bus.subscribe(
            Subscription(subscription_types(strategy), symbols, capacity=queue_capacity, conflate=not source.replay)
        )
        self.risk = RiskManager(self.clock, risk, on_kill=self._on_kill, on_stale=self._on_stale)
        cash = starting_cash if starting_cash is not None else {quote_asset: Decimal(10_000)}
        if any(amount < 0 for amount in cash.values()):
            raise UsageError(f"starting cash must be >= 0, got {cash}")
        self.market = MarketState()
        venue = venue or strategy.venue
        feed_venues = list(dict.fromkeys(feed.venue for feed in strategy_feeds(strategy)))
        several = len(feed_venues) > 1
        venues = feed_venues if several else [venue]
        if several and broker is not None and venue not in venues:
            raise UsageError(f"broker= trades on {venue!r}, which {type(strategy).__name__} does not watch (its "
                             f"venues: {', '.join(venues)})")
        for what, named in (("accounts", accounts or {}), ("risk limits", self.risk.limits.venues)):
            unknown = sorted(set(named) - set(venues))
            if unknown:
                raise UsageError(f"{what}: {type(strategy).__name__} trades on no venue {unknown[0]!r} (its "
                                 f"venues: {', '.join(venues)})")
        paper = paper or PaperConfig()
        # venue -> what its market last showed, for a strategy watching several.
        markets = {v: MarketState() for v in venues} if several else None
        #: venue -> its account, for a strategy trading several on paper (else None: one
        #: account; with a given broker, on ``venue`` alone, the other feeds watched).
        self.accounts: dict[str, Account] | None = None
        if markets is not None and broker is None:
            self.accounts = _accounts(strategy, markets, accounts or {}, paper, starting_cash, quote_asset)
            self.broker: Broker = VenueBrokers(self.accounts)
            quote_asset = "+".join(dict.fromkeys(a.quote_asset for a in self.accounts.values()))  # summed at par
            cash = summed_cash(a.portfolio.cash for a in self.accounts.values())
            venue = venue if venue in self.accounts else venues[0]
        else:
            given = (accounts or {}).get(venue)
            if given is not None and given.starting_cash is not None:
                cash = given.starting_cash
            if given is not None and given.paper is not None and broker is None:
                paper = given.paper
            self.broker = broker if broker is not None else PaperBroker(paper, venue)
        definition = VENUES.get(venue)
        if isinstance(self.broker, LiveBroker):
            # One mapping: the router rounds and checks with the rules the broker loads
            # from the venue at connect (they replace configured ones).
            shared = self.broker.instruments
            for symbol, rules in (instruments or {}).items():
                shared.setdefault(symbol, rules)
            instruments = shared
        self.router = OrderRouter(
            # One account on one of several venues is marked and filled on that venue's market.
            self.clock, self.risk, self.broker, Portfolio(cash),
            markets[venue] if markets is not None and self.accounts is None else self.market,
            venue=venue, instruments=instruments, quote_asset=quote_asset, record_prices=record_prices,
            spot_account=not (paper.margin or (definition is not None and definition.derivatives)),
            fee_reserve_bps=max(paper.taker_fee_bps, paper.maker_fee_bps),
            id_prefix=self.broker.id_prefix if isinstance(self.broker, LiveBroker) else "bk-",
            accounts=self.accounts,
        )
        self.runner = StrategyRunner(
            strategy, self.subscription, self.clock, self.risk, self.router, self.market,
            max_errors=max_strategy_errors, hook_timeout_s=hook_timeout_s, block_warn_s=block_warn_s,
            venue_markets=markets,
        )
        self.journal = journal
        if journal is not None:
            self.router.journal = journal
            self.runner.journal = journal
            if isinstance(self.broker, LiveBroker):
                self.broker.journal = journal
        #: What the journal gave back at the start ("" when nothing: a new journal or none).
        self.restored_from = ""
        self.handle_signals = handle_signals
        self._feed_scope: anyio.CancelScope | None = None
        self._group_scope: anyio.CancelScope | None = None
        self._stopped_by = ""
        self._feed_error: BotkitError | None = None
        self._ran = False
        self._started = 0.0
        self._halts_journaled = 0
        self._lifts_journaled: set[int] = set()

    @property
    def mode(self) -> str:
        """``backtest`` (a replay's virtual clock), ``live`` (real orders) or ``paper``."""
        return "backtest" if self.clock.virtual else "live" if isinstance(self.broker, LiveBroker) else "paper"

    def kill_switch(self, reason: str = "manual") -> None:
        """Trip the kill switch: cancel every open order and halt trading for the run."""
        self.risk.kill(reason)

    @property
    def paused(self) -> bool:
        """Whether new orders are paused by :meth:`pause`."""
        return PAUSED in self.risk.active_halts

    def pause(self) -> None:
        """Refuse new orders (each is rejected, reason "trading halted: paused") until
        :meth:`resume`; working orders stay. Recorded as a halt (and in the journal)."""
        self.risk.halt(PAUSED)

    def resume(self) -> None:
        """Lift :meth:`pause` (other halts, the kill switch's among them, stay)."""
        self.risk.resume(PAUSED)

    def cancel_all(self, reason: str = "manual") -> int:
        """Cancel every open order (trading goes on); returns how many cancels were sent
        and writes the action to the journal when one is open."""
        cancelled = self.router.cancel_all()
        log.warning("cancel all (%s): %d open orders", reason, cancelled)
        if self.journal is not None:
            self.journal.risk_event("cancel_all", f"{reason}: {cancelled} orders", self.clock.now_ns())
        return cancelled

    def _on_kill(self, reason: str) -> None:
        if self.journal is not None:
            self.journal.risk_event("kill", reason, self.clock.now_ns())
        self.router.kill(reason)

    def _on_stale(self, reason: str) -> None:
        if isinstance(self.broker, LiveBroker):
            log.error("stale data (%s): cancelling every open order at the venue", reason)
            self.broker.cancel_everything()

    async def _wake(self) -> None:
        """A live broker has updates: an engine event gets the strategy task to them."""
        try:
            await self.bus.publish([BrokerWake(self.router.venue, self.clock.now_ns())])
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # the run is ending: the strategy task collects them when it settles

    def stop(self, reason: str = "stop requested") -> None:
        """Stop the run cleanly (safe to call from any task of the engine's loop)."""
        if not self._stopped_by:
            self._stopped_by = reason
        self.runner.request_stop(reason)
        if self._feed_scope is not None:
            self._feed_scope.cancel()

    async def run(
        self,
        *,
        monitors: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        services: Sequence[Callable[..., Coroutine[Any, Any, None]]] = (),
    ) -> RunSummary:
        """Run to completion and return the summary.

        :param monitors: extra observer tasks (e.g. a progress bar) run in the engine's
            task group and cancelled with it.
        :param services: tasks the feed depends on (e.g. the embedded exchange
            simulator), started with ``await tg.start(service)`` before the feed.
        :raises BotkitError: the first failure of any task (strategy error, corrupt
            data, feed failure), after every task has been cancelled.
        """
        if self._ran:
            raise BotkitError("an Engine runs once; create a new Engine for another run")
        self._ran = True
        self._started = time.perf_counter()
        if self.journal is not None:
            try:
                self._restore(self.journal)
            except BaseException:
                self.journal.close()  # refused: the file stays as it was, and unlocked
                raise
        try:
            async with anyio.create_task_group() as tg:
                self._group_scope = tg.cancel_scope
                if self.handle_signals:
                    await tg.start(self._signal_task)
                await tg.start(self.risk.run)
                await tg.start(self._strategy_task, tg.cancel_scope)
                tg.start_soon(self.runner.watchdog.run)
                for service in services:
                    await tg.start(service)
                if isinstance(self.broker, LiveBroker):
                    # Connected and reconciled before the feed starts (and on_start runs).
                    await tg.start(functools.partial(self.broker.run, self._wake))
                if self.journal is not None:
                    tg.start_soon(self.journal.run_writer, self._journal_risk)
                tg.start_soon(self._feed_task)
                for monitor in monitors:
                    tg.start_soon(monitor)
        except BaseExceptionGroup as group:
            error = _first_error(group)
            self._close_journal(f"error: {error}")
            raise error from error.__cause__
        except BaseException:
            self._close_journal("interrupted")
            raise
        self._close_journal(self._stopped_by or "end of data")
        summary = self._summary()
        for warning in self._missing_symbols():
            log.warning("%s", warning)
        return summary

    # -- the journal ---------------------------------------------------------------------

    def _restore(self, journal: Journal) -> None:
        """Continue what the journal holds (nothing, for a new one), then open this run in it."""
        contents = journal.read()
        name = type(self.strategy).__name__
        mode = self.mode
        # A run on several venues is journaled as "binance+coinbase", its starting cash
        # per venue and asset (below).
        venue = "+".join(self.accounts) if self.accounts else self.router.venue
        if contents.runs:
            last = contents.runs[-1]
            if mode == "backtest":
                raise JournalError(f"{journal.path} holds {len(contents.runs)} earlier runs: a backtest journals "
                                   "into a new file (the file is left as it is)")
            if (last["strategy"], last["venue"], last["mode"]) != (name, venue, mode):
                raise JournalError(f"{journal.path} is the journal of {last['strategy']} on {last['venue']} "
                                   f"({last['mode']}); this run is {name} on {venue} ({mode}): pass another "
                                   "--journal (the file is left as it is)")
            broker = self.broker
            if contents.open_orders and not isinstance(broker, RestorableBroker):
                raise JournalError(f"{journal.path} holds {len(contents.open_orders)} open orders, and "
                                   f"{type(broker).__name__} cannot take them back (it has no restore())")
            prefix = self.broker.id_prefix if isinstance(self.broker, LiveBroker) else "bk-"
            self.router.restore(contents.starting_cash, contents.history, contents.orders,
                                journal.last_id_number(prefix))
            if isinstance(broker, RestorableBroker):
                broker.restore(contents.open_orders, contents.last_trade_ids, self.router.instrument,
                               self.clock.now_ns())
            self.runner.state.update(contents.state or {})
            self.runner.restored = True
            fills = sum(1 for item in contents.history if type(item).__name__ == "Fill")
            runs, orders = len(contents.runs), len(contents.open_orders)
            self.restored_from = (f"restored {fills} fill{'s' * (fills != 1)}, {orders} open order"
                                  f"{'s' * (orders != 1)} and the strategy state from {runs} earlier "
                                  f"run{'s' * (runs != 1)}")
            log.warning("journal %s: %s", journal.path, self.restored_from)
            if any(e["kind"] == "kill" for e in contents.risk_events):
                log.warning("journal %s: the kill switch tripped in an earlier run", journal.path)
        endpoint = str(self.broker.report().get("endpoint", "")) if isinstance(self.broker, LiveBroker) \
            else self.source.describe()
        starting_cash = ({venue_cash_key(v, asset): amount for v, account in self.accounts.items()
                          for asset, amount in account.portfolio.starting_cash.items()}
                         if self.accounts else self.router.portfolio.starting_cash)
        journal.start_run(mode=mode, strategy=name, venue=venue, endpoint=endpoint,
                          id_prefix=self.broker.id_prefix if isinstance(self.broker, LiveBroker) else "bk-",
                          restored=bool(contents.runs), starting_cash=starting_cash,
                          ts_ns=self.clock.now_ns())

    def _journal_risk(self) -> None:
        """Halts and lifts since the last look (the journal task asks every 10 ms)."""
        journal = self.journal
        assert journal is not None
        for index, halt in enumerate(self.risk.halts):
            if index >= self._halts_journaled:
                journal.risk_event("halt", halt.reason, halt.ts)
            if halt.lifted_ts >= 0 and index not in self._lifts_journaled:
                self._lifts_journaled.add(index)
                journal.risk_event("lifted", halt.reason, halt.lifted_ts)
        self._halts_journaled = len(self.risk.halts)

    def _close_journal(self, reason: str) -> None:
        journal = self.journal
        if journal is None or not journal.run:
            return
        try:
            self._journal_risk()
            journal.stop_run(reason, self.clock.now_ns())
        finally:
            journal.close()

    def partial_summary(self, error: str) -> RunSummary:
        """The summary of a run that failed with ``error`` (what happened up to then)."""
        return attrs.evolve(self._summary(), error=error, stopped_by="error")

    async def _strategy_task(self, group_scope: anyio.CancelScope, *, task_status: Any) -> None:
        await self.runner.run(task_status=task_status)
        if self._feed_error is not None:  # after the strategy had every event before it
            raise self._feed_error
        if not self._stopped_by:
            self._stopped_by = self.runner.stop_reason or "end of data"
        # The strategy is done, so everything else (feed, risk, signals) is too.
        if self._feed_scope is not None:
            self._feed_scope.cancel()
        group_scope.cancel()

    async def _feed_task(self) -> None:
        with anyio.CancelScope() as scope:
            self._feed_scope = scope
            if self.runner.stop_reason:
                scope.cancel()
            try:
                await self.source.stream(self.bus.publish)
            except BotkitError as exc:
                # The feed cannot go on (corrupt data, a feed that failed for good): what
                # it published before still reaches the strategy, then the run fails.
                self._feed_error = exc
            finally:
                # On a stop the strategy discards what is queued (counted as unprocessed).
                await self.bus.aclose(flush=not scope.cancel_called)

    async def _signal_task(self, *, task_status: Any) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGUSR1) as signals:
            task_status.started()
            async for signum in signals:
                name = signal.Signals(signum).name
                if signum == signal.SIGUSR1:  # the operator's manual kill switch
                    self.kill_switch(f"manual ({name})")
                    continue
                if self._stopped_by and self._group_scope is not None:
                    # A hook is stuck in an await: cancel it (on_stop still runs, shielded).
                    log.warning("second %s: cancelling the strategy", name)
                    self._group_scope.cancel()
                else:
                    log.warning("%s received: stopping cleanly (again to force)", name)
                    self.stop(f"signal {name}")

    def _missing_symbols(self) -> list[str]:
        """A line per strategy symbol the data never held (a typo such as BTC-USTD)."""
        seen = self.source.stats.symbols
        if not seen:
            return []  # no market data at all: nothing to compare with
        wanted = [normalise_symbol(s) for s in self.strategy.symbols]
        return [f"{symbol} never appeared in the data{nearest(symbol, seen)}; it has {', '.join(seen[:5])}"
                + (" ..." if len(seen) > 5 else "") for symbol in wanted if symbol not in seen]

    def _summary(self) -> RunSummary:
        elapsed = time.perf_counter() - self._started if self._started else 0.0
        runner = self.runner
        counts = runner.counts_by_name()
        events = sum(counts.values())
        stats = self.source.stats
        return RunSummary(
            events=events,
            events_by_type=counts,
            events_per_s=round(events / elapsed, 1) if elapsed > 0 else 0.0,
            strategy_errors=runner.errors,
            elapsed_s=round(elapsed, 6),
            frames=stats.frames,
            parse_errors=stats.parse_errors,
            ignored_frames=stats.ignored_frames,
            gaps=stats.gaps,
            duplicates=stats.duplicates,
            reconnects=stats.reconnects,
            stale_detections=stats.stale_detections,
            conflated=self.subscription.stats.conflated,
            backpressure_waits=self.subscription.stats.backpressure_waits,
            unprocessed=runner.unprocessed,
            stopped_by=self._stopped_by or "end of data",
            halts=[attrs.asdict(h) for h in self.risk.halts],
            source=self.source.describe(),
            first_event_ns=runner.first_ts,
            last_event_ns=runner.last_ts,
            trading=trading_report(self.router, runner.first_ts, self.clock.now_ns()),
            outliers=stats.outliers,
            feeds=_per_venue(self.source.feeds()),
            warnings=[*stats.warnings, *runner.warnings, *self._missing_symbols(),
                      *(f"{hook} blocked the event loop for {seconds:.1f} s (a blocking call in a plain hook)"
                        for hook, seconds in runner.watchdog.blocked.items())],
        )


def _per_venue(feeds: list[FeedStats]) -> dict[str, dict[str, int]]:
    """The feeds' counters by venue (a venue with several feeds: summed)."""
    return {venue: {name: getattr(total, name) for name in FEED_COUNTERS}
            for venue, total in ((v, FeedStats.total(group)) for v, group in FeedStats.by_venue(feeds).items())}


def _accounts(strategy: Strategy, markets: dict[str, MarketState], settings: dict[str, AccountSettings],
              paper: PaperConfig, starting_cash: dict[str, Decimal] | None, quote_asset: str) -> dict[str, Account]:
    """One paper account per venue of a strategy trading several, each counted in its
    symbols' quote asset (``quote_asset`` where they have none in common)."""
    accounts: dict[str, Account] = {}
    for feed in strategy_feeds(strategy):
        if feed.venue in accounts:
            continue
        quotes = {split_symbol(normalise_symbol(symbol))[1] for symbol in feed.symbols}
        quote = quotes.pop() if len(quotes) == 1 and "QUOTE" not in quotes else quote_asset
        given = settings.get(feed.venue, AccountSettings())
        cash = given.starting_cash if given.starting_cash is not None else (
            starting_cash if starting_cash is not None else {quote: Decimal(10_000)})
        if any(amount < 0 for amount in cash.values()):
            raise UsageError(f"starting cash on {feed.venue} must be >= 0, got {cash}")
        venue_paper = given.paper or paper
        definition = VENUES.get(feed.venue)
        spot = not (venue_paper.margin or (definition is not None and definition.derivatives))
        accounts[feed.venue] = Account(feed.venue, PaperBroker(venue_paper, feed.venue), Portfolio(cash),
                                       markets[feed.venue], quote, spot,
                                       max(venue_paper.taker_fee_bps, venue_paper.maker_fee_bps))
    return accounts


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The error that ended the run, unwrapped from anyio's exception groups.

    A botkit error is the cause when there is one; anything else is a bug in botkit
    (or a library it drives) and is wrapped so it is reported, not swallowed.
    """
    leaves = leaf_errors(group)
    for exc in leaves:
        if isinstance(exc, BotkitError):
            return exc
    for exc in leaves:
        if not isinstance(exc, Exception):
            return exc  # KeyboardInterrupt, SystemExit: let them through unchanged
    error = BotkitInternalError(f"unexpected {type(leaves[0]).__name__}: {leaves[0]}")
    error.__cause__ = leaves[0]
    return error
