"""``botkit journal FILE``: a journal's runs, open orders, positions and P&L."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from .._engine import RunSummary
from ..journal import SCHEMA_VERSION, open_for_reading, read_journal
from ..journal._history import JournalHistory, history
from ._summary import trading_table

__all__ = ["journal"]


def journal(args: argparse.Namespace) -> int:
    conn = open_for_reading(args.file)
    try:
        book = history(read_journal(conn, args.file))
    finally:
        conn.close()
    if args.report:
        from ._report_files import write_report

        prices = [(f.ts_recv, f.price) for f in book.fills]
        paths = write_report(args.report, _summary(args.file, book), book.equity_curve, prices, book.fills,
                             _title(args.file, book))
        print(f"botkit: report written: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    if args.json:
        print(json.dumps(_as_json(args.file, book), separators=(",", ":")))
    else:
        _print(args.file, book)
    return 0


def _runs(book: JournalHistory) -> list[dict[str, Any]]:
    shown = ("run", "started_ns", "ready_ns", "stopped_ns", "stop_reason", "mode", "strategy", "venue", "endpoint",
             "restored", "pid", "botkit_version")
    return [{**{k: run[k] for k in shown}, "restored": bool(run["restored"]), "ended": _ended(run)}
            for run in book.contents.runs]


def _ended(run: dict[str, Any]) -> str:
    """How the run ended: its stop reason, or that it never stopped (killed, or running)."""
    if run["stopped_ns"]:
        return str(run["stop_reason"])
    return "no stop written (killed, or still running)"


def _open_orders(book: JournalHistory) -> list[dict[str, Any]]:
    return [{"client_id": o.order.client_id, "symbol": o.order.symbol, "side": o.order.side.value,
             "type": o.order.type.value, "size": str(o.order.size),
             "price": None if o.order.price is None else str(o.order.price), "status": o.told.value,
             "filled": str(o.filled), "venue_status": o.venue_status, "order_id": o.order_id}
            for o in book.contents.open_orders]


def _as_json(path: str, book: JournalHistory) -> dict[str, Any]:
    trading = book.trading
    return {
        "journal": path,
        "schema_version": SCHEMA_VERSION,
        "runs": _runs(book),
        "open_orders": _open_orders(book),
        "positions": trading["positions"],
        "cash": trading["cash"],
        "trading": trading,
        "risk_events": book.contents.risk_events,
        "state": book.contents.state,
    }


def _print(path: str, book: JournalHistory) -> None:
    console = Console()
    runs_count = len(book.contents.runs)
    console.print(f"journal {path}: {runs_count} run{'s' * (runs_count != 1)}", markup=False, soft_wrap=True)
    runs = Table()
    for name in ("run", "started (UTC)", "mode", "strategy", "venue", "restored", "ended"):
        runs.add_column(name)
    for run in _runs(book):
        runs.add_row(str(run["run"]), _time(run["started_ns"] or run["ready_ns"]), run["mode"], run["strategy"],
                     run["venue"], "yes" if run["restored"] else "no", run["ended"])
    console.print(runs)
    orders = _open_orders(book)
    table = Table(title=f"open orders: {len(orders)}", title_justify="left")
    for name in ("client id", "symbol", "side", "type", "size", "price", "status", "filled"):
        table.add_column(name)
    for o in orders:
        table.add_row(o["client_id"], o["symbol"], o["side"], o["type"], o["size"], o["price"] or "market",
                      o["status"], o["filled"])
    console.print(table)
    mode = book.contents.runs[-1]["mode"] if book.contents.runs else "paper"
    console.print(trading_table(book.trading, mode))
    for asset, amount in book.trading["cash"].items():
        console.print(f"cash {asset}: {Decimal(amount):,.8f}".rstrip("0").rstrip("."))
    for event in book.contents.risk_events:
        console.print(f"risk {event['kind']} at {_time(event['ts_ns'])}: {event['reason']}", markup=False)
    state = book.contents.state
    console.print(f"strategy state: {json.dumps(state) if state is not None else 'never saved'}", markup=False)


def _summary(path: str, book: JournalHistory) -> RunSummary:
    runs = book.contents.runs
    return RunSummary(
        events=0, events_by_type={}, events_per_s=0.0, strategy_errors=0, elapsed_s=0.0, frames=0,
        parse_errors=0, ignored_frames=0, gaps=0, duplicates=0, reconnects=0, stale_detections=0, conflated=0,
        backpressure_waits=0, unprocessed=0, stopped_by=_ended(runs[-1]) if runs else "no runs", halts=[],
        source=f"journal {path} ({len(runs)} runs)", first_event_ns=book.first_ns, last_event_ns=book.last_ns,
        trading=book.trading,
    )


def _title(path: str, book: JournalHistory) -> str:
    runs = book.contents.runs
    who = f"{runs[-1]['strategy']} on {runs[-1]['venue']} ({runs[-1]['mode']})" if runs else "no runs"
    return f"{who}: journal {path}"


def _time(ns: int | None) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S") if ns else "-"
