"""Paper runs on a journal, end to end through the command line: a clean restart goes on
with the account, the ids and ``self.state``; a run killed mid-fill comes back with every
fill once and the state that was saved with them; ``botkit journal`` reads it all."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ..helpers import cli

KEEPER = """
from decimal import Decimal
import botkit

class Keeper(botkit.Strategy):
    symbols = ("BTCUSDT",)

    def on_start(self):
        self.state["starts"] = self.state.get("starts", 0) + 1
        self.state.setdefault("restored", []).append(self.restored)
        self.state["open_at_start"] = sorted(o.client_id for o in self.open_orders())
        self.state["position_at_start"] = str(self.position())
        self.n = 0

    def on_trade(self, trade):
        self.n += 1
        if self.n == 20:
            self.buy("0.001")
        elif self.n == 40:
            self.buy("0.001", trade.price * Decimal("0.5"))  # rests: far below the market
        elif self.n == 60:
            self.buy("0.001")
        elif self.n == 80:
            self.stop("done")

    def on_fill(self, fill):
        self.state.setdefault("fills", []).append(fill.trade_id)
"""


@pytest.fixture
def keeper(tmp_path: Path) -> Path:
    path = tmp_path / "keeper.py"
    path.write_text(KEEPER)
    return path


def _journal_fills(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT trade_id, side, size FROM fills ORDER BY seq").fetchall()
    finally:
        conn.close()


def _journal_json(capsys: pytest.CaptureFixture[str], path: Path) -> dict:
    code, out, err = cli(capsys, "journal", path, "--json")
    assert code == 0, err
    return json.loads(out)


def test_a_clean_restart_goes_on_with_account_ids_and_state(capsys, keeper: Path, tmp_path: Path) -> None:
    journal = tmp_path / "k.journal"
    for _ in range(2):
        code, out, err = cli(capsys, "run", keeper, "--journal", journal, "--json", "-q")
        assert code == 0, err
    summary = json.loads(out)
    assert summary["trading"]["positions"] == {"BTC-USDT": "0.004"}  # two market buys a run, all booked
    shown = _journal_json(capsys, journal)
    state = shown["state"]
    assert state["starts"] == 2 and state["restored"] == [False, True]
    assert state["position_at_start"] == "0.002"  # the first run's buys, restored before on_start
    assert state["open_at_start"] == []  # a clean stop cancelled the resting order
    fills = ["bk-1@0", "bk-3@0", "bk-4@0", "bk-6@0"]  # ids go on from the first run's
    assert state["fills"] == [t for t, _, _ in _journal_fills(journal)] == fills
    assert [r["ended"] for r in shown["runs"]] == ["done", "done"]
    assert shown["positions"] == {"BTC-USDT": "0.004"} and shown["open_orders"] == []
    assert shown["trading"]["orders"] == 6 and shown["trading"]["fills"] == 4


def test_a_run_killed_mid_fill_restarts_with_each_fill_once(capsys, keeper: Path, tmp_path: Path) -> None:
    journal = tmp_path / "k.journal"
    # Killed after the strategy saw its second fill, before that fill was journaled.
    env = {**os.environ, "BOTKIT_FAILPOINT": "fill:2"}
    proc = subprocess.run([sys.executable, "-m", "botkit", "run", str(keeper), "--journal", str(journal), "-q"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    before = _journal_fills(journal)
    assert [t for t, _, _ in before] == ["bk-1@0"]
    code, out, err = cli(capsys, "run", keeper, "--journal", journal, "--json", "-q")
    assert code == 0, err
    assert "restored 1 fill, 2 open orders" in err or "restored 1 fill, 1 open order " in err
    shown = _journal_json(capsys, journal)
    state = shown["state"]
    assert state["restored"] == [False, True]  # the first run's saved state came back
    assert state["position_at_start"] == "0.001"
    # The resting order was open when the process died, and open again after the restart.
    assert "bk-2" in state["open_at_start"]
    fills = _journal_fills(journal)
    assert state["fills"] == [t for t, _, _ in fills]  # every fill journaled once, with the state after it
    assert len({t for t, _, _ in fills}) == len(fills)
    position = sum(Decimal(size) * (1 if side == "buy" else -1) for _, side, size in fills)
    assert json.loads(out)["trading"]["positions"] == shown["positions"] == {"BTC-USDT": str(position)}
    assert shown["runs"][0]["ended"].startswith("no stop written")


def test_the_journal_command_prints_runs_orders_and_pnl_and_writes_a_report(capsys, keeper: Path,
                                                                             tmp_path: Path) -> None:
    journal = tmp_path / "k.journal"
    assert cli(capsys, "run", keeper, "--journal", journal, "-q")[0] == 0
    before = journal.read_bytes()
    code, out, err = cli(capsys, "journal", journal, "--report", tmp_path / "report")
    assert code == 0, err
    assert "1 run\n" in out and "open orders: 0" in out and "Keeper" in out and "total return" in out
    assert (tmp_path / "report" / "report.png").stat().st_size > 1000
    assert "Keeper on binance (paper)" in (tmp_path / "report" / "report.html").read_text()
    assert journal.read_bytes() == before  # read, never written


@pytest.mark.parametrize("damage, message", [
    ("garbage", "not a readable journal"),
    ("newer", "newer than this botkit's"),
    ("missing", "no such journal"),
])
def test_a_bad_journal_is_one_line_and_exit_1(capsys, tmp_path: Path, damage: str, message: str) -> None:
    path = tmp_path / "bad.journal"
    if damage == "garbage":
        path.write_bytes(os.urandom(4096))
    elif damage == "newer":
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 99")
        conn.close()
    for argv in (("journal", path), ("journal", path, "--json")):
        code, out, err = cli(capsys, *argv)
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and message in err and "Traceback" not in err
