"""Human-readable run summary (rich table on stdout)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from .._engine import RunSummary

__all__ = ["print_summary", "trading_table"]


def print_summary(summary: RunSummary, console: Console | None = None) -> None:
    """Print ``summary`` as a table."""
    table = Table(title="botkit run summary", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("source", summary.source)
    table.add_row("stopped by", summary.stopped_by)
    table.add_row("events", f"{summary.events:,}")
    for name, count in summary.events_by_type.items():
        table.add_row(f"  {name}", f"{count:,}")
    table.add_row("events/s", f"{summary.events_per_s:,.0f}")
    table.add_row("elapsed", f"{summary.elapsed_s:.3f} s")
    table.add_row("frames", f"{summary.frames:,}")
    table.add_row("parse errors", f"{summary.parse_errors:,}")
    table.add_row("strategy errors", f"{summary.strategy_errors:,}")
    if summary.gaps or summary.duplicates or summary.outliers:
        table.add_row("gaps / duplicates / outliers",
                      f"{summary.gaps:,} / {summary.duplicates:,} / {summary.outliers:,}")
    if len(summary.feeds) > 1:
        for venue, feed in summary.feeds.items():
            table.add_row(f"  {venue}", f"{feed['frames']:,} frames, {feed['parse_errors']:,} parse errors, "
                                        f"{feed['gaps']:,} gaps, {feed['reconnects']:,} reconnects")
    for warning in summary.warnings:
        table.add_row("warning", warning)
    if summary.conflated or summary.backpressure_waits or summary.unprocessed:
        table.add_row("conflated quotes/books", f"{summary.conflated:,}")
        table.add_row("backpressure waits", f"{summary.backpressure_waits:,}")
        table.add_row("unprocessed at stop", f"{summary.unprocessed:,}")
    for halt in summary.halts:
        repeats = halt.get("count", 1)
        table.add_row("trading halted", halt["reason"] + (f" (x{repeats:,})" if repeats > 1 else ""))
    if summary.error:
        table.add_row("error", summary.error)
    console = console or Console()
    console.print(table)
    trading = summary.trading
    if trading and trading.get("orders"):
        console.print(trading_table(trading))


def trading_table(t: dict[str, Any], mode: str = "") -> Table:
    """The ``trading`` section of a summary as a table (``mode``: as the title says it;
    default live or paper, from the section)."""
    mode = mode or ("live" if "live" in t else "paper")
    table = Table(title=f"trading ({t['quote_asset']}, {mode})", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    pct = f" ({t['return_pct']:+.3f} %)" if t.get("return_pct") is not None else ""
    table.add_row("total return", f"{Decimal(t['total_return']):,.4f}{pct}")
    table.add_row("realised P&L", f"{Decimal(t['realised_pnl']):,.4f}")
    table.add_row("fees", f"{Decimal(t['fees']):,.4f}")
    table.add_row("orders / fills / rejected", f"{t['orders']} / {t['fills']} / {t['rejected']}")
    table.add_row("win rate", "n/a" if t["win_rate"] is None else f"{t['win_rate'] * 100:.1f} %")
    dd_pct = f" ({t['max_drawdown_pct']:.3f} %)" if t.get("max_drawdown_pct") is not None else ""
    table.add_row("max drawdown", f"{Decimal(t['max_drawdown']):,.4f}{dd_pct}")
    table.add_row("Sharpe (1-min, annualised)", "n/a" if t["sharpe"] is None else f"{t['sharpe']:.2f}")
    table.add_row("exposure", f"{t['exposure'] * 100:.1f} %")
    table.add_row("final equity", f"{Decimal(t['final_equity']):,.4f}")
    for symbol, size in t.get("positions", {}).items():
        table.add_row(f"position {symbol}", size)
    if not t.get("positions"):
        table.add_row("positions", "flat")
    for venue, account in t.get("venues", {}).items():
        held = ", ".join(f"{size} {symbol}" for symbol, size in account["positions"].items()) or "flat"
        table.add_row(f"  {venue} ({account['quote_asset']})",
                      f"return {Decimal(account['total_return']):,.4f}, fees {Decimal(account['fees']):,.4f}, "
                      f"{account['fills']} fills, {held}")
    for reason, count in t.get("rejections", {}).items():
        table.add_row(f"rejected: {reason}", f"{count:,}")
    if t.get("kill_switch"):
        table.add_row("kill switch", t["kill_switch"])
    return table
