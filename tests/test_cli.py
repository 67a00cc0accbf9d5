"""The `botkit` command line: the contract other issues and users' scripts rely on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from botkit.cli._main import main

from .helpers import trade, write_recording

ROOT = Path(__file__).resolve().parent.parent
SCALPER = ROOT / "strategies" / "scalper.py"

def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_backtest_json_summary_has_the_contract_keys(capsys, counting: Path, data: Path) -> None:
    code, out, err = run_cli(capsys, "backtest", counting, "--data", data, "--json")
    assert code == 0, err
    summary = json.loads(out)  # exactly one JSON object on stdout
    assert summary["events"] == 5
    assert summary["events_by_type"] == {"Quote": 3, "Trade": 2}
    assert isinstance(summary["events_per_s"], float) and summary["events_per_s"] > 0
    assert summary["strategy_errors"] == 0
    assert summary["parse_errors"] == 0 and summary["stopped_by"] == "end of data"


def test_backtest_table_summary(capsys, counting: Path, data: Path) -> None:
    code, out, _ = run_cli(capsys, "backtest", counting, "--data", data)
    assert code == 0
    assert "events/s" in out and "Trade" in out


def test_run_without_data_uses_the_shipped_sample(capsys) -> None:
    code, out, err = run_cli(capsys, "run", SCALPER, "--json")
    assert code == 0, err
    assert "running on the shipped sample recording" in err
    assert "the sample recording ended after" in err
    summary = json.loads(out)
    assert summary["events_by_type"]["Trade"] > 1000 and summary["events_by_type"]["Quote"] > 1000


@pytest.mark.parametrize(
    ("argv", "message", "exit_code"),
    [
        (["backtest", "missing.py", "--data", "{data}"], "botkit: error: strategy file not found: missing.py\n", 2),
        (["backtest", "{counting}", "--data", "nope.txt"], "botkit: error: data file not found: nope.txt\n", 2),
        (["backtest", "{empty}", "--data", "{data}"], "no Strategy subclass found", 2),
        (["backtest", "{broken}", "--data", "{data}"], "broken.py:2: syntax error", 2),
        (["backtest", "{counting}", "--data", "{corrupt}"], "corrupt.txt:7: corrupt line", 1),
        (["backtest", "{counting}", "--data", "{data}", "--max-errors", "-1"], "--max-errors must be >= 0", 2),
    ],
)
def test_bad_inputs_give_one_clear_line(
    capsys, tmp_path: Path, counting: Path, data: Path, argv: list[str], message: str, exit_code: int
) -> None:
    empty = tmp_path / "empty.py"
    empty.write_text("import botkit\n")
    broken = tmp_path / "broken.py"
    broken.write_text("import botkit\nclass X(botkit.Strategy)\n")
    corrupt = write_recording(
        tmp_path / "corrupt.txt", [trade(1), trade(2), trade(3), trade(4), trade(5)], extra=[b"not a line"]
    )
    paths = {"data": data, "counting": counting, "empty": empty, "broken": broken, "corrupt": corrupt}
    code, _out, err = run_cli(capsys, *[a.format(**paths) for a in argv])
    assert code == exit_code
    assert message in err
    assert "Traceback" not in err
    assert err.count("botkit: error:") == 1


def test_strategy_errors_are_reported_not_traced(capsys, tmp_path: Path, data: Path) -> None:
    path = tmp_path / "raising.py"
    path.write_text("import botkit\nclass R(botkit.Strategy):\n    def on_trade(self, t):\n        raise KeyError('x')\n")
    code, out, err = run_cli(capsys, "backtest", path, "--data", data, "--json", "-q")
    assert code == 1
    assert "botkit: error: strategy R.on_trade raised KeyError: 'x'" in err
    assert json.loads(out)["strategy_errors"] == 1
    code, out, err = run_cli(capsys, "backtest", path, "--data", data, "--json", "-q", "--max-errors", "5")
    assert code == 0 and json.loads(out)["strategy_errors"] == 2


def test_bad_arguments_exit_2_with_usage(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["backtest", "--json"])  # the strategy file is required
    assert info.value.code == 2
    assert "the following arguments are required: STRATEGY_FILE" in capsys.readouterr().err


def test_backtest_without_data_replays_the_shipped_sample(capsys, counting: Path) -> None:
    code = main(["backtest", str(counting), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "botkit: no --data: backtesting the shipped sample recording" in err
    summary = json.loads(out)
    assert summary["source"].endswith("binance-btcusdt-sample.txt.gz") and summary["events"] > 10_000


SLOW = """
import sys
import anyio
import botkit

class Slow(botkit.Strategy):
    channels = ("trades",)

    def on_start(self):
        print("ready", flush=True)

    async def on_trade(self, trade):
        await anyio.sleep(0.01)  # a slow strategy, so the run is still going at SIGINT

    def on_stop(self):
        print("on_stop ran", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_with_exit_0(tmp_path: Path, signum: int) -> None:
    strategy = tmp_path / "slow.py"
    strategy.write_text(SLOW)
    proc = subprocess.Popen(
        [sys.executable, "-m", "botkit", "run", str(strategy), "--json", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "on_stop ran"
    summary = json.loads(lines[1])
    assert summary["stopped_by"] == f"signal {signal.Signals(signum).name}"
    assert "Traceback" not in err


def test_the_readme_strategy_example_runs(capsys, tmp_path: Path, data: Path) -> None:
    import re

    readme = (ROOT / "README.md").read_text()
    example = re.search(r"## A minimal strategy\n\n```python\n(.*?)```", readme, re.S)
    assert example is not None
    path = tmp_path / "readme_strategy.py"
    path.write_text(example.group(1))
    code, out, err = run_cli(capsys, "backtest", path, "--data", data, "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["events_by_type"]["Trade"] == 2


def test_accounting_follows_the_strategys_quote_asset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    strategy = tmp_path / "usd.py"
    strategy.write_text("import botkit\n\nclass U(botkit.Strategy):\n    symbols = ('BTC-USD',)\n\n"
                        "    def on_trade(self, trade):\n        pass\n")
    data = write_recording(tmp_path / "d.txt", [trade(1)])
    code, out, _ = run_cli(capsys, "backtest", str(strategy), "--data", str(data), "--json", "-q")
    assert code == 0
    assert json.loads(out)["trading"]["cash"] == {"USD": "10000"}
    code, out, _ = run_cli(capsys, "backtest", str(strategy), "--data", str(data), "--json", "-q", "--cash", "EUR=5")
    assert json.loads(out)["trading"]["cash"] == {"USDT": "10000", "EUR": "5"}
