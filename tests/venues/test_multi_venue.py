"""Two venues live at once: each feed has its own connection, reconnect machine,
sequencing and backfill, so faults on one leave the other's trades untouched and the
faulty one still loses nothing."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import anyio
import pytest
import trio

import botkit
from botkit.sim import ExchangeSimulator, Fault
from botkit.sim._sample import generate
from botkit.sources._websocket import WebSocketSource

from .test_live_venues import FAST, anyio_backend  # noqa: F401 - the fixture: trio, as there

pytestmark = pytest.mark.anyio


class PerVenue(botkit.Strategy):
    channels = ("trades",)

    def __init__(self) -> None:
        self.trades: dict[str, list[int]] = defaultdict(list)
        self.statuses: dict[str, list[str]] = defaultdict(list)

    def on_trade(self, trade: botkit.Trade) -> None:
        self.trades[trade.venue].append(trade.trade_id)

    def on_status(self, status: botkit.FeedStatus) -> None:
        self.statuses[status.venue].append(status.state.value)


async def test_faults_on_one_venue_lose_nothing_on_either(tmp_path: Path) -> None:
    market = tmp_path / "market.txt.gz"
    generate(market, seconds=60, seed=11)
    faulty = ExchangeSimulator(market, speed=0, faults=[Fault("drop", 700), Fault("close", 1100), Fault("gap", 500)],
                               end_when_done=True)
    clean = ExchangeSimulator(market, speed=0, venue="coinbase", end_when_done=True)
    strategy = PerVenue()
    with anyio.fail_after(60):
        async with trio.open_nursery() as nursery:
            faulty_url = await nursery.start(faulty.serve)
            clean_url = await nursery.start(clean.serve)
            source = botkit.MergedSource([
                WebSocketSource(faulty_url, venue="binance", policy=FAST, end_on_normal_close=True),
                WebSocketSource.for_venue("coinbase", ["BTC-USDT"], ["trades"], url=clean_url, policy=FAST,
                                          end_on_normal_close=True),
            ])
            summary = await botkit.Engine(strategy, source).run()
            nursery.cancel_scope.cancel()
    assert faulty.stats.faults["close"] >= 1 and faulty.stats.trades_skipped >= 1
    # The faulty venue: every trade it had, the skipped ones backfilled over REST, in order.
    assert strategy.trades["binance"] == [row[0] for row in faulty.trade_history]
    # The clean one: every trade sent, never interrupted.
    assert len(strategy.trades["coinbase"]) == clean.stats.trades_sent > 100
    assert strategy.trades["coinbase"] == sorted(set(strategy.trades["coinbase"]))
    assert strategy.statuses["coinbase"] == ["connecting", "live", "closed"]
    assert strategy.statuses["binance"].count("down") >= 2
    feeds = summary.feeds
    assert feeds["binance"]["reconnects"] >= 2 and feeds["coinbase"]["reconnects"] == 0
    assert feeds["binance"]["gaps"] == feeds["coinbase"]["gaps"] == 0 == summary.gaps
    assert summary.events_by_type["Trade"] == len(faulty.trade_history) + clean.stats.trades_sent
