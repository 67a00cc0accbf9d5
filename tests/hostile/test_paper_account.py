"""Points 5, 6, 7 and 14: a paper account the venue would allow, default order limits,
flattening a trades-only strategy in on_stop, and returns on odd starting cash."""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest

import botkit

from ..helpers import T0
from ..test_execution import Scripted, qt, tr
from .conftest import cli

pytestmark = pytest.mark.anyio
D = Decimal


async def run(strategy: botkit.Strategy, events: list, **kwargs) -> botkit.RunSummary:
    with anyio.fail_after(10):
        return await botkit.Engine(strategy, botkit.MemorySource(events), **kwargs).run()


def once(action):
    def script(s: Scripted, event) -> None:
        if event.ts_recv == T0 and not s.ids:
            action(s)

    return script


def reasons(s: Scripted) -> list[str]:
    return [u.reason for u in s.updates if u.status is botkit.OrderStatus.REJECTED]


async def test_a_spot_account_cannot_buy_more_than_its_cash() -> None:
    s = Scripted(once(lambda s: s.ids.update(big=s.buy("1000000000"))))
    summary = await run(s, [tr(1, "100", 0), tr(2, "100", 10)], risk=botkit.RiskLimits(max_order_notional=None))
    (reason,) = reasons(s)
    assert reason.startswith("insufficient balance: needs 100100000000 USDT, 10000 available")
    assert summary.trading["fills"] == 0 and summary.trading["cash"] == {"USDT": "10000"}


async def test_a_spot_account_cannot_sell_what_it_does_not_hold() -> None:
    s = Scripted(once(lambda s: s.ids.update(short=s.sell("1"))))
    summary = await run(s, [tr(1, "100", 0), tr(2, "100", 10)])
    assert reasons(s) == ["insufficient balance: needs 1 BTC, 0 available (spot account; paper.margin = true "
                          "allows borrowing)"]
    assert "BTC" not in summary.trading["cash"] or D(summary.trading["cash"]["BTC"]) >= 0


async def test_open_orders_reserve_their_balance() -> None:
    def place(s: Scripted) -> None:
        s.ids["a"] = s.buy("60", "100")  # rests: reserves 6,000 USDT (+ fees)
        s.ids["b"] = s.buy("60", "100")  # 6,000 more than the 10,000 has: refused

    s = Scripted(once(place))
    await run(s, [qt(1, "100", "101", 0), tr(2, "100.5", 10)])
    assert s.statuses(s.ids["a"])[:2] == ["submitted", "accepted"]
    assert s.statuses(s.ids["b"]) == ["rejected"]


async def test_a_margin_account_may_short() -> None:
    s = Scripted(once(lambda s: s.ids.update(short=s.sell("1"))))
    summary = await run(s, [qt(1, "100", "101", 0), tr(2, "100", 10)], paper=botkit.PaperConfig(margin=True))
    assert reasons(s) == [] and summary.trading["positions"] == {"BTC-USDT": "-1"}


async def test_derivatives_venues_are_margin_accounts() -> None:
    s = Scripted(once(lambda s: s.ids.update(short=s.sell("1"))))
    summary = await run(s, [qt(1, "100", "101", 0), tr(2, "100", 10)], venue="binance-futures")
    assert reasons(s) == [] and summary.trading["positions"] == {"BTC-USDT": "-1"}


async def test_default_limits_stop_an_order_flood() -> None:
    def flood(s: Scripted, event) -> None:
        for _ in range(100):
            s.buy("0.1", "50")

    s = Scripted(flood)
    summary = await run(s, [qt(1, "99", "101", 0), tr(2, "100", 1), tr(3, "100", 2)])
    limits = botkit.RiskLimits()
    assert (limits.max_orders_per_second, limits.max_open_orders, limits.max_order_notional) == (10, 200, 100_000)
    accepted = summary.trading["orders"] - summary.trading["rejected"]
    assert accepted == 10  # one second's burst at 10 per second
    assert any("max orders per second" in r for r in summary.trading["rejections"])


async def test_a_trades_only_strategy_flattens_in_on_stop() -> None:
    class Flattener(botkit.Strategy):
        symbols = ("BTCUSDT",)
        channels = ("trades",)

        def on_start(self) -> None:
            self.bought = False
            self.updates: list[botkit.OrderUpdate] = []

        def on_trade(self, trade: botkit.Trade) -> None:
            if not self.bought:
                self.bought = bool(self.buy("0.5"))

        def on_order(self, update: botkit.OrderUpdate) -> None:
            self.updates.append(update)

        def on_stop(self) -> None:
            if self.position():
                self.sell(self.position())

    strategy = Flattener()
    summary = await run(strategy, [tr(1, "100", 0), tr(2, "101", 10), tr(3, "102", 20)])
    assert summary.trading["positions"] == {}
    assert summary.trading["fills"] == 2
    assert summary.trading["cash"]["BTC"] == "0.0"


def test_positions_are_always_in_the_summary_table(capsys, tmp_path) -> None:
    strategy = tmp_path / "holder.py"
    strategy.write_text(
        "import botkit\n"
        "class Holder(botkit.Strategy):\n"
        "    symbols = ('BTCUSDT',)\n"
        "    def on_trade(self, trade):\n"
        "        if not self.position() and not self.open_orders():\n"
        "            self.buy('0.01')\n"
    )
    sample = str(botkit.sample_path()) if hasattr(botkit, "sample_path") else None
    from ..test_cli import ROOT

    data = sample or str(ROOT / "examples" / "data" / "binance-btcusdt-sample.txt.gz")
    code, out, _ = cli(capsys, "backtest", strategy, "--data", data)
    assert code == 0
    assert "position BTC-USDT" in out and "0.01" in out


@pytest.mark.parametrize(("flag", "message"), [("USDT=-100", "--cash '-100'"), ("USDT=1e400x", "not a number")])
def test_negative_or_bad_starting_cash_is_refused(capsys, counter, flag, message) -> None:
    from .conftest import SAMPLE

    code, _, err = cli(capsys, "backtest", counter, "--data", SAMPLE, "--cash", flag)
    assert code == 2 and message in err and err.count("\n") == 1


def test_negative_starting_cash_in_the_config_is_refused(capsys, tmp_path, counter) -> None:
    from .conftest import SAMPLE

    config = tmp_path / "c.toml"
    config.write_text('[paper]\nstarting_cash = { USDT = "-500" }\n')
    code, _, err = cli(capsys, "backtest", counter, "--data", SAMPLE, "--config", config)
    assert code == 2 and "starting_cash must be a number >= 0, got -500" in err


def test_a_return_on_cash_has_the_sign_of_the_gain() -> None:
    from botkit.execution._metrics import percent

    assert percent(D(5), D(-100)) == 5.0 and percent(D(-5), D(100)) == -5.0
