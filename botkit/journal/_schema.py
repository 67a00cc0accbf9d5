"""The journal's SQLite schema, its version and its migrations.

The version is SQLite's ``user_version``; ``meta`` names the file as a botkit journal.
Every row carries ``seq``, one counter across tables, so what happened can be read back
in the order it happened; decimals are stored as text (exact), times as integer
nanoseconds (engine time: wall time in a live run).
"""

from __future__ import annotations

import sqlite3

from .._exceptions import JournalError

__all__ = ["APP", "MIGRATIONS", "SCHEMA_VERSION", "migrate"]

APP = "botkit-journal"

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('app', 'botkit-journal');
-- One row per process that wrote the journal. stopped_ns NULL: the process died (or runs).
CREATE TABLE runs (
    run INTEGER PRIMARY KEY,
    started_ns INTEGER NOT NULL,
    ready_ns INTEGER,                 -- restored, reconciled, on_start done
    stopped_ns INTEGER,
    stop_reason TEXT,
    mode TEXT NOT NULL,               -- 'paper' | 'live' | 'backtest'
    strategy TEXT NOT NULL,
    venue TEXT NOT NULL,
    endpoint TEXT NOT NULL,           -- redacted: no credentials
    id_prefix TEXT NOT NULL,
    restored INTEGER NOT NULL,        -- 1: started from an earlier run's state
    starting_cash TEXT NOT NULL,      -- JSON {asset: decimal}
    pid INTEGER NOT NULL,
    botkit_version TEXT NOT NULL
);
-- Order intents, written before the order is sent; status/filled follow its updates.
CREATE TABLE orders (
    client_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    run INTEGER NOT NULL,
    ts_ns INTEGER NOT NULL,
    strategy TEXT NOT NULL,
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,               -- 'buy' | 'sell'
    type TEXT NOT NULL,               -- 'market' | 'limit'
    size TEXT NOT NULL,
    price TEXT,
    time_in_force TEXT NOT NULL,      -- 'gtc' | 'ioc'
    post_only INTEGER NOT NULL,
    expires_ms INTEGER,               -- live: venue time after which it cannot be accepted
    status TEXT NOT NULL,             -- the last update the strategy was told
    filled TEXT NOT NULL
) WITHOUT ROWID;
-- Every update the strategy was told (on_order), in order.
CREATE TABLE order_updates (
    seq INTEGER PRIMARY KEY, run INTEGER NOT NULL, client_id TEXT NOT NULL, status TEXT NOT NULL,
    filled TEXT NOT NULL, remaining TEXT NOT NULL, reason TEXT NOT NULL, ts_ns INTEGER NOT NULL
);
-- What the venue said of each order: responses, execution reports, queries (live).
CREATE TABLE venue_reports (
    seq INTEGER PRIMARY KEY, run INTEGER NOT NULL, client_id TEXT NOT NULL, order_id INTEGER NOT NULL,
    status TEXT NOT NULL, executed TEXT NOT NULL, reason TEXT NOT NULL, ts_ns INTEGER NOT NULL
);
CREATE INDEX venue_reports_order ON venue_reports (client_id);
-- Fills, once each: the venue's trade id is unique per venue and symbol.
CREATE TABLE fills (
    seq INTEGER PRIMARY KEY, run INTEGER NOT NULL, client_id TEXT NOT NULL, venue TEXT NOT NULL,
    symbol TEXT NOT NULL, trade_id TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL, size TEXT NOT NULL,
    fee TEXT NOT NULL, fee_asset TEXT NOT NULL, liquidity TEXT NOT NULL, ts_ns INTEGER NOT NULL,
    UNIQUE (venue, symbol, trade_id)
);
CREATE INDEX fills_order ON fills (client_id);
CREATE TABLE cancels (seq INTEGER PRIMARY KEY, run INTEGER NOT NULL, client_id TEXT NOT NULL, ts_ns INTEGER NOT NULL);
-- The venue's balances (live, at each reconciliation) or the paper account's (at stop).
CREATE TABLE balances (
    seq INTEGER PRIMARY KEY, run INTEGER NOT NULL, first INTEGER NOT NULL, balances TEXT NOT NULL,
    ts_ns INTEGER NOT NULL
);
-- Risk halts, kill switch trips.
CREATE TABLE risk_events (
    seq INTEGER PRIMARY KEY, run INTEGER NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, ts_ns INTEGER NOT NULL
);
-- The strategy's self.state: the latest save only (at each fill, timer tick and stop).
CREATE TABLE strategy_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, run INTEGER NOT NULL, reason TEXT NOT NULL,
    state TEXT NOT NULL, ts_ns INTEGER NOT NULL
);
"""

#: ``(version, SQL)``: applied in order to a journal older than :data:`SCHEMA_VERSION`.
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1),)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring ``conn``'s journal to :data:`SCHEMA_VERSION` (creating it in an empty file).

    :raises JournalError: the file is another kind of database, or a newer journal.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise JournalError(f"{path}: journal schema version {version} is newer than this botkit's "
                           f"({SCHEMA_VERSION}): upgrade botkit to read it (the file is left as it is)")
    if version == 0:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise JournalError(f"{path}: an SQLite database, but not a botkit journal (the file is left as it is)")
    else:
        check_app(conn, path)
    for target, sql in MIGRATIONS:
        if target > version:  # each step in one transaction: a crash mid-migration leaves the old version
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {target};\nCOMMIT;")


def check_app(conn: sqlite3.Connection, path: str) -> None:
    """:raises JournalError: ``conn`` is not a botkit journal."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'app'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is None or row[0] != APP:
        raise JournalError(f"{path}: an SQLite database, but not a botkit journal (the file is left as it is)")
