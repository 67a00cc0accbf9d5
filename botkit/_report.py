"""Human-readable run summary (rich table on stdout)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ._engine import RunSummary

__all__ = ["print_summary"]


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
    if summary.conflated or summary.backpressure_waits or summary.unprocessed:
        table.add_row("conflated quotes/books", f"{summary.conflated:,}")
        table.add_row("backpressure waits", f"{summary.backpressure_waits:,}")
        table.add_row("unprocessed at stop", f"{summary.unprocessed:,}")
    for halt in summary.halts:
        table.add_row("trading halted", halt["reason"])
    if summary.error:
        table.add_row("error", summary.error)
    (console or Console()).print(table)
