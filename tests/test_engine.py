"""The engine: one task group, clear failures, clean stops, virtual-time timers."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import anyio
import attrs
import pytest

import botkit
from botkit.sources import EventSource, Publish

from .helpers import MS, T0, quote, trade, write_recording

pytestmark = pytest.mark.anyio


class Recorder(botkit.Strategy):
    """Records what the engine called, with the engine time at each call."""

    symbols = ("BTCUSDT",)
    channels = ("trades", "quotes")

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, int]] = []

    def on_start(self) -> None:
        self.calls.append(("start", None, self.now_ns))

    def on_trade(self, trade: botkit.Trade) -> None:
        self.calls.append(("trade", trade.trade_id, self.now_ns))

    def on_quote(self, quote: botkit.Quote) -> None:
        self.calls.append(("quote", quote.update_id, self.now_ns))

    def on_timer(self, timer: botkit.Timer) -> None:
        self.calls.append(("timer", timer.name, self.now_ns))

    def on_stop(self) -> None:
        self.calls.append(("stop", None, self.now_ns))


class EndlessSource(EventSource):
    """Publishes a few trades, then waits forever; records whether it was cancelled."""

    replay = True

    def __init__(self, count: int = 3) -> None:
        super().__init__()
        self.count = count
        self.cancelled = False
        self.published = anyio.Event()

    async def stream(self, publish: Publish) -> None:
        try:
            await publish([trade(i) for i in range(self.count)])
            self.published.set()
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise


async def run(strategy: botkit.Strategy, source: EventSource, **kwargs: object) -> botkit.RunSummary:
    with anyio.fail_after(10):
        return await botkit.Engine(strategy, source, **kwargs).run()


async def test_hooks_see_events_in_order_on_event_time() -> None:
    strategy = Recorder()
    events = [trade(1), quote(2), trade(3, symbol="ETH-USDT"), trade(4)]
    summary = await run(strategy, botkit.MemorySource(events, batch_size=2))
    assert strategy.calls == [
        ("start", None, T0 + 1 * MS),
        ("trade", 1, T0 + 1 * MS),
        ("quote", 2, T0 + 2 * MS),
        ("trade", 4, T0 + 4 * MS),
        ("stop", None, T0 + 4 * MS),
    ]
    assert summary.events == 3 and summary.events_by_type == {"Quote": 1, "Trade": 2}
    assert summary.stopped_by == "end of data"
    assert strategy.last_price() == trade(4).price


async def test_timers_fire_at_their_virtual_time() -> None:
    class Timed(Recorder):
        def on_start(self) -> None:
            super().on_start()
            self.set_timer("tick", 0.010, repeat=True)  # every 10 ms of event time
            self.set_timer("once", 0.025)
            self.set_timer("cancelled", 0.005)
            self.cancel_timer("cancelled")

    strategy = Timed()
    # Trades at T0 + 0, 3, 31, 33 ms: ticks at 10, 20, 30 fire before the trade at 31.
    events = [trade(i, ts=T0 + ms * MS) for i, ms in enumerate([0, 3, 31, 33])]
    summary = await run(strategy, botkit.MemorySource(events))
    fired = [(c[1], (c[2] - T0) // MS) for c in strategy.calls if c[0] == "timer"]
    assert fired == [("tick", 10), ("tick", 20), ("once", 25), ("tick", 30)]
    order = [c[0] for c in strategy.calls]
    assert order.index("timer") > order.index("trade")  # after the trade at 3 ms
    assert summary.events_by_type["Timer"] == 4


async def test_async_hooks_are_awaited() -> None:
    class AsyncHooks(botkit.Strategy):
        symbols = ("BTCUSDT",)

        def __init__(self) -> None:
            self.seen: list[int] = []

        async def on_trade(self, trade: botkit.Trade) -> None:
            await anyio.lowlevel.checkpoint()
            self.seen.append(trade.trade_id)

    strategy = AsyncHooks()
    await run(strategy, botkit.MemorySource([trade(i) for i in range(5)]))
    assert strategy.seen == [0, 1, 2, 3, 4]


async def test_a_raising_strategy_stops_everything_with_a_clear_error() -> None:
    class Boom(Recorder):
        def on_trade(self, trade: botkit.Trade) -> None:
            if trade.trade_id == 1:
                raise ValueError("bad signal")
            super().on_trade(trade)

    strategy = Boom()
    source = EndlessSource()
    with pytest.raises(botkit.StrategyError, match=r"^strategy Boom\.on_trade raised ValueError: bad signal$") as info:
        await run(strategy, source)
    assert isinstance(info.value.__cause__, ValueError)
    assert source.cancelled  # the feed task was cancelled with the group
    assert strategy.calls[-1][0] == "stop"  # on_stop still ran


async def test_tolerated_errors_are_counted_and_halt_trading() -> None:
    class Flaky(botkit.Strategy):
        symbols = ("BTCUSDT",)

        def on_trade(self, trade: botkit.Trade) -> None:
            if trade.trade_id % 2:
                raise RuntimeError("odd")

    strategy = Flaky()
    summary = await run(strategy, botkit.MemorySource([trade(i) for i in range(6)]), max_strategy_errors=5)
    assert summary.strategy_errors == 3
    assert summary.events == 6
    assert strategy.trading_halted and "strategy error in on_trade: RuntimeError: odd" in strategy.halt_reason
    assert [h["reason"] for h in summary.halts] == ["strategy error in on_trade: RuntimeError: odd"]


async def test_stop_cancels_the_feed_and_runs_on_stop() -> None:
    class StopsAtTwo(Recorder):
        def on_trade(self, trade: botkit.Trade) -> None:
            super().on_trade(trade)
            if trade.trade_id == 2:
                self.stop("enough")

    strategy = StopsAtTwo()
    source = EndlessSource(count=10)
    summary = await run(strategy, source)
    assert [c[1] for c in strategy.calls if c[0] == "trade"] == [0, 1, 2]
    assert strategy.calls[-1][0] == "stop"
    assert summary.stopped_by == "enough"
    assert summary.unprocessed == 7  # queued but not delivered: visible, not silent
    assert source.cancelled


async def test_engine_stop_from_outside() -> None:
    source = EndlessSource()
    strategy = Recorder()
    engine = botkit.Engine(strategy, source)
    result: list[botkit.RunSummary] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_run_into, engine, result)
            await source.published.wait()
            await anyio.wait_all_tasks_blocked()
            engine.stop("operator")
    assert result[0].stopped_by == "operator"
    assert source.cancelled and strategy.calls[-1][0] == "stop"


async def _run_into(engine: botkit.Engine, result: list) -> None:
    result.append(await engine.run())


async def test_cancelling_the_caller_stops_every_task() -> None:
    source = EndlessSource()
    strategy = Recorder()
    with anyio.fail_after(10):
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(botkit.Engine(strategy, source).run)
                await source.published.wait()
                await anyio.wait_all_tasks_blocked()
                scope.cancel()
    assert source.cancelled
    assert strategy.calls[-1][0] == "stop"


async def test_a_corrupt_recording_fails_the_run_with_file_and_line(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "r.txt", [trade(1)], extra=[b"oops"])
    with pytest.raises(botkit.DataError, match=r"r\.txt:3: corrupt line"):
        await run(Recorder(), botkit.ReplaySource(path))


async def test_two_replays_of_the_same_data_give_identical_results(tmp_path: Path) -> None:
    from botkit.sim._sample import generate

    path = tmp_path / "sample.txt.gz"
    generate(path, seconds=60, seed=3)
    runs = []
    for _ in range(2):
        strategy = Recorder()
        summary = await run(strategy, botkit.ReplaySource(path))
        runs.append((strategy.calls, summary.events_by_type))
    assert runs[0] == runs[1]
    assert runs[0][1]["Trade"] > 100


async def test_same_strategy_class_runs_unchanged_on_memory_and_replay(tmp_path: Path) -> None:
    events = [trade(1), quote(2), trade(3)]
    path = write_recording(tmp_path / "r.txt", events)
    a, b = Recorder(), Recorder()
    await run(a, botkit.MemorySource(events))
    await run(b, botkit.ReplaySource(path))
    assert a.calls == b.calls


async def test_unknown_channel_is_a_config_error() -> None:
    class Bad(botkit.Strategy):
        channels = ("trade",)

    with pytest.raises(botkit.ConfigError,
                       match=r"Bad.channels: unknown channel 'trade' \(did you mean 'trades'\?\); use any of trades"):
        botkit.Engine(Bad(), botkit.MemorySource([]))


async def test_helpers_before_attach_explain_themselves() -> None:
    class Early(botkit.Strategy):
        def __init__(self) -> None:
            self.now_ns  # noqa: B018 - the point of the test

    with pytest.raises(botkit.UsageError, match="not attached to an engine yet"):
        Early()


async def test_feed_down_halts_trading_until_live_again() -> None:
    class Watch(botkit.Strategy):
        symbols = ("BTCUSDT",)

        def __init__(self) -> None:
            self.halted_at_trade: list[bool] = []

        def on_trade(self, trade: botkit.Trade) -> None:
            self.halted_at_trade.append(self.trading_halted)

    down = botkit.FeedStatus("binance", botkit.ConnectionState.DOWN, "peer closed", T0 + 2 * MS)
    live = botkit.FeedStatus("binance", botkit.ConnectionState.LIVE, "reconnected", T0 + 4 * MS)
    strategy = Watch()
    summary = await run(strategy, botkit.MemorySource([trade(1), down, trade(3), live, trade(5)]))
    assert strategy.halted_at_trade == [False, True, False]
    assert summary.halts == [{"ts": T0 + 2 * MS, "reason": "feed down: binance", "lifted_ts": T0 + 4 * MS, "count": 1}]


async def test_each_venues_feed_down_holds_its_own_halt() -> None:
    class Watch(botkit.Strategy):
        def __init__(self) -> None:
            self.seen: list[tuple[bool, str]] = []

        def on_trade(self, trade: botkit.Trade) -> None:
            self.seen.append((self.trading_halted, self.halt_reason))

    def status(venue: str, state: botkit.ConnectionState, i: int) -> botkit.FeedStatus:
        return botkit.FeedStatus(venue, state, "", T0 + i * MS)

    down, live = botkit.ConnectionState.DOWN, botkit.ConnectionState.LIVE
    events = [status("binance", down, 1), status("coinbase", down, 2), status("coinbase", live, 3), trade(4),
              status("binance", live, 5), trade(6)]
    strategy = Watch()
    await run(strategy, botkit.MemorySource(events))
    # Coinbase back does not lift Binance's halt; Binance back lifts the last one.
    assert strategy.seen == [(True, "feed down: binance"), (False, "")]


async def test_the_engine_keeps_each_symbols_book_as_the_delivered_events_left_it() -> None:
    def delta(i: int, bids: tuple, asks: tuple = ()) -> botkit.BookDelta:
        return botkit.BookDelta("binance", "BTC-USDT", bids, asks, i, i, T0 + i * MS, T0 + i * MS)

    snapshot = botkit.BookSnapshot("binance", "BTC-USDT", ((D(99), D(1)), (D(98), D(2))), ((D(101), D(1)),), 1, 0,
                                   T0 + MS)
    events: list[botkit.Event] = [
        delta(0, ((D(97), D(1)),)),  # before any snapshot: no book yet
        snapshot,
        delta(2, ((D(100), D(3)),), ((D(101), D(0)), (D(102), D(4)))),
        botkit.Gap("binance", "BTC-USDT", "books", 4, 5, T0 + 5 * MS),
        delta(6, ((D(50), D(1)),)),  # after a gap, until the next snapshot: none
        attrs.evolve(snapshot, ts_recv=T0 + 7 * MS),
    ]

    class Reader(botkit.Strategy):
        symbols = ("BTC-USDT",)
        channels = ("books",)
        def __init__(self) -> None:
            self.seen: list[object] = []

        def on_book(self, event: botkit.BookSnapshot | botkit.BookDelta) -> None:
            book = self.order_book()
            self.seen.append(None if book is None else (book.best_bid(), book.best_ask(), book.depth()))

        def on_gap(self, gap: botkit.Gap) -> None:
            self.seen.append(self.order_book())

    strategy = Reader()
    await run(strategy, botkit.MemorySource(events, batch_size=2))
    assert strategy.seen == [
        None,
        ((D(99), D(1)), (D(101), D(1)), (2, 1)),
        ((D(100), D(3)), (D(102), D(4)), (3, 1)),  # the delta is applied before on_book sees it
        None,
        None,
        ((D(99), D(1)), (D(101), D(1)), (2, 1)),  # a snapshot starts it afresh
    ]


def test_books_are_kept_per_venue_and_an_ambiguous_symbol_names_them() -> None:
    from botkit._books import Books

    books = Books()
    for venue, price in (("binance", 100), ("okx", 101)):
        books.on_book(botkit.BookSnapshot(venue, "BTC-USDT", ((D(price), D(1)),), ((D(price + 1), D(1)),), 1, 0, T0))
    assert books.get("BTC-USDT", "okx").best_bid() == (D(101), D(1))  # type: ignore[union-attr]
    with pytest.raises(botkit.UsageError, match="BTC-USDT has books on binance and okx: pass venue="):
        books.get("BTC-USDT")
    books.on_gap(botkit.Gap("okx", "BTC-USDT", "books:checksum", 1, 2, T0))
    assert books.get("BTC-USDT").best_bid() == (D(100), D(1))  # type: ignore[union-attr]
    assert books.get("ETH-USDT") is None


def test_a_strategy_naming_its_feeds_gets_its_venue_and_symbols_from_them() -> None:
    class Two(botkit.Strategy):
        feeds = (botkit.Feed("coinbase", "BTC-USD"), botkit.Feed("binance", ("BTCUSDT", "BTC-USD")))

    class One(botkit.Strategy):
        feeds = (botkit.Feed("kraken", ("XBT/USD",), channels=("books",)),)

    class Own(botkit.Strategy):
        venue = "okx"
        feeds = (botkit.Feed("coinbase", "BTC-USD"),)

    assert (Two.venue, Two.symbols, Two.channels) == ("coinbase", ("BTC-USD", "BTCUSDT"), ())
    assert (One.venue, One.symbols, One.channels) == ("kraken", ("XBT/USD",), ("books",))
    assert Own.venue == "okx" and botkit.Strategy.venue == "binance" and botkit.Strategy.symbols == ()
    assert Two()._symbol(None) == "BTC-USD"
