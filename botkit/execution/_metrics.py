"""Performance figures of a run, from the order router's record.

Methods (documented because every framework computes these differently):

* **return**: final equity - starting equity, in the quote asset; percent of starting.
* **win rate**: share of position-reducing fills whose realised P&L net of that fill's
  fee is positive.
* **max drawdown**: largest fall of the equity curve from a running peak (absolute and
  percent of that peak). Equity is sampled after every fill and once per second of
  engine time while a position is open.
* **Sharpe**: equity resampled to one point per minute of engine time (last value in
  each minute, carried forward), simple returns, mean / standard deviation (sample),
  annualised by sqrt(525,600) (minutes in a 365-day year: crypto trades around the
  clock), risk-free rate 0. ``null`` with fewer than two returns or zero deviation.
* **exposure**: share of the run's engine time with a non-zero position.
* **several venues**: each venue's account is valued in its own quote asset at its own
  venue's last trade prices; the run's equity is their sum (quote assets at par: a
  USDT and a USD account add up as if one), and ``venues`` gives each account.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from ._broker import LiveBroker
from ._router import OrderRouter

__all__ = ["percent", "trading_report"]

_MINUTE = 60_000_000_000
_MINUTES_PER_YEAR = 525_600


def trading_report(router: OrderRouter, start_ns: int, end_ns: int) -> dict[str, Any]:
    """The trading section of the run summary (JSON-ready: decimals as strings)."""
    portfolio = router.portfolio
    quote = router.quote_asset
    starting = router.starting_equity()
    curve = [(start_ns, starting), *router.equity_curve] if start_ns else list(router.equity_curve)
    final = curve[-1][1] if curve else starting
    total = final - starting
    wins = sum(1 for pnl in router.closing_pnls if pnl > 0)
    drawdown, drawdown_pct = _max_drawdown([e for _, e in curve])
    span = max(end_ns - start_ns, 0)
    return {
        "quote_asset": quote,
        "starting_equity": str(starting),
        "final_equity": str(final),
        "total_return": str(total),
        "return_pct": percent(total, starting),
        "realised_pnl": str(portfolio.realised_pnl),
        "fees": str(portfolio.fees),
        "orders": router.orders,
        "rejected": router.rejected,
        "fills": len(router.fills),
        "round_trips": len(router.closing_pnls),
        "win_rate": round(wins / len(router.closing_pnls), 4) if router.closing_pnls else None,
        "max_drawdown": str(drawdown),
        "max_drawdown_pct": drawdown_pct,
        "sharpe": _sharpe(curve),
        "exposure": round(router.exposure_ns / span, 4) if span else 0.0,
        "positions": {s: str(p.size) for s, p in sorted(portfolio.positions.items()) if p.size},
        "cash": {a: str(v) for a, v in sorted(portfolio.cash.items())},
        "rejections": dict(sorted(router.rejections.items())),
        "kill_switch": router.risk.killed,
        **({"venues": _venues(router)} if len(router.accounts) > 1 else {}),
        **({"live": {**router.broker.report(), "balance_corrections": router.balance_corrections}}
           if isinstance(router.broker, LiveBroker) else {}),
    }


def _venues(router: OrderRouter) -> dict[str, dict[str, Any]]:
    """Each venue's account of a run on several: its own cash, positions and P&L (its
    equity marked at that venue's last trades, in its quote asset)."""
    fills: dict[str, int] = {}
    for fill in router.fills:
        fills[fill.venue] = fills.get(fill.venue, 0) + 1
    venues = {}
    for venue, account in router.accounts.items():
        portfolio = account.portfolio
        starting = portfolio.starting_cash.get(account.quote_asset, Decimal(0))
        final = account.equity()
        venues[venue] = {
            "quote_asset": account.quote_asset,
            "starting_equity": str(starting),
            "final_equity": str(final),
            "total_return": str(final - starting),
            "realised_pnl": str(portfolio.realised_pnl),
            "fees": str(portfolio.fees),
            "fills": fills.get(venue, 0),
            "positions": {s: str(p.size) for s, p in sorted(portfolio.positions.items()) if p.size},
            "cash": {a: str(v) for a, v in sorted(portfolio.cash.items())},
        }
    return venues


def percent(part: Decimal, whole: Decimal) -> float | None:
    """``part`` as a percentage of ``whole``'s magnitude (None when ``whole`` is 0)."""
    # Of the magnitude: a gain is positive whatever the sign of what it is measured on.
    return round(float(part / abs(whole) * 100), 4) if whole else None


def _max_drawdown(values: list[Decimal]) -> tuple[Decimal, float | None]:
    peak: Decimal | None = None
    worst = Decimal(0)
    worst_pct: float | None = None
    for value in values:
        if peak is None or value > peak:
            peak = value
        fall = peak - value
        if fall > worst:
            worst = fall
            worst_pct = percent(fall, peak)
    return worst, (worst_pct if worst else 0.0)


def _sharpe(curve: list[tuple[int, Decimal]]) -> float | None:
    if len(curve) < 2:
        return None
    first_minute = curve[0][0] // _MINUTE
    last_minute = curve[-1][0] // _MINUTE
    if last_minute - first_minute > 10 * _MINUTES_PER_YEAR:
        return None  # nonsense span (bad timestamps): refuse to make up a figure
    per_minute: dict[int, float] = {}
    for ts, equity in curve:
        per_minute[ts // _MINUTE] = float(equity)
    series = []
    value = per_minute[first_minute]
    for minute in range(first_minute, last_minute + 1):
        value = per_minute.get(minute, value)
        series.append(value)
    returns = [b / a - 1 for a, b in zip(series, series[1:], strict=False) if a]
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if var <= 0:
        return None
    return round(mean / math.sqrt(var) * math.sqrt(_MINUTES_PER_YEAR), 4)
