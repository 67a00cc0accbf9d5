"""NautilusTrader's BacktestEngine on the same number of trades, counting strategy."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any


def run(n: int = 1_000_000) -> list[tuple[str, float, str]]:
    try:
        from nautilus_trader.config import StrategyConfig
        from nautilus_trader.model.currencies import BTC, USDT
        from nautilus_trader.model.data import TradeTick
        from nautilus_trader.model.enums import AccountType, AggressorSide
        from nautilus_trader.model.identifiers import TradeId
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
    strategy = Counter()
    elapsed = _engine_run(instrument, ticks, strategy, account_type=AccountType.CASH,
                          starting_balances=[Money(1_000_000, USDT), Money(10, BTC)])
    assert strategy.n == n, strategy.n
    hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0].split()[1]
    return [(f"backtest {n:,} trades: NautilusTrader BacktestEngine, counting (pre-built ticks)", n / elapsed,
             f"ticks/s, process peak RSS {int(hwm) / 1024:.0f} MB")]


def _engine_run(instrument: Any, data: list, strategy: Any, **venue: Any) -> float:
    """Seconds of one BacktestEngine run of ``strategy`` on ``data`` (a BINANCE venue
    with ``venue``'s settings), the engine disposed after."""
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.enums import OmsType
    from nautilus_trader.model.identifiers import Venue

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(Venue("BINANCE"), oms_type=OmsType.NETTING, **venue)
    engine.add_instrument(instrument)
    engine.add_data(data)
    engine.add_strategy(strategy)
    start = time.perf_counter()
    engine.run()
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def events_of(path: str) -> list:
    """botkit's events of a recording (decoded once, outside any timing)."""
    import gzip

    from botkit.protocol import FrameDecoder, parser_for
    from botkit.sources._recording import parse_line, read_meta

    decoder = FrameDecoder(parser_for(read_meta(path).get("venue", "binance")))
    events: list = []
    with gzip.open(path) as lines:
        for line in lines:
            parsed = None if line.startswith(b"#") else parse_line(line.rstrip(b"\n"))
            if parsed is not None:
                events += decoder.decode(parsed[1], parsed[0])
    return events


def run_mix(path: str) -> list[tuple[str, float, str]]:
    """NautilusTrader's BacktestEngine on the events of the real-mix recording ``path``,
    as its own types built beforehand (QuoteTick, TradeTick, OrderBookDeltas; the
    snapshot as a CLEAR and ADDs), into a strategy that reads the best bid and ask of
    the engine-managed L2 book on every delta, reads every quote and counts trades."""
    try:
        from nautilus_trader.config import StrategyConfig
        from nautilus_trader.model.currencies import BTC, USDT
        from nautilus_trader.model.data import BookOrder, OrderBookDelta, OrderBookDeltas, QuoteTick, TradeTick
        from nautilus_trader.model.enums import (
            AccountType,
            AggressorSide,
            BookAction,
            BookType,
            OrderSide,
            RecordFlag,
        )
        from nautilus_trader.model.identifiers import TradeId
        from nautilus_trader.model.objects import Money, Price, Quantity
        from nautilus_trader.test_kit.providers import TestInstrumentProvider
        from nautilus_trader.trading.strategy import Strategy
    except ImportError:
        return [("real mix: NautilusTrader BacktestEngine", float("nan"), "nautilus-trader not installed")]
    import botkit

    events = events_of(path)
    futures = any(getattr(e, "venue", "") == "binance-futures" for e in events[:10])
    instrument = TestInstrumentProvider.btcusdt_perp_binance() if futures else TestInstrumentProvider.btcusdt_binance()
    iid = instrument.id
    pp, sp = instrument.price_precision, instrument.size_precision
    smallest = Decimal(1).scaleb(-sp)
    prices: dict = {}
    sizes: dict = {}

    def price(p: Decimal) -> Price:
        got = prices.get(p)
        if got is None:
            got = prices[p] = Price(float(p), pp)
        return got

    def size(q: Decimal) -> Quantity:
        got = sizes.get(q)
        if got is None:
            got = sizes[q] = Quantity(float(max(q, smallest)), sp)
        return got

    def book(event: botkit.BookDelta | botkit.BookSnapshot) -> OrderBookDeltas:
        ts = event.ts_recv
        out = []
        if isinstance(event, botkit.BookSnapshot):
            out.append(OrderBookDelta.clear(iid, 0, ts, ts))
        for side, levels in ((OrderSide.BUY, event.bids), (OrderSide.SELL, event.asks)):
            for p, q in levels:
                if isinstance(event, botkit.BookSnapshot):
                    action = BookAction.ADD
                else:
                    action = BookAction.UPDATE if q else BookAction.DELETE
                out.append(OrderBookDelta(iid, action, BookOrder(side, price(p), size(q) if q else Quantity(0, sp), 0),
                                          0, 0, ts, ts))
        last = out[-1]
        out[-1] = OrderBookDelta(iid, last.action, last.order, RecordFlag.F_LAST, 0, ts, ts)
        return OrderBookDeltas(iid, out)

    data = []
    for e in events:
        if isinstance(e, botkit.Quote):
            data.append(QuoteTick(iid, price(e.bid_price), price(e.ask_price), size(e.bid_size), size(e.ask_size),
                                  e.ts_recv, e.ts_recv))
        elif isinstance(e, botkit.Trade):
            data.append(TradeTick(iid, price(e.price), size(e.size),
                                  AggressorSide.BUYER if e.side is botkit.Side.BUY else AggressorSide.SELLER,
                                  TradeId(str(e.trade_id)), e.ts_recv, e.ts_recv))
        elif isinstance(e, (botkit.BookDelta, botkit.BookSnapshot)):
            data.append(book(e))

    class Reader(Strategy):
        def __init__(self) -> None:
            super().__init__(StrategyConfig())
            self.n = 0
            self.books = 0

        def on_start(self) -> None:
            self.subscribe_quote_ticks(iid)
            self.subscribe_trade_ticks(iid)
            self.subscribe_order_book_deltas(iid, BookType.L2_MBP)

        def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
            ob = self.cache.order_book(iid)
            self.books += ob.best_bid_price() is not None and ob.best_ask_price() is not None

        def on_quote_tick(self, tick: QuoteTick) -> None:
            self.n += tick.ask_price > tick.bid_price

        def on_trade_tick(self, tick: TradeTick) -> None:
            self.n += 1

    strategy = Reader()
    elapsed = _engine_run(instrument, data, strategy, account_type=AccountType.MARGIN if futures else AccountType.CASH,
                          starting_balances=[Money(1_000_000, USDT)] + ([] if futures else [Money(10, BTC)]),
                          book_type=BookType.L2_MBP)
    books = sum(isinstance(d, OrderBookDeltas) for d in data)
    assert strategy.books >= books - 2, (strategy.books, books)
    return [("real mix: NautilusTrader BacktestEngine, book reader (pre-built data)", len(data) / elapsed,
             f"events/s ({books:,} book updates)")]
