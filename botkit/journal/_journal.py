"""The journal writer: one SQLite file (WAL) that a run writes everything it does to.

Rows collect in memory and are written in one transaction by :meth:`Journal.flush`:
every 10 ms from the engine's journal task, at each fill and timer tick, and at the
stop. Before a frame with an order leaves, :meth:`Journal.flush_intents` commits just
the order intents waiting (so an order is durable before it can reach the venue; the
other rows, which a restart re-learns from the venue, wait for the next batch).

A fill and the strategy state saved after its ``on_fill`` are added together, so they
always commit together: after a crash either both are there or neither is, and the fill
is then fetched from the venue again. Commits use ``synchronous=NORMAL`` by default:
durable against the process dying (SIGKILL, OOM), not against the machine losing power
(``synchronous="full"`` fsyncs every commit, at a cost per order; see docs/journal.md).

One process writes a journal: a lock file beside it (``FILE.lock``, ``flock``) makes a
second refuse, and the kernel releases it when the holder dies, however it dies.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import anyio

from .._exceptions import JournalError, UsageError
from .._orders import Fill, Order, OrderUpdate
from .._version import __version__
from ._reader import JournalContents, read_journal
from ._schema import migrate

__all__ = ["Journal", "JournalStats"]

_FLUSH_EVERY_S = 0.01
_CHECKPOINT_EVERY_S = 5.0

_INTENT = ("INSERT INTO orders (client_id, seq, run, ts_ns, strategy, venue, symbol, side, type, size, price, "
           "time_in_force, post_only, status, filled) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'submitted','0')")
_SENT = "UPDATE orders SET expires_ms = ? WHERE client_id = ?"
_VIEW = "INSERT INTO venue_reports VALUES (?,?,?,?,?,?,?,?)"
_UPDATE = "INSERT INTO order_updates VALUES (?,?,?,?,?,?,?,?)"
_ORDER_STATUS = "UPDATE orders SET status = ?, filled = ? WHERE client_id = ?"
_FILL = "INSERT OR IGNORE INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
_CANCEL = "INSERT INTO cancels VALUES (?,?,?,?)"
_BALANCES = "INSERT INTO balances VALUES (?,?,?,?,?)"
_RISK = "INSERT INTO risk_events VALUES (?,?,?,?,?)"
_STATE = "INSERT OR REPLACE INTO strategy_state VALUES (1,?,?,?,?,?)"


class JournalStats:
    """What the writer did: rows, transactions and their cost (for the bench and docs)."""

    __slots__ = ("duplicate_fills", "flush_ns", "flushes", "rows")

    def __init__(self) -> None:
        self.rows = 0
        self.flushes = 0
        self.flush_ns = 0
        #: Fills offered twice (the same venue trade id): the second is not written.
        self.duplicate_fills = 0


class Journal:
    """A run's journal at ``path`` (created if missing; an existing one is continued).

    Example::

        journal = Journal("scalper.journal")
        engine = Engine(Scalper(), source, journal=journal)   # restores, then journals

    :param synchronous: ``"normal"`` (survives the process being killed) or ``"full"``
        (also a power loss: an fsync per commit).
    :raises JournalError: the file is corrupt, not a journal, of a newer schema, or held
        by another process (one line; the file is left as it is).
    """

    def __init__(self, path: str | Path, *, synchronous: Literal["normal", "full"] = "normal",
                 strategy: str = "") -> None:
        self.path = str(path)
        self.strategy = strategy
        if synchronous not in ("normal", "full"):
            raise JournalError(f"journal sync must be 'normal' or 'full', got {synchronous!r}")
        if Path(self.path).is_dir():
            raise JournalError(f"--journal {self.path} is a directory: pass a file")
        self._lock_fd = _lock(self.path)
        try:
            self._conn = _open(self.path, synchronous)
            self._seq: int = max(self._conn.execute(f"SELECT coalesce(max(seq), 0) FROM {table}").fetchone()[0]
                            for table in ("orders", "order_updates", "venue_reports", "fills", "cancels",
                                          "balances", "risk_events", "strategy_state"))
        except BaseException:
            os.close(self._lock_fd)
            raise
        self.run = 0
        self.stats = JournalStats()
        self._rows: list[tuple[str, tuple[Any, ...]]] = []
        self._intents: list[tuple[str, tuple[Any, ...]]] = []  # committed first: before the frame
        self._state: tuple[Any, ...] | None = None
        self._closed = False

    def read(self) -> JournalContents:
        """What the journal holds (all runs so far)."""
        self.flush()
        return read_journal(self._conn, self.path)

    def last_id_number(self, prefix: str) -> int:
        """The highest counter in the client ids ``prefix`` + counter it holds (a paper
        run's ids go on from there)."""
        pattern = prefix.replace("[", "[[]") + "[0-9]*"
        start = len(prefix) + 1
        top = self._conn.execute(
            "SELECT max(n) FROM (SELECT max(CAST(substr(client_id, ?) AS INTEGER)) AS n FROM orders "
            "WHERE client_id GLOB ? UNION ALL SELECT max(CAST(substr(client_id, ?) AS INTEGER)) FROM order_updates "
            "WHERE client_id GLOB ?)", (start, pattern, start, pattern)).fetchone()[0]
        return int(top or 0)

    # -- rows -----------------------------------------------------------------------------

    def start_run(self, *, mode: str, strategy: str, venue: str, endpoint: str, id_prefix: str,
                  restored: bool, starting_cash: Mapping[str, Decimal], ts_ns: int) -> int:
        """A process starts writing: its run number (written at once)."""
        cursor = self._conn.execute(
            "INSERT INTO runs (started_ns, mode, strategy, venue, endpoint, id_prefix, restored, starting_cash, pid, "
            "botkit_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (ts_ns, mode, strategy, venue, endpoint, id_prefix, int(restored),
             json.dumps({a: str(v) for a, v in starting_cash.items()}), os.getpid(), __version__))
        self.run = int(cursor.lastrowid or 0)
        self.strategy = strategy
        return self.run

    def intent(self, order: Order) -> None:
        self._intents.append((_INTENT, (
            order.client_id, self._next(), self.run, order.ts_submitted, self.strategy, order.venue, order.symbol,
            order.side.value, order.type.value, str(order.size), None if order.price is None else str(order.price),
            order.time_in_force.value, int(order.post_only))))

    def sent(self, client_id: str, expires_ms: int) -> None:
        self._intents.append((_SENT, (expires_ms, client_id)))

    def venue_view(self, client_id: str, order_id: int, status: str, executed: Decimal, reason: str) -> None:
        self._rows.append((_VIEW, (self._next(), self.run, client_id, order_id, status, str(executed), reason,
                                   time.time_ns())))

    def update(self, update: OrderUpdate) -> None:
        """An update the strategy was told (after its ``on_order``)."""
        status, filled = update.status.value, str(update.filled)
        self._rows.append((_UPDATE, (self._next(), self.run, update.client_id, status, filled,
                                     str(update.remaining), update.reason, update.ts_recv)))
        self._rows.append((_ORDER_STATUS, (status, filled, update.client_id)))

    def fill(self, fill: Fill) -> None:
        """A fill the strategy was told (after its ``on_fill``)."""
        self._rows.append((_FILL, (
            self._next(), self.run, fill.client_id, fill.venue, fill.symbol, fill.trade_id, fill.side.value,
            str(fill.price), str(fill.size), str(fill.fee), fill.fee_asset, fill.liquidity, fill.ts_recv)))

    def cancel(self, client_id: str, ts_ns: int) -> None:
        self._rows.append((_CANCEL, (self._next(), self.run, client_id, ts_ns)))

    def balances(self, balances: Mapping[str, Decimal], first: bool, ts_ns: int) -> None:
        self._rows.append((_BALANCES, (self._next(), self.run, int(first),
                                       json.dumps({a: str(v) for a, v in sorted(balances.items())}), ts_ns)))

    def risk_event(self, kind: str, reason: str, ts_ns: int) -> None:
        """``kind``: ``"halt"``, ``"lifted"``, ``"kill"`` or ``"cancel_all"`` (an operator's)."""
        self._rows.append((_RISK, (self._next(), self.run, kind, reason, ts_ns)))

    def state(self, state: Mapping[str, Any], reason: str, ts_ns: int) -> None:
        """Save the strategy's ``self.state`` (the latest save wins; written last in its
        transaction, after the fills it has seen).

        :raises UsageError: a value JSON cannot hold."""
        try:
            text = json.dumps(state, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"self.state must hold JSON values only (str, int, float, bool, None, lists and "
                             f"dicts with str keys; a Decimal as str): {exc}") from None
        self._state = (self._next(), self.run, reason, text, ts_ns)

    def ready(self, ts_ns: int) -> None:
        """The run restored and reconciled its state and ran ``on_start`` (written at once)."""
        self.flush()
        self._conn.execute("UPDATE runs SET ready_ns = ? WHERE run = ?", (ts_ns, self.run))

    def stop_run(self, reason: str, ts_ns: int) -> None:
        """The run ended cleanly (written at once)."""
        self.flush()
        self._conn.execute("UPDATE runs SET stopped_ns = ?, stop_reason = ? WHERE run = ?",
                           (ts_ns, reason, self.run))

    # -- writing --------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return bool(self._rows or self._intents) or self._state is not None

    def flush(self) -> None:
        """Write what is pending in one transaction."""
        if not self._rows and not self._intents and self._state is None:
            return
        rows, state = [*self._intents, *self._rows], self._state
        self._rows, self._intents, self._state = [], [], None
        self._commit(rows, state)

    def flush_intents(self) -> None:
        """Commit the order intents waiting (and when they were sent), alone: what must
        be durable before an order's frame is written."""
        if self._intents:
            rows, self._intents = self._intents, []
            self._commit(rows, None)

    def _commit(self, rows: list[tuple[str, tuple[Any, ...]]], state: tuple[Any, ...] | None) -> None:
        started = time.perf_counter_ns()
        conn = self._conn
        try:
            conn.execute("BEGIN")
            for sql, params in rows:
                if conn.execute(sql, params).rowcount == 0 and sql is _FILL:
                    self.stats.duplicate_fills += 1
            if state is not None:
                conn.execute(_STATE, state)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise JournalError(f"{self.path}: cannot write the journal: {exc}") from None
        stats = self.stats
        stats.rows += len(rows) + (state is not None)
        stats.flushes += 1
        stats.flush_ns += time.perf_counter_ns() - started

    async def run_writer(self, poll: Any = None) -> None:
        """Flush every 10 ms (after ``poll()``, which may add rows) and checkpoint the WAL
        into the database every 5 s from a worker thread, until cancelled."""
        checkpoint_at = time.monotonic() + _CHECKPOINT_EVERY_S
        while True:
            await anyio.sleep(_FLUSH_EVERY_S)
            if poll is not None:
                poll()
            self.flush()
            if time.monotonic() >= checkpoint_at:
                await anyio.to_thread.run_sync(_checkpoint, self.path, abandon_on_cancel=True)
                checkpoint_at = time.monotonic() + _CHECKPOINT_EVERY_S

    def close(self) -> None:
        """Flush and release the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self._conn.close()
            os.close(self._lock_fd)

    def _next(self) -> int:
        self._seq += 1
        return int(self._seq)


def _lock(path: str) -> int:
    import fcntl

    lock_path = f"{path}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise JournalError(f"{path}: cannot create its lock file {lock_path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise JournalError(f"{path} is in use by another botkit process (pid {holder}): one process writes a "
                           "journal; stop it, or pass another --journal") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _open(path: str, synchronous: str) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise JournalError(f"{path}: cannot open the journal: {exc}") from None
    try:
        conn.execute("PRAGMA busy_timeout = 2000")
        migrate(conn, path)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(f"{path}: SQLite would not use WAL mode here (got {mode!r}): is it on a network drive?")
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        # The journal task checkpoints from a worker thread: a commit on the event loop
        # never copies the WAL into the database itself.
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise JournalError(f"{path}: not a readable journal ({exc}); the file is left as it is") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _checkpoint(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        pass  # busy: the next one will do
    finally:
        conn.close()
