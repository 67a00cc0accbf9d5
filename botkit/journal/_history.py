"""A journal's account rebuilt from its rows: what ``botkit journal`` prints and plots."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from .._clock import LiveClock
from .._orders import Fill
from ..execution._instruments import instrument_for
from ..execution._market import MarketState
from ..execution._metrics import trading_report
from ..execution._paper import PaperBroker
from ..execution._portfolio import Portfolio
from ..execution._risk import RiskManager
from ..execution._router import OrderRouter
from ._reader import JournalContents

__all__ = ["JournalHistory", "history"]


@attrs.frozen
class JournalHistory:
    """A journal's runs and account as one run's report would give them.

    :ivar trading: the ``trading`` section of a run summary, over all runs (marks: the
        last fill price of each symbol, the journal holds no market data).
    :ivar equity_curve: ``(ts_ns, equity)`` at each fill.
    """

    contents: JournalContents
    trading: dict[str, Any]
    equity_curve: list[tuple[int, Decimal]]
    fills: list[Fill]

    @property
    def first_ns(self) -> int:
        """When the first run started (a backtest's clock starts at its first event)."""
        runs = self.contents.runs
        return int(runs[0]["started_ns"] or runs[0]["ready_ns"] or 0) if runs else 0

    @property
    def last_ns(self) -> int:
        """The latest time the journal knows of (a stop, a fill, a start)."""
        runs = self.contents.runs
        times = [t for r in runs for t in (r["started_ns"], r["ready_ns"], r["stopped_ns"]) if t]
        times += [f.ts_recv for f in self.fills]
        return max(times, default=0)


def history(contents: JournalContents) -> JournalHistory:
    """Book ``contents``' fills and balance snapshots again, as a restart does."""
    quote = _quote_asset(contents)
    clock = LiveClock()
    market = MarketState()
    router = OrderRouter(clock, RiskManager(clock), PaperBroker(), Portfolio(contents.starting_cash), market,
                         venue=str(contents.runs[-1]["venue"]) if contents.runs else "binance", quote_asset=quote)
    router.restore(contents.starting_cash, contents.history, contents.orders, 0)
    result = JournalHistory(contents, {}, list(router.equity_curve), list(router.fills))
    trading = trading_report(router, result.first_ns, result.last_ns)
    trading["rejected"] = contents.rejected
    trading["kill_switch"] = next((e["reason"] for e in contents.risk_events if e["kind"] == "kill"), "")
    return attrs.evolve(result, trading=trading)


def _quote_asset(contents: JournalContents) -> str:
    """The quote of the first symbol traded; else the one asset the account started with."""
    for item in contents.history:
        if isinstance(item, Fill):
            return instrument_for(item.symbol).quote
    for order in contents.open_orders:
        return instrument_for(order.order.symbol).quote
    cash = list(contents.starting_cash)
    return cash[0] if len(cash) == 1 else "USDT"
