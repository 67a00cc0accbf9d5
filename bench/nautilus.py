"""NautilusTrader's BacktestEngine on the same number of trades, counting strategy."""

from __future__ import annotations

import time


def run(n: int = 1_000_000) -> list[tuple[str, float, str]]:
    try:
        from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
        from nautilus_trader.config import LoggingConfig, StrategyConfig
        from nautilus_trader.model.currencies import BTC, USDT
        from nautilus_trader.model.data import TradeTick
        from nautilus_trader.model.enums import AccountType, AggressorSide, OmsType
        from nautilus_trader.model.identifiers import TradeId, Venue
        from nautilus_trader.model.objects import Money, Price, Quantity
        from nautilus_trader.test_kit.providers import TestInstrumentProvider
        from nautilus_trader.trading.strategy import Strategy
    except ImportError:
        return [("backtest: NautilusTrader BacktestEngine", float("nan"), "nautilus-trader not installed")]

    instrument = TestInstrumentProvider.btcusdt_binance()

    class Counter(Strategy):
        def __init__(self) -> None:
            super().__init__(StrategyConfig())
            self.n = 0

        def on_start(self) -> None:
            self.subscribe_trade_ticks(instrument.id)

        def on_trade_tick(self, tick: TradeTick) -> None:
            self.n += 1

    t0 = 1_723_161_600_000_000_000
    ticks = [
        TradeTick(instrument.id, Price.from_str(f"{61000 + (i % 300) / 100:.2f}"), Quantity.from_str("0.010000"),
                  AggressorSide.BUYER if i % 2 else AggressorSide.SELLER, TradeId(str(i)), t0 + i * 1_000_000,
                  t0 + i * 1_000_000)
        for i in range(n)
    ]
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(Venue("BINANCE"), oms_type=OmsType.NETTING, account_type=AccountType.CASH,
                     starting_balances=[Money(1_000_000, USDT), Money(10, BTC)])
    engine.add_instrument(instrument)
    engine.add_data(ticks)
    strategy = Counter()
    engine.add_strategy(strategy)
    start = time.perf_counter()
    engine.run()
    elapsed = time.perf_counter() - start
    assert strategy.n == n, strategy.n
    hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0].split()[1]
    engine.dispose()
    return [(f"backtest {n:,} trades: NautilusTrader BacktestEngine, counting (pre-built ticks)", n / elapsed,
             f"ticks/s, process peak RSS {int(hwm) / 1024:.0f} MB")]
