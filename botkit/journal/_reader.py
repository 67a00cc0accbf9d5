"""Reading a journal back: what a restart restores, and what ``botkit journal`` shows."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from .._events import Side
from .._exceptions import JournalError
from .._orders import Fill, Order, OrderStatus, OrderType, TimeInForce
from ..execution._journaling import RestoredOrder
from ..execution._tracker import VenueBalances, VenueStatus
from ._schema import SCHEMA_VERSION, check_app

__all__ = ["JournalContents", "open_for_reading", "read_journal"]

_ZERO = Decimal(0)
_FINAL = ("filled", "cancelled", "rejected", "expired")


@attrs.frozen
class JournalContents:
    """Everything a journal holds that a run or a reader needs.

    :ivar runs: one dict per run (the ``runs`` table), oldest first.
    :ivar starting_cash: the account at the first run's start (live: the venue's first
        balances).
    :ivar history: fills and balance snapshots, in the order they were journaled.
    :ivar open_orders: orders sent and not known to be finished.
    :ivar last_trade_ids: per symbol, the highest venue trade id journaled (live venues
        number their trades; a paper journal has none).
    :ivar state: the strategy's last saved ``self.state`` (None: never saved).
    :ivar orders: order intents journaled; ``updates``: updates told; ``rejected``:
        orders that ended rejected.
    :ivar risk_events: halts, lifts and kill switch trips, oldest first.
    """

    runs: list[dict[str, Any]]
    starting_cash: dict[str, Decimal]
    history: list[Fill | VenueBalances]
    open_orders: list[RestoredOrder]
    last_trade_ids: dict[str, list[str]]
    state: dict[str, Any] | None
    orders: int
    updates: int
    rejected: int
    risk_events: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not self.runs


def open_for_reading(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to the journal at ``path`` (another process may be writing it).

    :raises JournalError: missing, corrupt, not a journal, or of a newer schema.
    """
    shown = str(path)
    if not Path(path).is_file():
        raise JournalError(f"{shown}: no such journal")
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{shown}: not a readable journal ({exc})") from None
    if version > SCHEMA_VERSION:
        conn.close()
        raise JournalError(f"{shown}: journal schema version {version} is newer than this botkit's "
                           f"({SCHEMA_VERSION}): upgrade botkit to read it")
    try:
        check_app(conn, shown)
    except JournalError:
        conn.close()
        raise
    return conn


def read_journal(conn: sqlite3.Connection, path: str = "journal") -> JournalContents:
    """Everything in the journal ``conn`` reads.

    :raises JournalError: its contents are damaged (a row that does not parse).
    """
    factory = conn.row_factory
    conn.row_factory = sqlite3.Row
    try:
        return _read(conn)
    except ArithmeticError:
        raise JournalError(f"{path}: the journal is damaged (a number in it does not parse); "
                           "the file is left as it is") from None
    except (sqlite3.DatabaseError, ValueError, KeyError) as exc:
        raise JournalError(f"{path}: the journal is damaged ({type(exc).__name__}: {exc}); "
                           "the file is left as it is") from None
    finally:
        conn.row_factory = factory


def _read(conn: sqlite3.Connection) -> JournalContents:
    runs = [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY run")]
    fills: list[tuple[int, Fill | VenueBalances]] = [(r["seq"], _fill(r)) for r in conn.execute("SELECT * FROM fills")]
    balances: list[tuple[int, Fill | VenueBalances]] = [
        (r["seq"], VenueBalances({a: Decimal(v) for a, v in json.loads(r["balances"]).items()}, bool(r["first"])))
        for r in conn.execute("SELECT * FROM balances")]
    history = [item for _, item in sorted([*fills, *balances], key=lambda pair: pair[0])]
    starting: dict[str, Decimal] = {}
    if runs:
        starting = {a: Decimal(v) for a, v in json.loads(runs[0]["starting_cash"]).items()}
        first = next((b for b in history if isinstance(b, VenueBalances) and b.first), None)
        if first is not None and runs[0]["mode"] == "live":
            starting = dict(first.balances)
    open_orders = [_restored(conn, r) for r in conn.execute(
        f"SELECT * FROM orders WHERE status NOT IN ({','.join('?' * len(_FINAL))}) ORDER BY seq", _FINAL)]
    last: dict[str, list[str]] = {}
    for row in conn.execute("SELECT symbol, max(CAST(trade_id AS INTEGER)) AS top FROM fills "
                            "WHERE trade_id GLOB '[0-9]*' AND trade_id NOT GLOB '*[^0-9]*' GROUP BY symbol"):
        last[row["symbol"]] = [str(row["top"])]
    state_row = conn.execute("SELECT state FROM strategy_state WHERE id = 1").fetchone()
    state = json.loads(state_row["state"]) if state_row is not None else None
    if state is not None and not isinstance(state, dict):
        raise ValueError("the saved strategy state is not a JSON object")
    return JournalContents(
        runs=runs,
        starting_cash=starting,
        history=history,
        open_orders=open_orders,
        last_trade_ids=last,
        state=state,
        orders=conn.execute("SELECT count(*) FROM orders").fetchone()[0],
        updates=conn.execute("SELECT count(*) FROM order_updates").fetchone()[0],
        rejected=conn.execute("SELECT count(*) FROM orders WHERE status = 'rejected'").fetchone()[0],
        risk_events=[dict(r) for r in conn.execute("SELECT * FROM risk_events ORDER BY seq")],
    )


def _fill(row: sqlite3.Row) -> Fill:
    return Fill(row["client_id"], row["venue"], row["symbol"], Side(row["side"]), Decimal(row["price"]),
                Decimal(row["size"]), Decimal(row["fee"]), row["fee_asset"], row["liquidity"], row["ts_ns"],
                row["trade_id"])


def _order(row: sqlite3.Row) -> Order:
    return Order(row["client_id"], row["venue"], row["symbol"], Side(row["side"]), OrderType(row["type"]),
                 Decimal(row["size"]), None if row["price"] is None else Decimal(row["price"]),
                 TimeInForce(row["time_in_force"]), bool(row["post_only"]), row["ts_ns"])


def _restored(conn: sqlite3.Connection, row: sqlite3.Row) -> RestoredOrder:
    client_id = row["client_id"]
    order_id, status, executed = -1, "", _ZERO
    for view in conn.execute("SELECT order_id, status, executed FROM venue_reports WHERE client_id = ?",
                             (client_id,)):
        order_id = max(order_id, view["order_id"])
        if not status or VenueStatus[view["status"]] > VenueStatus[status]:
            status = view["status"]
        executed = max(executed, Decimal(view["executed"]))
    fills = conn.execute("SELECT trade_id, size FROM fills WHERE client_id = ?", (client_id,)).fetchall()
    filled = sum((Decimal(f["size"]) for f in fills), _ZERO)
    return RestoredOrder(_order(row), OrderStatus(row["status"]), filled, order_id, status, executed,
                         row["expires_ms"] or 0, tuple(f["trade_id"] for f in fills))
