"""The live path end to end on loopback: simulator -> WebSocket -> machine -> parser -> bus.

All timings are short (tens of ms) and every test is bounded by ``fail_after``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import pytest
import trio

import botkit
from botkit.protocol._reconnect import ReconnectPolicy
from botkit.sim import ExchangeSimulator, Fault
from botkit.sim._sample import generate
from botkit.sources import FrameRecorder, ReplaySource
from botkit.sources._websocket import WebSocketSource

pytestmark = pytest.mark.anyio

FAST = ReconnectPolicy(
    backoff_base_s=0.02, backoff_cap_s=0.1, healthy_after_s=0.5, idle_timeout_s=0.2, pong_timeout_s=0.2,
    connect_timeout_s=2, max_attempts_per_minute=200,
)


@pytest.fixture
def anyio_backend() -> str:
    return "trio"  # the live source and the simulator use trio directly


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("market") / "market.txt.gz"
    generate(path, seconds=120, seed=11)
    return path


class Collect(botkit.Strategy):
    channels = ("trades", "quotes")

    def __init__(self) -> None:
        self.trades: list[botkit.Trade] = []
        self.quotes: list[botkit.Quote] = []
        self.statuses: list[tuple[str, int]] = []

    def on_trade(self, trade: botkit.Trade) -> None:
        self.trades.append(trade)

    def on_quote(self, quote: botkit.Quote) -> None:
        self.quotes.append(quote)

    def on_status(self, status: botkit.FeedStatus) -> None:
        self.statuses.append((status.state.value, time.monotonic_ns()))


async def run_live(
    market: Path, faults: list[Fault], *, strategy: Collect | None = None, batch_bytes: int = 0,
    **source_kwargs: object
) -> tuple[Collect, botkit.RunSummary, ExchangeSimulator]:
    sim = ExchangeSimulator(market, speed=0, faults=faults, stall_timeout_s=1, batch_bytes=batch_bytes)
    sim.record_sent = True
    source = WebSocketSource(sim.listen(), venue="binance", policy=FAST, end_on_normal_close=True, **source_kwargs)
    strategy = strategy or Collect()
    with anyio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(sim.serve)
            summary = await botkit.Engine(strategy, source).run()
            nursery.cancel_scope.cancel()
    return strategy, summary, sim


def sent_ids(sim: ExchangeSimulator) -> list[int]:
    return [json.loads(frame)["data"]["t"] for frame in sim.sent_trades]


# batch_bytes: the simulator writes many frames at once (as the throughput bench runs it),
# so one socket read holds many frames, frames straddle reads, and faults come after
# the frames written before them.
@pytest.mark.parametrize("batch_bytes", [0, 32768])
async def test_every_trade_sent_arrives_in_order_without_faults(market: Path, batch_bytes: int) -> None:
    strategy, summary, sim = await run_live(market, [], batch_bytes=batch_bytes)
    assert [t.trade_id for t in strategy.trades] == sent_ids(sim)
    assert summary.reconnects == 0 and summary.parse_errors == 0 and summary.gaps == 0
    assert [s for s, _ in strategy.statuses] == ["connecting", "live", "closed"]


@pytest.mark.parametrize("batch_bytes", [0, 32768])
async def test_every_trade_sent_arrives_across_drops_closes_and_refusals(market: Path, batch_bytes: int) -> None:
    faults = [Fault("drop", 700), Fault("close", 1100), Fault("refuse", 1700), Fault("garbage", 301)]
    strategy, summary, sim = await run_live(market, faults, batch_bytes=batch_bytes)
    assert sim.stats.faults["drop"] >= 2 and sim.stats.faults["close"] >= 1 and sim.stats.refused >= 1
    assert [t.trade_id for t in strategy.trades] == sent_ids(sim)
    assert summary.parse_errors == sim.stats.faults["garbage"]  # counted and skipped
    expected_outages = sum(sim.stats.faults[k] for k in ("drop", "close", "refuse"))
    assert summary.reconnects == expected_outages
    assert summary.gaps == 0
    # (summary.duplicates counts live trades dropped because a backfill delivered them first.)


async def test_stall_is_detected_and_recovered_within_the_timeouts(market: Path) -> None:
    strategy, summary, sim = await run_live(market, [Fault("stall", 900)])
    assert summary.stale_detections == sim.stats.faults["stall"] >= 1
    assert [t.trade_id for t in strategy.trades] == sent_ids(sim)
    # From "live" to "down": the idle timeout plus the pong timeout (and scheduling slack).
    states = strategy.statuses
    downs = [i for i, (s, _) in enumerate(states) if s == "down"]
    for i in downs:
        live_before = max(j for j in range(i) if states[j][0] == "live")
        recovered = min(j for j in range(i, len(states)) if states[j][0] == "live")
        detect_s = (states[i][1] - states[live_before][1]) / 1e9
        recover_s = (states[recovered][1] - states[i][1]) / 1e9
        assert detect_s >= FAST.idle_timeout_s + FAST.pong_timeout_s - 0.01
        assert recover_s < 5.0  # backoff cap 0.1 s: generous for a loaded CI machine


async def test_gap_fault_is_backfilled_over_rest(market: Path) -> None:
    class Statuses(Collect):
        def __init__(self) -> None:
            super().__init__()
            self.backfilled = 0

        def on_status(self, status: botkit.FeedStatus) -> None:
            super().on_status(status)
            self.backfilled += status.backfilled

    strategy, summary, sim = await run_live(market, [Fault("gap", 500)], strategy=Statuses())
    assert sim.stats.trades_skipped >= 1 and summary.gaps == 0
    assert [t.trade_id for t in strategy.trades] == [row[0] for row in sim.trade_history]
    assert strategy.backfilled == sim.stats.trades_skipped


async def test_gap_fault_without_backfill_shows_as_a_gap_event(market: Path) -> None:
    class Gaps(Collect):
        def __init__(self) -> None:
            super().__init__()
            self.gaps: list[botkit.Gap] = []

        def on_gap(self, gap: botkit.Gap) -> None:
            self.gaps.append(gap)

    strategy, summary, sim = await run_live(market, [Fault("gap", 500)], strategy=Gaps(), backfill=False)
    assert summary.gaps == sim.stats.trades_skipped == len(strategy.gaps) >= 1
    assert all(g.received == g.expected + 1 for g in strategy.gaps)


async def test_shutdown_during_backoff_is_prompt() -> None:
    slow = ReconnectPolicy(backoff_base_s=30, backoff_cap_s=60)
    with trio.socket.socket() as sock:  # a port with nobody listening: connection refused
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = WebSocketSource(f"ws://127.0.0.1:{port}/stream", policy=slow)

    class WaitsForDown(Collect):
        down = trio.Event()

        def on_status(self, status: botkit.FeedStatus) -> None:
            if status.state is botkit.ConnectionState.DOWN:
                self.down.set()

    strategy = WaitsForDown()
    engine = botkit.Engine(strategy, source)
    started = time.monotonic()
    with anyio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(engine.run)
            await strategy.down.wait()  # the first attempt was refused: now backing off 15-30 s
            assert source.machine.state.value == "backoff"
            engine.stop("test")
    assert time.monotonic() - started < 3
    assert source.machine.state.value == "closed"


async def test_recording_a_live_session_replays_to_the_same_events(market: Path, tmp_path: Path) -> None:
    out = tmp_path / "rec.txt.gz"
    recorder = FrameRecorder(out, {"venue": "binance", "backfill": True})
    live, _, _ = await run_live(market, [Fault("drop", 1000), Fault("garbage", 401)], on_frame=recorder.add)
    await recorder.flush()
    replayed = Collect()
    with anyio.fail_after(30):
        summary = await botkit.Engine(replayed, ReplaySource(out)).run()
    assert replayed.trades == live.trades
    assert replayed.quotes == live.quotes
    assert summary.parse_errors >= 1  # the garbage frames were recorded too, and skipped again


async def test_books_resync_after_gaps_and_end_equal_to_the_venues_book(tmp_path: Path) -> None:
    data = tmp_path / "depth.txt.gz"
    generate(data, seconds=60, seed=4, depth=True)

    class Books(Collect):
        channels = ("books",)

        def __init__(self) -> None:
            super().__init__()
            self.book = botkit.OrderBook()
            self.gaps = 0
            self.snapshots = 0
            self.crossed = 0

        def on_book(self, book: botkit.BookSnapshot | botkit.BookDelta) -> None:
            if isinstance(book, botkit.BookSnapshot):
                self.snapshots += 1
                self.book.reset(book)
            else:
                assert book.first_update_id <= self.book.last_update_id + 1 < book.last_update_id + 1
                self.book.apply(book)
            self.crossed += self.book.crossed()

        def on_gap(self, gap: botkit.Gap) -> None:
            self.gaps += 1

    strategy = Books()
    _, _summary, sim = await run_live(data, [Fault("gap", 333), Fault("drop", 1001)], strategy=strategy)
    assert sim.stats.depth_skipped >= 2 and sim.stats.rest_requests >= 3
    assert strategy.gaps >= 1  # book gaps (trade gaps are backfilled; a skip while resyncing needs no Gap)
    assert strategy.snapshots >= 2  # the first sync, then resyncs (close gaps may share one)
    assert strategy.crossed == 0
    venue = sim.books["BTC-USDT"]
    assert strategy.book.last_update_id == venue.last_update_id
    assert strategy.book.levels() == venue.levels()
