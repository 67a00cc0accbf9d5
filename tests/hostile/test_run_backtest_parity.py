"""Point 18: ``botkit run`` against the simulator at recorded pace makes the same orders
and fills as ``botkit backtest`` on the same data, where that must hold: orders decided
on the events alone, no order latency (a latency, like a timer, runs on wall time live,
so it lands between the same events only to the connection's jitter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import cli, sample_lines

TRADER = """
import json
import botkit

class Trader(botkit.Strategy):
    symbols = ("BTCUSDT",)
    channels = ("trades", "quotes")

    def on_start(self):
        self.seen = 0
        self.record = []

    def on_trade(self, trade):
        self.seen += 1
        if self.seen % 4 == 0 and not self.open_orders():
            if self.position():
                self.sell(self.position())
            else:
                self.buy("0.01")

    def on_fill(self, fill):
        self.record.append([fill.client_id, fill.side.value, str(fill.price), str(fill.size), str(fill.fee)])

    def on_stop(self):
        with open(OUT, "w") as fh:
            json.dump(self.record, fh)
"""


@pytest.fixture
def slice_(tmp_path: Path) -> Path:
    """The sample's first four seconds."""
    lines = sample_lines()
    start = int(lines[1].split(" ", 1)[0])
    kept = [lines[0]] + [line for line in lines[1:] if int(line.split(" ", 1)[0]) < start + 4_000_000_000]
    path = tmp_path / "slice.txt"
    path.write_text("".join(kept))
    return path


def test_run_at_recorded_pace_trades_as_the_backtest_does(capsys, tmp_path, slice_) -> None:
    fills = {}
    for command in ("backtest", "run"):
        out_file = tmp_path / f"{command}.json"
        strategy = tmp_path / f"trader_{command}.py"
        strategy.write_text(TRADER.replace("OUT", repr(str(out_file))))
        pace = ["--speed", "1"] if command == "run" else []
        code, out, err = cli(capsys, command, strategy, "--data", slice_, "--latency-ms", "0", "--json", *pace)
        assert code == 0, err
        fills[command] = (json.loads(out_file.read_text()), json.loads(out)["trading"])
    (backtest, bt), (run, live) = fills["backtest"], fills["run"]
    assert len(backtest) >= 6  # the test trades
    assert run == backtest
    for key in ("orders", "fills", "rejected", "total_return", "realised_pnl", "fees", "positions"):
        assert live[key] == bt[key], key


def test_a_flat_out_embedded_run_says_why_it_differs_from_a_backtest(capsys, counter) -> None:
    code, _, err = cli(capsys, "run", counter, "--json")
    assert code == 0
    assert "as fast as the simulator can send" in err and "--speed 1" in err
