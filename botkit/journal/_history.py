"""A journal's account rebuilt from its rows: what ``botkit journal`` prints and plots."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from .._clock import LiveClock
from .._orders import Fill
from ..execution._accounts import Account, VenueBrokers, split_venue_cash
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
    clock = LiveClock()
    market = MarketState()
    per_venue = split_venue_cash(contents.starting_cash)
    if per_venue:  # a run on several venues: one account each
        accounts = {venue: Account(venue, PaperBroker(venue=venue), Portfolio(cash), MarketState(),
                                   _quote_asset(contents, venue))
                    for venue, cash in per_venue.items()}
        router = OrderRouter(clock, RiskManager(clock), VenueBrokers(accounts), Portfolio({}), market,
                             venue=next(iter(accounts)), quote_asset="+".join(
                                 dict.fromkeys(a.quote_asset for a in accounts.values())), accounts=accounts)
    else:
        router = OrderRouter(clock, RiskManager(clock), PaperBroker(), Portfolio(contents.starting_cash), market,
                             venue=str(contents.runs[-1]["venue"]) if contents.runs else "binance",
                             quote_asset=_quote_asset(contents))
    router.restore(contents.starting_cash, contents.history, contents.orders, 0)
    result = JournalHistory(contents, {}, list(router.equity_curve), list(router.fills))
    trading = trading_report(router, result.first_ns, result.last_ns)
    trading["rejected"] = contents.rejected
    trading["kill_switch"] = next((e["reason"] for e in contents.risk_events if e["kind"] == "kill"), "")
    return attrs.evolve(result, trading=trading)


def _quote_asset(contents: JournalContents, venue: str | None = None) -> str:
    """The quote of the first symbol traded (on ``venue``); else the one asset the account
    started with."""
    for item in contents.history:
        if isinstance(item, Fill) and venue in (None, item.venue):
            return instrument_for(item.symbol).quote
    for order in contents.open_orders:
        if venue in (None, order.order.venue):
            return instrument_for(order.order.symbol).quote
    cash = list(split_venue_cash(contents.starting_cash).get(venue, {}) if venue else contents.starting_cash)
    return cash[0] if len(cash) == 1 else "USDT"
