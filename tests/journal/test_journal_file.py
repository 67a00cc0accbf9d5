"""The journal file: its schema and version, the one-writer lock, what is refused, and
what a flush commits together."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

import botkit
from botkit._orders import Order, OrderType, TimeInForce
from botkit.journal import SCHEMA_VERSION, Journal, _schema, open_for_reading, read_journal

D = Decimal


def _order(cid: str, price: str | None = "100.00") -> Order:
    return Order(cid, "binance", "BTC-USDT", botkit.Side.BUY, OrderType.LIMIT if price else OrderType.MARKET,
                 D("0.001"), None if price is None else D(price), TimeInForce.GTC, False, 5)


def _fill(cid: str, trade_id: str, size: str = "0.001") -> botkit.Fill:
    return botkit.Fill(cid, "binance", "BTC-USDT", botkit.Side.BUY, D("100.00"), D(size), D("0.0001"), "USDT",
                       "maker", 7, trade_id)


def _start(journal: Journal) -> int:
    return journal.start_run(mode="paper", strategy="S", venue="binance", endpoint="x", id_prefix="bk-",
                             restored=False, starting_cash={"USDT": D(1000)}, ts_ns=1)


def test_a_new_journal_has_the_documented_schema_version_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    Journal(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "runs", "orders", "order_updates", "venue_reports", "fills", "cancels", "balances",
                      "risk_events", "strategy_state"}


def test_a_second_writer_is_refused_naming_the_holder_and_the_lock_dies_with_it(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    first = Journal(path)
    with pytest.raises(botkit.JournalError, match=r"in use by another botkit process \(pid \d+\)"):
        Journal(path)
    first.close()
    Journal(path).close()  # released: the next one opens it


@pytest.mark.parametrize("content, message", [
    (b"not sqlite at all " * 300, "not a readable journal"),
    (None, "an SQLite database, but not a botkit journal"),
])
def test_a_file_that_is_not_a_journal_is_refused_and_left_as_it_is(tmp_path: Path, content: bytes | None,
                                                                  message: str) -> None:
    path = tmp_path / "j.journal"
    if content is None:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE mine (a)")
        conn.commit()
        conn.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    for opener in (Journal, open_for_reading):
        with pytest.raises(botkit.JournalError, match=message):
            opener(path)
    assert path.read_bytes() == before


def test_a_newer_schema_is_refused_by_writer_and_reader_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    Journal(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    for opener in (Journal, open_for_reading):
        with pytest.raises(botkit.JournalError, match="newer than this botkit's"):
            opener(path)
    assert path.read_bytes() == before


def test_an_older_journal_is_migrated_keeping_its_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "j.journal"
    journal = Journal(path)
    _start(journal)
    journal.intent(_order("bk-1"))
    journal.close()
    step = "ALTER TABLE orders ADD COLUMN note TEXT NOT NULL DEFAULT '';"
    monkeypatch.setattr(_schema, "MIGRATIONS", (*_schema.MIGRATIONS, (2, step)))
    monkeypatch.setattr(_schema, "SCHEMA_VERSION", 2)
    Journal(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT client_id, note FROM orders").fetchall() == [("bk-1", "")]


def test_a_fill_and_the_state_after_it_commit_together_and_a_duplicate_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    journal = Journal(path)
    _start(journal)
    journal.intent(_order("bk-1"))
    journal.fill(_fill("bk-1", "11"))
    journal.state({"fills": 1}, "fill", 8)
    # Nothing is visible to another reader before the flush...
    reader = open_for_reading(path)
    assert read_journal(reader).state is None and not read_journal(reader).history
    journal.flush()
    # ...and both after it.
    contents = read_journal(reader)
    assert contents.state == {"fills": 1}
    assert [f.trade_id for f in contents.history] == ["11"]  # type: ignore[union-attr]
    journal.fill(_fill("bk-1", "11"))  # offered again (a venue's duplicate report)
    journal.flush()
    assert journal.stats.duplicate_fills == 1
    assert len(read_journal(reader).history) == 1
    reader.close()
    journal.close()


def test_state_that_json_cannot_hold_is_refused_in_one_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.journal")
    for bad in ({"price": D("1.5")}, {"x": float("nan")}, {1: {"a"}}):
        with pytest.raises(botkit.UsageError, match="self.state must hold JSON values only"):
            journal.state(bad, "timer", 1)
    journal.close()


def test_open_orders_are_those_not_known_finished_with_what_the_venue_said(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    journal = Journal(path)
    _start(journal)
    for cid in ("bk-1", "bk-2", "bk-3"):
        journal.intent(_order(cid))
    journal.sent("bk-2", 999)
    journal.venue_view("bk-2", 42, "PARTIALLY_FILLED", D("0.0005"), "")
    journal.fill(_fill("bk-2", "5", "0.0005"))
    journal.update(botkit.OrderUpdate("bk-3", "BTC-USDT", botkit.OrderStatus.CANCELLED, D(0), D("0.001"), "", 9))
    journal.close()
    conn = open_for_reading(path)
    contents = read_journal(conn)
    conn.close()
    restored = {o.order.client_id: o for o in contents.open_orders}
    assert set(restored) == {"bk-1", "bk-2"}
    assert restored["bk-1"].order_id == -1 and restored["bk-1"].venue_status == ""  # never answered
    two = restored["bk-2"]
    assert (two.order_id, two.venue_status, two.executed, two.filled, two.expires_ms, two.trade_ids) == (
        42, "PARTIALLY_FILLED", D("0.0005"), D("0.0005"), 999, ("5",))
    assert contents.last_trade_ids == {"BTC-USDT": ["5"]}
    assert contents.orders == 3


def test_ids_go_on_from_the_highest_journaled(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.journal")
    _start(journal)
    for cid in ("bk-9", "bk-10", "other-77"):
        journal.intent(_order(cid))
    journal.flush()
    assert journal.last_id_number("bk-") == 10
    assert journal.last_id_number("zz-") == 0
    journal.close()
