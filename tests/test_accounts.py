"""A strategy trading several venues: one paper account per venue (cash, positions,
fills from that venue's market only), limits per venue and in total, and a report that
gives each account and the sum."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import pytest

import botkit

from .helpers import MS, T0

pytestmark = pytest.mark.anyio
D = Decimal


def tr(venue: str, symbol: str, i: int, price: str, ms: int) -> botkit.Trade:
    return botkit.Trade(venue, symbol, D(price), D(1), botkit.Side.SELL, i, 0, T0 + ms * MS)


def qt(venue: str, symbol: str, i: int, bid: str, ask: str, ms: int) -> botkit.Quote:
    return botkit.Quote(venue, symbol, D(bid), D(5), D(ask), D(5), i, 0, T0 + ms * MS)


class TwoVenues(botkit.Strategy):
    """BTC on Binance (USDT) and Coinbase (USD); ``plan`` maps an event's ms to an action."""

    feeds = (botkit.Feed("binance", "BTC-USDT"), botkit.Feed("coinbase", "BTC-USD"))
    channels = ("trades", "quotes")

    def __init__(self, plan: dict[int, Any]) -> None:
        self.plan = plan
        self.updates: list[botkit.OrderUpdate] = []
        self.fills: list[botkit.Fill] = []
        self.seen: dict[str, Any] = {}

    def _step(self, event: botkit.Trade | botkit.Quote) -> None:
        action = self.plan.pop((event.ts_recv - T0) // MS, None)
        if action is not None:
            action(self)

    def on_trade(self, trade: botkit.Trade) -> None:
        self._step(trade)

    def on_quote(self, quote: botkit.Quote) -> None:
        self._step(quote)

    def on_order(self, update: botkit.OrderUpdate) -> None:
        self.updates.append(update)

    def on_fill(self, fill: botkit.Fill) -> None:
        self.fills.append(fill)

    def rejections(self) -> list[str]:
        return [u.reason for u in self.updates if u.status is botkit.OrderStatus.REJECTED]


def market(*extra: botkit.Trade | botkit.Quote) -> list[botkit.Trade | botkit.Quote]:
    """Binance around 100 USDT, Coinbase around 110 USD, interleaved by time."""
    events = [
        qt("binance", "BTC-USDT", 1, "99", "100", 0), qt("coinbase", "BTC-USD", 1, "109", "110", 1),
        tr("binance", "BTC-USDT", 2, "100", 2), tr("coinbase", "BTC-USD", 2, "110", 3),
        qt("binance", "BTC-USDT", 3, "100", "101", 10), qt("coinbase", "BTC-USD", 3, "111", "112", 11),
        tr("binance", "BTC-USDT", 4, "101", 20), tr("coinbase", "BTC-USD", 4, "112", 21),
        *extra,
    ]
    return sorted(events, key=lambda e: e.ts_recv)


async def run(strategy: botkit.Strategy, events: list[Any], **kwargs: Any) -> botkit.RunSummary:
    kwargs.setdefault("paper", botkit.PaperConfig(latency_ms=2, maker_fee_bps=0, taker_fee_bps=10))
    with anyio.fail_after(10):
        return await botkit.Engine(strategy, botkit.MemorySource(events), **kwargs).run()


async def test_each_venue_has_its_own_account_filled_from_its_own_market() -> None:
    def buy_both(s: TwoVenues) -> None:
        s.buy("1", venue="coinbase", symbol="BTC-USD")
        s.buy("2", symbol="BTC-USDT")  # the default venue: the first feed's

    def look(s: TwoVenues) -> None:
        s.seen.update(
            binance=s.position("BTC-USDT", venue="binance"), coinbase=s.position("BTC-USD", venue="coinbase"),
            btc_usd_on_binance=s.position("BTC-USD", venue="binance"), summed=s.position("BTC-USD"),
            price=s.last_price("BTC-USD", venue="coinbase"), usd=s.portfolio_on("coinbase").cash["USD"],
            usdt=s.portfolio_on("binance").cash["USDT"], open=len(s.open_orders(venue="coinbase")))

    s = TwoVenues({1: buy_both, 21: look})
    summary = await run(s, market())
    # Sent at 1 ms, each arrives at 3 ms: each takes its own venue's ask then.
    assert sorted((f.venue, f.symbol, f.price, f.size) for f in s.fills) == [
        ("binance", "BTC-USDT", D(100), D(2)), ("coinbase", "BTC-USD", D(110), D(1))]
    assert s.seen == {"binance": D(2), "coinbase": D(1), "btc_usd_on_binance": D(0), "summed": D(1),
                      "price": D(112), "usd": D(10_000) - D(110) - D("0.110"),
                      "usdt": D(10_000) - D(200) - D("0.200"), "open": 0}
    trading = summary.trading
    assert trading["quote_asset"] == "USDT+USD"
    assert trading["starting_equity"] == "20000"
    venues = trading["venues"]
    assert set(venues) == {"binance", "coinbase"}
    assert venues["coinbase"]["quote_asset"] == "USD" and venues["coinbase"]["fills"] == 1
    assert venues["coinbase"]["positions"] == {"BTC-USD": "1"}
    assert {a: D(v) for a, v in venues["binance"]["cash"].items()} == {"BTC": 2, "USDT": D("9799.8")}
    # Each marked at its own venue's last trade: 2 x 101 on Binance, 1 x 112 on Coinbase.
    assert D(venues["binance"]["total_return"]) == 2 * D(101) - D(200) - D("0.2")
    assert D(venues["coinbase"]["total_return"]) == D(112) - D(110) - D("0.11")
    assert D(trading["final_equity"]) == D(20_000) + sum(D(v["total_return"]) for v in venues.values())


async def test_a_spot_balance_is_checked_on_the_orders_venue_alone() -> None:
    def buy(s: TwoVenues) -> None:
        s.buy("50", venue="coinbase", symbol="BTC-USD")  # 5,500 USD: has 1,000 there
        s.buy("50", symbol="BTC-USDT")  # 5,000 USDT: has 10,000 there

    s = TwoVenues({1: buy})
    await run(s, market(), accounts={"coinbase": botkit.AccountSettings({"USD": D(1_000)})})
    (reason,) = s.rejections()
    assert reason.startswith("insufficient balance: needs ") and " USD, 1000 available on coinbase" in reason
    assert [(f.venue, f.size) for f in s.fills] == [("binance", D(50))]


async def test_limits_hold_per_venue_and_over_all_venues_together() -> None:
    def orders(s: TwoVenues) -> None:
        s.buy("2", venue="coinbase", symbol="BTC-USD")  # coinbase allows 1
        s.buy("1", venue="coinbase", symbol="BTC-USD")
        s.buy("1", symbol="BTC-USD")  # Binance has no limit of its own; 2 in total passes
        s.buy("1", symbol="BTC-USD")  # 3 in total: over the run's limit

    risk = botkit.RiskLimits(max_position=D(2), venues={"coinbase": botkit.VenueLimits(max_position=D(1))})
    s = TwoVenues({1: orders})
    await run(s, market(), risk=risk, paper=botkit.PaperConfig(latency_ms=2, margin=True))
    assert s.rejections() == ["max position on coinbase: BTC-USD would reach 2, limit 1",
                              "max position: BTC-USD would reach 3, limit 2"]


async def test_orders_on_a_venue_the_strategy_does_not_trade_on_are_refused() -> None:
    def wrong(s: TwoVenues) -> None:
        with pytest.raises(botkit.UsageError, match="no account on 'kraken': this run trades on binance, coinbase"):
            s.buy("1", venue="kraken")
        s.seen["checked"] = True

    s = TwoVenues({1: wrong})
    await run(s, market())
    assert s.seen == {"checked": True}


async def test_a_market_event_of_a_venue_without_an_account_is_only_watched() -> None:
    s = TwoVenues({1: lambda s: s.buy("1"), 30: lambda s: s.seen.update(okx=s.last_price("BTC-USDT"))})
    summary = await run(s, market(tr("okx", "BTC-USDT", 9, "90", 30)))
    assert s.seen == {"okx": D(90)}  # the latest trade anywhere
    assert summary.trading["venues"]["binance"]["final_equity"] == str(
        D(10_000) - D("100.1") + D(101))  # marked at Binance's own last trade, not okx's


async def test_with_a_broker_given_it_trades_on_its_venue_and_watches_the_others() -> None:
    """What a live run on several feeds does: one broker, on its venue; the rest watched."""

    def act(s: TwoVenues) -> None:
        s.buy("1", symbol="BTC-USDT")
        with pytest.raises(botkit.UsageError, match="no account on 'coinbase': this run trades on binance"):
            s.buy("1", symbol="BTC-USD", venue="coinbase")
        s.seen["coinbase"] = s.last_price("BTC-USD", venue="coinbase")
        with pytest.raises(botkit.UsageError, match="TwoVenues watches no venue 'okx' .its venues: binance, coinbase"):
            s.last_price(venue="okx")

    s = TwoVenues({3: act})
    summary = await run(s, market(qt("coinbase", "BTC-USDT", 9, "1", "2", 4)), paper=None,
                        broker=botkit.PaperBroker(botkit.PaperConfig(latency_ms=2)), venue="binance")
    assert s.seen == {"coinbase": D(110)}
    # Filled at the Binance ask known when it arrived (5 ms), not at the 2 Coinbase quoted at 4 ms.
    assert [(f.venue, f.price) for f in s.fills] == [("binance", D(100))]
    assert "venues" not in summary.trading and summary.trading["positions"] == {"BTC-USDT": "1"}


def test_the_engine_refuses_what_several_accounts_cannot_take() -> None:
    source = botkit.MemorySource([])
    with pytest.raises(botkit.UsageError, match="broker= trades on 'kraken', which TwoVenues does not watch"):
        botkit.Engine(TwoVenues({}), source, broker=botkit.PaperBroker(), venue="kraken")
    with pytest.raises(botkit.UsageError, match="accounts: TwoVenues trades on no venue 'kraken'"):
        botkit.Engine(TwoVenues({}), source, accounts={"kraken": botkit.AccountSettings()})
    with pytest.raises(botkit.UsageError, match="risk limits: TwoVenues trades on no venue 'okx'"):
        botkit.Engine(TwoVenues({}), source, risk=botkit.RiskLimits(venues={"okx": botkit.VenueLimits()}))


async def test_one_venue_runs_are_unchanged_and_may_name_their_account() -> None:
    class One(botkit.Strategy):
        symbols = ("BTCUSDT",)

        def on_trade(self, trade: botkit.Trade) -> None:
            if not self.open_orders() and not self.position():
                self.buy("1")

    events = [tr("binance", "BTC-USDT", i, "100", i) for i in range(5)]
    summary = await run(One(), events, accounts={"binance": botkit.AccountSettings({"USDT": D(500)})})
    assert "venues" not in summary.trading
    assert summary.trading["starting_equity"] == "500"
    assert summary.trading["positions"] == {"BTC-USDT": "1"}
