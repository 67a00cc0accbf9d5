"""A whole live session against the trading simulator: orders placed over the WebSocket
API, fills from the user data stream, open orders cancelled at the end, the portfolio
equal to the venue's balances."""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest

import botkit
from botkit._clock import LiveClock
from botkit.live._broker import BinanceBroker
from botkit.sim._trading import TradingVenue
from botkit.sources._websocket import WebSocketSource

from .conftest import trading_sim

pytestmark = pytest.mark.anyio


class Trader(botkit.Strategy):
    symbols = ("BTCUSDT",)

    def __init__(self) -> None:
        self.n = 0
        self.updates: list[botkit.OrderUpdate] = []
        self.fills: list[botkit.Fill] = []
        self.ids: dict[str, str] = {}

    def on_trade(self, trade: botkit.Trade) -> None:
        self.n += 1
        if self.n == 10:
            self.ids["buy"] = self.buy("0.002")
        elif self.n == 500:
            self.ids["sell"] = self.sell("0.001")
        elif self.n == 600:
            self.ids["rest"] = self.buy("0.001", trade.price * Decimal("0.9"))

    def on_order(self, update: botkit.OrderUpdate) -> None:
        self.updates.append(update)

    def on_fill(self, fill: botkit.Fill) -> None:
        self.fills.append(fill)

    def statuses(self, name: str) -> list[str]:
        return [u.status.value for u in self.updates if u.client_id == self.ids[name]]


async def _session(keys: tuple, strategy: Trader) -> tuple[botkit.RunSummary, botkit.Engine, TradingVenue]:
    creds, account, _ = keys
    sim, venue, api_url = trading_sim(account)
    clock = LiveClock()
    broker = BinanceBroker(creds, api_url, ["BTC-USDT"], clock)
    engine = botkit.Engine(strategy, WebSocketSource(sim.url, venue="binance", end_on_normal_close=True),
                           broker=broker, clock=clock)
    with anyio.fail_after(30):
        summary = await engine.run(services=[sim.serve])
    return summary, engine, venue


async def test_a_live_session_trades_and_ends_with_nothing_open(keys: tuple) -> None:
    strategy = Trader()
    summary, engine, venue = await _session(keys, strategy)
    account = venue.accounts[keys[1].api_key]
    assert strategy.statuses("buy") == ["submitted", "accepted", "filled"]
    assert strategy.statuses("sell") == ["submitted", "accepted", "filled"]
    # Open at the stop: cancelled at the venue, and the strategy is told after on_stop.
    assert strategy.statuses("rest") == ["submitted", "accepted", "cancelled"]
    # Still open at the end: cancelled at the venue, and confirmed, before the run returned.
    assert {o.order.client_id: o.status for o in venue.orders.values()} == {
        strategy.ids["buy"]: "FILLED", strategy.ids["sell"]: "FILLED", strategy.ids["rest"]: "CANCELED"}
    assert [f.client_id for f in strategy.fills] == [strategy.ids["buy"], strategy.ids["sell"]]
    buy = strategy.fills[0]
    assert buy.fee_asset == "BTC" and buy.fee == Decimal("0.002") * 10 / 10_000
    # The portfolio is the venue's account, to the last satoshi.
    cash = engine.router.portfolio.cash
    assert cash["BTC"] == account.balances["BTC"] == Decimal("0.002") - buy.fee - Decimal("0.001")
    assert cash["USDT"] == account.balances["USDT"]
    assert account.locked.get("USDT", 0) == 0
    assert not engine.broker.open_orders()
    assert summary.trading["fills"] == 2


class Scripted(botkit.Strategy):
    """Runs ``script(self, n, trade)`` on each trade; records what it heard."""

    symbols = ("BTCUSDT",)

    def __init__(self, script) -> None:
        self.script = script
        self.n = 0
        self.updates: list[botkit.OrderUpdate] = []
        self.fills: list[botkit.Fill] = []

    def on_trade(self, trade: botkit.Trade) -> None:
        self.n += 1
        self.script(self, self.n, trade)

    def on_order(self, update: botkit.OrderUpdate) -> None:
        self.updates.append(update)

    def on_fill(self, fill: botkit.Fill) -> None:
        self.fills.append(fill)


async def _scripted(keys: tuple, script, *, risk: botkit.RiskLimits | None = None, **venue_options):
    """Run ``script`` live against the trading simulator; the strategy can reach its
    ``engine`` and the simulator's ``venue`` (to trip the kill switch, skew the clock)."""
    creds, account, _ = keys
    sim, venue, api_url = trading_sim(account, **venue_options)
    clock = LiveClock()
    broker = BinanceBroker(creds, api_url, ["BTC-USDT"], clock)
    strategy = Scripted(script)
    engine = botkit.Engine(strategy, WebSocketSource(sim.url, venue="binance", end_on_normal_close=True),
                           broker=broker, clock=clock, risk=risk)
    strategy.engine, strategy.venue = engine, venue
    with anyio.fail_after(30):
        summary = await engine.run(services=[sim.serve])
    return strategy, broker, venue, summary


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_kill_switch_cancels_at_the_venue_confirms_and_flattens(keys: tuple) -> None:
    def script(s: Scripted, n: int, trade: botkit.Trade) -> None:
        if n == 5:
            s.buy("0.003")
        elif 10 <= n < 13:
            s.buy("0.001", trade.price * 8 / 10)  # resting far below: open when the switch trips
        elif n == 50:
            s.engine.kill_switch("test")
        elif n == 60:
            s.after_kill = s.buy("0.001")  # refused: trading is halted for good

    strategy, broker, venue, summary = await _scripted(keys, script, risk=botkit.RiskLimits(flatten_on_kill=True))
    statuses = {o.order.client_id: o.status for o in venue.orders.values()}
    assert sorted(statuses.values()) == ["CANCELED", "CANCELED", "CANCELED", "FILLED", "FILLED"]
    # Flattened: everything bought (less the commission taken in BTC) sold again.
    assert venue.accounts[keys[1].api_key].balances["BTC"] < Decimal("0.00001")
    assert summary.trading["kill_switch"] == "test"
    refused = [u for u in strategy.updates if u.client_id == strategy.after_kill]
    assert refused[-1].status is botkit.OrderStatus.REJECTED and "kill switch" in refused[-1].reason
    assert broker.stats.cancels_sent >= 1 and broker.stats.reconciliations >= 2


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_a_venue_clock_far_off_is_measured_and_a_jump_is_resynced(keys: tuple) -> None:
    def script(s: Scripted, n: int, trade: botkit.Trade) -> None:
        if n == 5:
            s.buy("0.001")
        elif n == 100:
            s.venue.clock_offset_ms += 20_000  # the venue's clock jumps: -1021 for the next order
            s.jumped = s.buy("0.001")

    strategy, broker, venue, _ = await _scripted(keys, script, clock_offset_ms=-45_000)
    assert [u.status.value for u in strategy.updates if u.client_id == strategy.jumped][-1] == "filled"
    assert venue.stats.rejected_timestamps == 1  # once, then re-measured and sent again
    assert abs(broker.offset_ms - venue.clock_offset_ms) < 1_000
    assert broker.stats.time_resyncs >= 2


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_venues_order_rate_limit_is_kept_locally(keys: tuple) -> None:
    def script(s: Scripted, n: int, trade: botkit.Trade) -> None:
        if 5 <= n < 13:
            s.buy("0.001", trade.price * 8 / 10)

    strategy, _, venue, _ = await _scripted(keys, script, orders_per_10s=5,
                                            risk=botkit.RiskLimits(max_orders_per_second=1000))
    refused = [u for u in strategy.updates if u.status is botkit.OrderStatus.REJECTED]
    assert len(refused) == 3 and all("order rate limit: 5 orders per 10 s" in u.reason for u in refused)
    assert venue.stats.orders_placed == 5 and venue.stats.rate_limited == 0


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_venues_filters_are_loaded_and_applied_before_sending(keys: tuple) -> None:
    from botkit.execution._instruments import Instrument

    def script(s: Scripted, n: int, trade: botkit.Trade) -> None:
        if n == 5:
            s.tiny = s.buy("0.001", trade.price)  # 0.001 x ~61,000 = ~61: under this venue's minimum of 100
            s.ok = s.buy("0.003", trade.price * 8 / 10)

    rules = {"BTC-USDT": Instrument("BTC-USDT", "BTC", "USDT", "0.01", "0.00001", "100")}
    strategy, broker, venue, _ = await _scripted(keys, script, instruments=rules)
    assert broker.instruments["BTC-USDT"].min_notional == 100  # from exchangeInfo, not the default 5
    tiny = [u for u in strategy.updates if u.client_id == strategy.tiny]
    assert [u.status.value for u in tiny] == ["rejected"] and tiny[0].reason.startswith("NOTIONAL: ")
    assert [o.order.client_id for o in venue.orders.values()] == [strategy.ok]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_orders_of_an_earlier_run_are_adopted_and_others_left_alone(keys: tuple) -> None:
    creds, account, _ = keys
    sim, venue, api_url = trading_sim(account)
    # Open at the venue before the bot starts: one of an earlier botkit run, one placed by hand.
    for client_id in ("bk0a1b2c-7", "manual-1"):
        venue.place(account, {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                               "quantity": "0.001", "price": "30000", "newClientOrderId": client_id})
    clock = LiveClock()
    broker = BinanceBroker(creds, api_url, ["BTC-USDT"], clock)
    strategy = Scripted(lambda s, n, trade: None)
    engine = botkit.Engine(strategy, WebSocketSource(sim.url, venue="binance", end_on_normal_close=True),
                           broker=broker, clock=clock)
    with anyio.fail_after(30):
        await engine.run(services=[sim.serve])
    statuses = {o.order.client_id: o.status for o in venue.orders.values()}
    # Adopted, so cancelled with the rest at the end; the foreign one is untouched.
    assert statuses == {"bk0a1b2c-7": "CANCELED", "manual-1": "NEW"}
    assert broker.stats.adopted == 1 and broker.stats.foreign_orders == 1


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_stale_data_cancels_open_orders_at_the_venue(keys: tuple) -> None:
    from botkit.sim import ExchangeSimulator, sample_path
    from botkit.sim._trading import TradingVenue

    creds, account, _ = keys
    venue = TradingVenue([account])
    # The data ends but the feed stays open and silent: the market has gone stale.
    sim = ExchangeSimulator(str(sample_path()), speed=0, trading=venue, end_when_done=False)
    url = sim.listen()
    clock = LiveClock()
    broker = BinanceBroker(creds, url.replace("/stream", "/ws-api/v3"), ["BTC-USDT"], clock)

    def script(s: Scripted, n: int, trade: botkit.Trade) -> None:
        if n == 5:
            s.buy("0.001", trade.price * 8 / 10)

    strategy = Scripted(script)
    engine = botkit.Engine(strategy, WebSocketSource(url, venue="binance"), broker=broker, clock=clock,
                           risk=botkit.RiskLimits(stale_after_s=0.3))

    async def stop_once_cancelled() -> None:
        while not any(o.status == "CANCELED" for o in venue.orders.values()):
            await anyio.sleep(0.05)
        engine.stop("cancelled")

    with anyio.fail_after(30):
        summary = await engine.run(services=[sim.serve], monitors=[stop_once_cancelled])
    assert [o.status for o in venue.orders.values()] == ["CANCELED"]
    assert any(h["reason"] == "stale data" for h in summary.halts)
    assert summary.trading["kill_switch"] == ""  # a halt that lifts when data flows again, not the kill switch
