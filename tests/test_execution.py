"""Orders through the engine: paper fills, latency, risk rules, kill switch, shutdown."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import botkit
import botkit._runner
import botkit.sources
from botkit._clock import VirtualClock
from botkit.execution._risk import RiskManager, TokenBucket

from .helpers import MS, T0

pytestmark = pytest.mark.anyio
D = Decimal
ROOT = Path(__file__).resolve().parent.parent


def tr(i: int, price: str, ms: int, size: str = "1") -> botkit.Trade:
    return botkit.Trade("binance", "BTC-USDT", D(price), D(size), botkit.Side.SELL, i, 0, T0 + ms * MS)


def qt(i: int, bid: str, ask: str, ms: int, size: str = "5") -> botkit.Quote:
    return botkit.Quote("binance", "BTC-USDT", D(bid), D(size), D(ask), D(size), i, 0, T0 + ms * MS)


class Scripted(botkit.Strategy):
    """Runs ``script(self, event)`` on each market event; records order updates and fills."""

    symbols = ("BTCUSDT",)
    channels = ("trades", "quotes")

    def __init__(self, script) -> None:
        self.script = script
        self.updates: list[botkit.OrderUpdate] = []
        self.fills: list[botkit.Fill] = []
        self.ids: dict[str, str] = {}

    def on_trade(self, trade: botkit.Trade) -> None:
        self.script(self, trade)

    def on_quote(self, quote: botkit.Quote) -> None:
        self.script(self, quote)

    def on_order(self, update: botkit.OrderUpdate) -> None:
        self.updates.append(update)

    def on_fill(self, fill: botkit.Fill) -> None:
        self.fills.append(fill)

    def statuses(self, client_id: str) -> list[str]:
        return [u.status.value for u in self.updates if u.client_id == client_id]


async def run(strategy: botkit.Strategy, events: list, **kwargs) -> botkit.RunSummary:
    kwargs.setdefault("paper", botkit.PaperConfig(latency_ms=2, maker_fee_bps=1, taker_fee_bps=5, margin=True))
    with anyio.fail_after(10):
        return await botkit.Engine(strategy, botkit.MemorySource(events), **kwargs).run()


def at(ms: int, action):
    """A script that performs ``action(strategy)`` on the event stamped ``ms``."""

    def script(strategy: Scripted, event) -> None:
        if event.ts_recv == T0 + ms * MS:
            action(strategy)

    return script


async def test_market_buy_fills_at_the_ask_known_on_arrival_after_latency() -> None:
    s = Scripted(at(0, lambda s: s.ids.setdefault("a", s.buy("0.5"))))
    # Sent at 0 ms, arrives at 2 ms: the 1 ms quote is the touch then, not the 0 ms one.
    await run(s, [qt(1, "99", "100", 0), qt(2, "100", "101", 1), qt(3, "105", "106", 2), tr(4, "100", 5)])
    assert s.statuses(s.ids["a"]) == ["submitted", "accepted", "filled"]
    (f,) = s.fills
    assert (f.price, f.size, f.liquidity, f.ts_recv) == (D(101), D("0.5"), "taker", T0 + 2 * MS)
    assert f.fee == D(101) * D("0.5") * 5 / 10_000
    assert s.position() == D("0.5")


async def test_resting_limit_fills_only_on_trades_through_its_price() -> None:
    s = Scripted(at(0, lambda s: s.ids.setdefault("a", s.buy("2", "100"))))
    events = [qt(1, "100", "101", 0), tr(2, "100", 5), tr(3, "99.99", 6, "0.5"), tr(4, "99", 7, "3")]
    summary = await run(s, events)
    # The at-price trade does not fill (we are last in the queue); through-trades fill
    # at our limit, at most their size.
    assert [(f.price, f.size, f.liquidity) for f in s.fills] == [(D(100), D("0.5"), "maker"), (D(100), D("1.5"), "maker")]
    assert s.statuses(s.ids["a"]) == ["submitted", "accepted", "partially_filled", "filled"]
    assert summary.trading["fills"] == 2


async def test_latency_decides_which_trades_can_fill() -> None:
    events = [qt(1, "100", "101", 0), tr(2, "99", 3), tr(3, "100.5", 10)]

    async def fills_with(latency: float) -> list[Decimal]:
        s = Scripted(at(0, lambda s: s.buy("1", "100")))
        await run(s, events, paper=botkit.PaperConfig(latency_ms=latency))
        return [f.price for f in s.fills]

    assert await fills_with(1) == [D(100)]  # arrives at 1 ms: the 3 ms trade through 100 fills it
    assert await fills_with(5) == []  # arrives at 5 ms: that trade happened before it got there


async def test_post_only_that_would_cross_is_rejected_and_ioc_remainder_cancelled() -> None:
    def script(s: Scripted) -> None:
        s.ids["post"] = s.buy("1", "101", post_only=True)
        s.ids["ioc"] = s.buy("8", "101", ioc=True)

    s = Scripted(at(0, script))
    await run(s, [qt(1, "100", "101", 0), tr(2, "100", 5)])
    assert s.statuses(s.ids["post"])[-1] == "rejected"
    assert [u.reason for u in s.updates if u.status.value == "rejected"] == ["post-only order would take liquidity"]
    assert s.statuses(s.ids["ioc"]) == ["submitted", "accepted", "partially_filled", "cancelled"]
    assert sum(f.size for f in s.fills) == D(5)  # the displayed ask size


async def test_cancel_is_idempotent_and_shutdown_cancels_the_rest() -> None:
    def place(s: Scripted) -> None:
        s.ids["a"] = s.buy("1", "90")
        s.ids["b"] = s.sell("1", "120")

    def cancel_twice(s: Scripted) -> None:
        s.cancel(s.ids["a"])
        s.cancel(s.ids["a"])
        s.cancel("no-such-order")

    def script(s: Scripted, event) -> None:
        if event.ts_recv == T0:
            place(s)
        elif event.ts_recv == T0 + 5 * MS:
            cancel_twice(s)

    s = Scripted(script)
    summary = await run(s, [qt(1, "100", "101", 0), tr(2, "100", 5), tr(3, "100", 10)])
    assert s.statuses(s.ids["a"]) == ["submitted", "accepted", "cancelled"]
    # Still open at the end: cancelled by the engine after on_stop, and the strategy is
    # told (reason "shutdown"); nothing is left working.
    assert s.statuses(s.ids["b"]) == ["submitted", "accepted", "cancelled"]
    assert s.updates[-1].reason == "shutdown"
    assert summary.trading["orders"] == 2 and summary.trading["fills"] == 0


async def test_risk_rules_reject_with_reasons() -> None:
    limits = botkit.RiskLimits(max_position=D(2), max_order_notional=D(250), max_open_orders=2)

    def script(s: Scripted) -> None:
        s.buy("3", "10")  # position would be 3 > 2
        s.buy("3", "100")  # notional 300 > 250
        s.buy("1", "10")
        s.buy("1", "10")
        s.buy("0.5", "10")  # third open order

    s = Scripted(at(0, script))
    summary = await run(s, [qt(1, "100", "101", 0), tr(2, "100", 1)], risk=limits)
    reasons = [u.reason for u in s.updates if u.status.value == "rejected"]
    assert reasons == [
        "max position: BTC-USDT would reach 3, limit 2",
        "max order notional: 300 > 250",
        "max open orders: 2 working, limit 2",
    ]
    assert summary.trading["rejected"] == 3
    assert summary.trading["rejections"] == {"max open orders": 1, "max order notional": 1, "max position": 1}


async def test_kill_switch_cancels_everything_and_halts() -> None:
    def script(s: Scripted, event) -> None:
        if event.ts_recv == T0:
            s.ids["long"] = s.buy("1")
            s.ids["resting"] = s.buy("1", "50")
        elif event.ts_recv == T0 + 30 * MS:
            s.ids["late"] = s.buy("1")

    s = Scripted(script)
    events = [qt(1, "100", "101", 0), qt(2, "100", "101", 1), tr(3, "60", 20), qt(4, "60", "61", 25), tr(5, "60", 30)]
    summary = await run(s, events, risk=botkit.RiskLimits(max_drawdown=D(30)))
    assert "drawdown" in summary.trading["kill_switch"]
    assert s.statuses(s.ids["resting"])[-1] == "cancelled"
    assert s.statuses(s.ids["late"]) == ["rejected"]
    assert s.trading_halted and "kill switch" in s.halt_reason


async def test_stale_feed_blocks_orders_until_it_is_live_again() -> None:
    down = botkit.FeedStatus("binance", botkit.ConnectionState.DOWN, "lost", T0 + 1 * MS)
    live = botkit.FeedStatus("binance", botkit.ConnectionState.LIVE, "back", T0 + 3 * MS)

    def script(s: Scripted, event) -> None:
        s.ids[str(event.ts_recv)] = s.buy("0.1", "50")

    s = Scripted(script)
    await run(s, [qt(1, "100", "101", 0), down, qt(2, "100", "101", 2), live, qt(3, "100", "101", 4)])
    assert [s.statuses(s.ids[str(T0 + ms * MS)])[0] for ms in (0, 2, 4)] == ["submitted", "rejected", "submitted"]


@given(st.lists(st.integers(0, 3_000), min_size=1, max_size=60), st.sampled_from([1.0, 2.0, 5.0, 0.5]))
def test_token_bucket_never_exceeds_its_rate(offsets_ms: list[int], rate: float) -> None:
    bucket = TokenBucket(rate)
    accepted: list[int] = []
    now = T0
    for step in offsets_ms:
        now += step * MS
        if bucket.take(now):
            accepted.append(now)
    burst = max(rate, 1.0)
    for i, start in enumerate(accepted):
        window = [t for t in accepted[i:] if t < start + 1_000 * MS]
        assert len(window) <= burst + rate + 1e-9


async def test_scalper_backtest_is_reproducible_bit_for_bit(tmp_path: Path) -> None:
    from botkit._loader import load_strategy
    from botkit.sim._sample import sample_path

    results = []
    for _ in range(2):
        engine = botkit.Engine(load_strategy(ROOT / "strategies" / "scalper.py")(), botkit.ReplaySource(sample_path()))
        summary = await engine.run()
        engine_fills = [repr(f) for f in engine.router.fills]
        results.append((json.dumps(summary.trading, sort_keys=True), engine_fills))
    assert results[0] == results[1]
    assert json.loads(results[0][0])["fills"] > 10


async def test_a_fatal_error_still_cancels_open_orders_and_reports_the_portfolio() -> None:
    def script(s: Scripted, event) -> None:
        if event.ts_recv == T0:
            s.ids["resting"] = s.buy("1", "50")
            s.ids["long"] = s.buy("1")
        elif event.ts_recv == T0 + 10 * MS:
            raise RuntimeError("bug")

    s = Scripted(script)
    engine = botkit.Engine(s, botkit.MemorySource([qt(1, "100", "101", 0), qt(2, "100", "101", 5), tr(3, "100", 10)]))
    with anyio.fail_after(10), pytest.raises(botkit.StrategyError):
        await engine.run()
    assert engine.router.broker.open_orders() == []
    summary = engine.partial_summary("bug")
    assert summary.trading["positions"] == {"BTC-USDT": "1"}
    assert summary.trading["orders"] == 2


async def test_manual_kill_switch_from_outside_the_strategy() -> None:
    placed = anyio.Event()

    def script(s: Scripted, event) -> None:
        if event.ts_recv == T0:
            s.ids["resting"] = s.buy("1", "50")
            placed.set()

    class Endless(botkit.sources.EventSource):
        async def stream(self, publish) -> None:
            await publish([qt(1, "100", "101", 0), qt(2, "100", "101", 5)])
            await anyio.sleep_forever()

    s = Scripted(script)
    engine = botkit.Engine(s, Endless())
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await placed.wait()
            engine.kill_switch("operator")
            engine.stop("done")
    assert engine.risk.killed == "operator"
    assert engine.router.broker.open_orders() == []


async def test_an_operator_pauses_resumes_and_cancels_all_from_outside_the_strategy() -> None:
    step = anyio.Event()
    seen: list[int] = []

    def script(s: Scripted, event) -> None:
        seen.append(event.trade_id if isinstance(event, botkit.Trade) else -1)
        if isinstance(event, botkit.Trade):
            s.ids[f"buy{event.trade_id}"] = s.buy("1", "50")  # rests far below: never fills
            step.set()

    class Paced(botkit.sources.EventSource):
        """A trade, then the next only after the test has acted."""

        def __init__(self) -> None:
            super().__init__()
            self.go = [anyio.Event() for _ in range(4)]

        async def stream(self, publish) -> None:
            await publish([qt(1, "100", "101", 0)])
            for i, go in enumerate(self.go):
                await publish([tr(10 + i, "100", 10 + i * 10)])
                await go.wait()
            await anyio.sleep_forever()

    s, source = Scripted(script), Paced()
    engine = botkit.Engine(s, source, risk=botkit.RiskLimits(max_orders_per_second=None))

    async def next_trade(i: int) -> None:
        nonlocal step
        await step.wait()
        step = anyio.Event()
        await anyio.wait_all_tasks_blocked()
        source.go[i].set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await next_trade(0)  # buy10 rests
            engine.pause()
            assert engine.paused and engine.strategy.trading_halted
            await next_trade(1)  # buy11 refused
            engine.resume()
            assert not engine.paused
            await step.wait()  # buy12 rests again
            await anyio.wait_all_tasks_blocked()
            assert engine.cancel_all("operator") == 2
            await next_trade(2)  # the venue took the cancels; buy13 rests: trading goes on
            await next_trade(3)
            await anyio.wait_all_tasks_blocked()
            assert s.statuses(s.ids["buy10"])[-1] == "cancelled" and s.statuses(s.ids["buy12"])[-1] == "cancelled"
            assert [o.client_id for o in engine.router.open_orders()] == [s.ids["buy13"]]
            engine.stop("done")
    assert "trading halted: paused" in [u.reason for u in s.updates if u.client_id == s.ids["buy11"]]
    assert [h.reason for h in engine.risk.halts] == ["paused"] and engine.risk.halts[0].lifted_ts > 0
    assert engine.risk.killed == "" and not engine.risk.halted


def test_daily_loss_limit_trips_the_kill_switch() -> None:
    clock = VirtualClock(T0)
    tripped: list[str] = []
    risk = RiskManager(clock, botkit.RiskLimits(max_daily_loss=D(100)), on_kill=tripped.append)
    risk.on_equity(D(10_000), T0)
    risk.on_equity(D(10_050), T0 + MS)
    risk.on_equity(D(9_901), T0 + 2 * MS)  # 99 below the day's start: fine
    assert not tripped
    risk.on_equity(D(9_899), T0 + 3 * MS)
    assert tripped == ["daily loss 101 > 100"] and risk.killed


async def test_equity_is_sampled_once_a_second_of_engine_time_while_a_position_is_open() -> None:
    # No loss limits: equity is marked for the curve once per second of event time (the
    # dispatch loop skips the other trades), from the fill on, and not while flat.
    def script(s: Scripted, event) -> None:
        if event.ts_recv == T0:
            s.ids["in"] = s.buy("1")
        elif event.ts_recv == T0 + 3_000 * MS:
            s.ids["out"] = s.sell("1")

    events = [qt(1, "100", "101", 0)] + [tr(i, "100", 250 * i) for i in range(1, 25)]
    engine = botkit.Engine(Scripted(script), botkit.MemorySource(events), paper=botkit.PaperConfig(latency_ms=2))
    with anyio.fail_after(10):
        await engine.run()
    curve = [(ts - T0) // MS for ts, _ in engine.router.equity_curve]
    fill_in, fill_out = 2, 3_002  # latency 2 ms
    assert curve[0] == fill_in and fill_out in curve
    held = [ms for ms in curve if fill_in <= ms <= fill_out]
    # Once a second: the first trade at least 1 s after the previous sample.
    assert held == [2, 1_250, 2_250, 3_002]
    assert all(ms in (fill_out, curve[-1]) for ms in curve if ms > fill_out)  # flat: no more samples


class Busy(botkit.Strategy):
    """A bit of everything a strategy does on trades, as a log of what it saw and when."""

    symbols = ("BTCUSDT",)
    channels = ("trades", "quotes")

    def __init__(self, plan: list[tuple[str, int]]) -> None:
        self.plan = dict(plan)  # trade id -> action
        self.seen: list[tuple] = []

    def _note(self, hook: str, event: object) -> None:
        self.seen.append((hook, event, self.now_ns, self.last_price(), self.position()))

    def on_trade(self, trade: botkit.Trade) -> None:
        self._note("trade", trade)
        action = self.plan.get(trade.trade_id)
        if action == "buy":
            self.buy("0.1")
        elif action == "limit":
            self.sell("0.1", trade.price + 1)
        elif action == "timer":
            self.set_timer("t", 0.003)
        elif action == "every":
            self.set_timer("e", 0.002, repeat=True)
        elif action == "fail":
            raise ValueError("scripted")
        elif action == "stop":
            self.stop("scripted stop")

    def on_quote(self, quote: botkit.Quote) -> None:
        self._note("quote", quote)

    def on_timer(self, timer: botkit.Timer) -> None:
        self._note("timer", timer)

    def on_order(self, update: botkit.OrderUpdate) -> None:
        self._note("order", update)

    def on_fill(self, fill: botkit.Fill) -> None:
        self._note("fill", fill)


_plan = st.lists(st.tuples(st.sampled_from(["buy", "limit", "timer", "every", "fail", "stop"]), st.integers(0, 80)),
                 max_size=6).map(lambda xs: [(i, a) for a, i in xs])


@given(plan=_plan, quotes=st.sets(st.integers(0, 80), max_size=20), gaps=st.lists(st.integers(0, 4), min_size=81,
                                                                                   max_size=81),
       batch=st.sampled_from([1, 7, 512]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_runs_of_trades_dispatch_exactly_as_one_by_one(plan, quotes, gaps, batch, monkeypatch) -> None:
    # _trade_run is the dispatcher's shortcut for plain trades: with it and without it
    # (every event through the general path) a strategy must see the same things.
    events: list[botkit.Event] = []
    ms = 0
    for i in range(81):
        ms += gaps[i]
        if i in quotes:
            events.append(qt(i, "99", "101", ms))
        events.append(tr(i, str(100 + i % 3), ms))

    def outcome() -> tuple:
        strategy = Busy(plan)

        async def main() -> botkit.RunSummary:
            with anyio.fail_after(10):
                source = botkit.MemorySource(events, batch_size=batch)
                return await botkit.Engine(strategy, source, max_strategy_errors=100,
                                           paper=botkit.PaperConfig(latency_ms=2)).run()

        summary = anyio.run(main, backend="trio")
        return strategy.seen, summary.events, summary.events_by_type, summary.stopped_by, summary.strategy_errors

    with_shortcut = outcome()
    with monkeypatch.context() as patch:
        patch.setattr(botkit._runner.StrategyRunner, "_trade_run", lambda self, batch, i, on_trade: i)
        without = outcome()
    assert with_shortcut == without


class _ImmediateBroker:
    """A broker of its own (not the paper broker): fills every order at 42 on the next event."""

    def __init__(self) -> None:
        self.busy = False
        self.sent: list[botkit.Order] = []
        self.cancels: list[str] = []
        self.finished = 0

    def submit(self, order: botkit.Order, instrument: botkit.Instrument, now_ns: int) -> None:
        self.sent.append(order)
        self.busy = True

    def cancel(self, client_id: str, now_ns: int) -> None:
        self.cancels.append(client_id)

    def open_orders(self) -> list[botkit.Order]:
        return list(self.sent) if self.busy else []

    def on_event(self, event: botkit.Event, market: botkit.MarketState) -> list[botkit.OrderUpdate | botkit.Fill]:
        out: list[botkit.OrderUpdate | botkit.Fill] = []
        for order in self.sent:
            assert market.last_quotes["BTC-USDT"].ask_price == D(101)  # the engine's state, shared
            out.append(botkit.Fill(order.client_id, "binance", order.symbol, order.side, D(42), order.size, D(0),
                                   "USDT", "taker", event.ts_recv))
            out.append(botkit.OrderUpdate(order.client_id, order.symbol, botkit.OrderStatus.FILLED, order.size,
                                          D(0), "", event.ts_recv))
        self.sent, self.busy = [], False
        return out

    def finish(self, now_ns: int, market: botkit.MarketState) -> list[botkit.OrderUpdate | botkit.Fill]:
        self.finished += 1
        return []


async def test_the_engine_sends_orders_to_the_broker_it_is_given() -> None:
    broker = _ImmediateBroker()
    assert isinstance(broker, botkit.Broker)
    s = Scripted(at(0, lambda s: s.ids.__setitem__("o", s.buy("2"))))
    engine = botkit.Engine(s, botkit.MemorySource([qt(1, "100", "101", 0), tr(2, "100", 1)]), broker=broker)
    with anyio.fail_after(10):
        summary = await engine.run()
    assert [f.price for f in s.fills] == [D(42)] and broker.finished == 1
    assert s.position() == D(2) and summary.trading["fills"] == 1
    assert s.statuses(s.ids["o"]) == ["submitted", "filled"]


def test_a_broker_and_paper_settings_together_are_refused() -> None:
    with pytest.raises(botkit.UsageError, match="configure the broker you pass"):
        botkit.Engine(Scripted(lambda s, e: None), botkit.MemorySource([]), broker=_ImmediateBroker(),
                      paper=botkit.PaperConfig())


async def test_build_run_backtests_a_config_written_in_code() -> None:
    from botkit.sim import sample_path

    config = botkit.RunConfig(str(ROOT / "strategies" / "scalper.py"), "backtest", data=str(sample_path()),
                              handle_signals=False, paper=botkit.PaperConfig(latency_ms=20))
    prepared = botkit.build_run(config)
    assert isinstance(prepared.engine.broker, botkit.PaperBroker)
    assert prepared.engine.broker.config.latency_ms == 20
    with anyio.fail_after(60):
        summary = await prepared.run()
    assert summary.stopped_by == "end of data" and summary.trading["orders"] > 0


async def test_orders_sent_while_the_stop_is_told_are_refused_and_the_telling_ends() -> None:
    class Stubborn(Scripted):
        def on_order(self, update: botkit.OrderUpdate) -> None:
            super().on_order(update)
            if update.status is not botkit.OrderStatus.SUBMITTED and update.status is not botkit.OrderStatus.ACCEPTED:
                self.buy("1", "90")  # answers every end with a new order, forever if let

    s = Stubborn(at(0, lambda s: s.ids.setdefault("a", s.buy("1", "90"))))
    with anyio.fail_after(10):
        summary = await run(s, [qt(1, "100", "101", 0), tr(2, "100", 5)])
    assert s.statuses(s.ids["a"]) == ["submitted", "accepted", "cancelled"]
    refused = [u for u in s.updates if u.reason == "the run is stopping: order not sent"]
    assert len(refused) == 2  # the stop's pass, then two passes of refusals told, then it ends
    assert summary.trading["fills"] == 0 and not summary.trading["positions"]
