"""A user's strategy and run script, written against the public API, pass ``mypy --strict``."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

USER_CODE = '''
from decimal import Decimal

import anyio
import botkit


class Breakout(botkit.Strategy):
    symbols = ("BTCUSDT",)
    high: Decimal | None = None

    def on_start(self) -> None:
        self.set_timer("report", 60.0, repeat=True)

    def on_trade(self, trade: botkit.Trade) -> None:
        if self.high is None or trade.price > self.high:
            self.high = trade.price
            if self.position() == 0 and not self.trading_halted:
                self.buy(Decimal("0.001"))

    def on_quote(self, quote: botkit.Quote) -> None:
        spread: Decimal = quote.ask_price - quote.bid_price
        self.log.debug("spread %s", spread)

    def on_fill(self, fill: botkit.Fill) -> None:
        self.log.info("filled %s @ %s, cash %s", fill.size, fill.price, self.portfolio.cash)

    def on_timer(self, timer: botkit.Timer) -> None:
        price: Decimal | None = self.last_price()
        self.log.info("%s: last %s, open %d", timer.name, price, len(self.open_orders()))


class Spread(botkit.Strategy):
    feeds = (botkit.Feed("binance", "BTC-USDT"), botkit.Feed("coinbase", ("BTC-USD",), ("trades",)))

    def on_trade(self, trade: botkit.Trade) -> None:
        other = "coinbase" if trade.venue == "binance" else "binance"
        theirs: Decimal | None = self.last_price("BTC-USD" if other == "coinbase" else "BTC-USDT", venue=other)
        if theirs is not None and trade.price < theirs and not self.open_orders(trade.venue):
            self.buy("0.001", symbol=trade.symbol, venue=trade.venue)
        held: Decimal = self.position(trade.symbol, venue=trade.venue)
        cash: dict[str, Decimal] = self.portfolio_on(trade.venue).cash
        self.log.debug("%s %s", held, cash)


def several() -> botkit.Engine:
    return botkit.Engine(Spread(), botkit.MemorySource(events()),
                         accounts={"coinbase": botkit.AccountSettings({"USD": Decimal(500)})},
                         risk=botkit.RiskLimits(venues={"coinbase": botkit.VenueLimits(max_open_orders=2)}))


def events() -> list[botkit.Event]:
    trade = botkit.Trade("binance", "BTC-USDT", Decimal("100"), Decimal("1"), botkit.Side.BUY, 1, 0, 1)
    quote = botkit.Quote("binance", "BTC-USDT", Decimal("99"), Decimal("1"), Decimal("101"), Decimal("1"), 7, 0, 2)
    return [trade, quote]


async def main() -> botkit.RunSummary:
    broker: botkit.Broker = botkit.PaperBroker(botkit.PaperConfig(latency_ms=1))
    engine = botkit.Engine(Breakout(), botkit.MemorySource(events()), broker=broker,
                           risk=botkit.RiskLimits(max_position=Decimal(1)))
    return await engine.run()


def live() -> botkit.PreparedRun:
    source = botkit.WebSocketSource.for_venue("kraken", ["BTC-USD"], ["trades"], policy=botkit.ReconnectPolicy())
    assert source.replay is False
    return botkit.build_run(botkit.RunConfig("strategies/scalper.py", "backtest", data="rec.txt.gz"))


summary = anyio.run(main)
print(summary.events_per_s, summary.trading)
'''


@pytest.mark.skipif(shutil.which("mypy") is None and not (Path(sys.executable).parent / "mypy").exists(),
                    reason="mypy is not installed (pip install -e '.[test]')")
def test_a_user_strategy_passes_mypy_strict(tmp_path: Path) -> None:
    user = tmp_path / "user_strategy.py"
    user.write_text(USER_CODE)
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_strategy_really_runs(tmp_path: Path) -> None:
    # The checked code is real code: it runs (the live source is only built, not run).
    namespace: dict[str, object] = {"__name__": "user_strategy"}
    exec(compile(USER_CODE, "user_strategy.py", "exec"), namespace)  # noqa: S102 - the test's own code
    run = namespace["live"]
    assert callable(run)
