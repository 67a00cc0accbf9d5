"""Every venue's live path offline: the exchange simulator speaks the venue's protocol on
loopback, botkit subscribes by the venue's rules, and trades and books arrive intact,
including after a lost book message (sequence break or checksum mismatch -> resubscribe)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import trio

import botkit
from botkit.protocol._book import OrderBook
from botkit.protocol._reconnect import ReconnectPolicy
from botkit.sim import ExchangeSimulator, Fault
from botkit.sim._sample import generate
from botkit.sources._websocket import WebSocketSource

pytestmark = pytest.mark.anyio

FAST = ReconnectPolicy(backoff_base_s=0.02, backoff_cap_s=0.1, idle_timeout_s=0.5, pong_timeout_s=0.5,
                       connect_timeout_s=2, needs_subscribe=True)


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("venues") / "market.txt.gz"
    generate(path, seconds=60, seed=5, depth=True)
    return path


class Watch(botkit.Strategy):
    channels = ("trades", "books")

    def __init__(self) -> None:
        self.trades: list[botkit.Trade] = []
        self.book = OrderBook()
        self.snapshots = 0

    def on_trade(self, trade: botkit.Trade) -> None:
        self.trades.append(trade)

    def on_book(self, book: botkit.BookSnapshot | botkit.BookDelta) -> None:
        if isinstance(book, botkit.BookSnapshot):
            self.snapshots += 1
            self.book.reset(book)
        else:
            self.book.apply(book)


async def run_venue(market: Path, venue: str, faults: list[Fault]) -> tuple[Watch, WebSocketSource, ExchangeSimulator]:
    sim = ExchangeSimulator(market, speed=0, faults=faults, venue=venue, end_when_done=True)
    strategy = Watch()
    with anyio.fail_after(60):
        async with trio.open_nursery() as nursery:
            url = await nursery.start(sim.serve)
            source = WebSocketSource.for_venue(venue, ["BTC-USDT"], ["trades", "books"], url=url, policy=FAST,
                                               end_on_normal_close=True)
            await botkit.Engine(strategy, source).run()
            nursery.cancel_scope.cancel()
    return strategy, source, sim


@pytest.mark.parametrize("venue", ["binance-futures", "coinbase", "kraken", "okx", "bybit", "kraken-v2"])
async def test_trades_and_books_arrive_intact(market: Path, venue: str) -> None:
    strategy, source, sim = await run_venue(market, venue, [])
    assert source.decoder.parse_errors == 0
    assert len(strategy.trades) == sim.stats.trades_sent > 100
    assert {t.venue for t in strategy.trades} == {venue}
    assert {t.symbol for t in strategy.trades} == {"BTC-USDT"}
    if venue != "kraken":  # Kraken v1 trades carry no id
        ids = [t.trade_id for t in strategy.trades]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert strategy.snapshots >= 1
    assert strategy.book.levels() == sim.books["BTC-USDT"].levels()
    assert not strategy.book.crossed()


@pytest.mark.parametrize("venue", ["kraken", "okx", "bybit", "kraken-v2"])
async def test_a_lost_book_message_is_detected_and_resubscribed(market: Path, venue: str) -> None:
    strategy, source, sim = await run_venue(market, venue, [Fault("gap", 300)])
    assert sim.stats.depth_skipped >= 3
    decoder = source.decoder
    assert decoder.gaps >= 1  # a sequence break (OKX, Bybit) or a checksum mismatch (Kraken)
    assert strategy.snapshots >= 2  # the resubscribe brought a fresh snapshot
    assert strategy.book.levels() == sim.books["BTC-USDT"].levels()
    if venue.startswith("kraken"):
        assert decoder.checksum_mismatches >= 1


@pytest.mark.parametrize("venue", ["coinbase", "kraken", "okx", "bybit", "kraken-v2"])
async def test_after_a_dropped_connection_books_come_back_from_a_fresh_snapshot(market: Path, venue: str) -> None:
    strategy, source, sim = await run_venue(market, venue, [Fault("drop", 400)])
    assert source.stats.reconnects >= 2
    assert strategy.snapshots >= 3  # the first subscribe, and one per reconnect
    assert len(strategy.trades) == sim.stats.trades_sent  # the simulator pauses while no client is connected
    assert strategy.book.levels() == sim.books["BTC-USDT"].levels()
