"""Points 9, 10 and 16: what a user gets wrong gets one line and the right exit code,
never a traceback; signals stop the simulator cleanly; secrets in URLs never show."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from botkit._redact import redact_url

from .conftest import SAMPLE, cli


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("botkit: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_exchange_simulator_cleanly(signum: int) -> None:
    sim = subprocess.Popen(
        [sys.executable, "-m", "botkit", "exchange-sim", "--port", "0"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert sim.stdout is not None and sim.stdout.readline().startswith("ws://127.0.0.1:")
    sim.send_signal(signum)
    _, err = sim.communicate(timeout=30)
    assert sim.returncode == 0, err
    assert "Traceback" not in err and "botkit: simulator sent" in err
    assert f"{signal.Signals(signum).name}: stopping the simulator" in err


@pytest.mark.parametrize("command", [["exchange-sim", "--port", "0"], ["run", "{counter}"],
                                     ["backtest", "{counter}"]])
def test_a_file_that_is_not_a_recording_is_one_line(capsys, counter, command) -> None:
    argv = [a.replace("{counter}", str(counter)) for a in command]
    code, _, err = cli(capsys, *argv, "--data", "/bin/ls")
    assert code == 1
    assert _one_line(err).startswith("botkit: error: /bin/ls: not a botkit recording")


@pytest.mark.parametrize(("argv", "message"), [
    (["--latency-ms", "inf"], "--latency-ms must be a number >= 0, got inf"),
    (["--latency-ms", "nan"], "--latency-ms must be a number >= 0, got nan"),
    (["--hook-timeout", "nan"], "--hook-timeout must be a number of seconds > 0"),
])
def test_flags_that_are_not_numbers(capsys, counter, argv, message) -> None:
    code, _, err = cli(capsys, "backtest", counter, "--data", SAMPLE, *argv)
    assert code == 2 and message in _one_line(err)


@pytest.mark.parametrize("toml", ['[paper]\nlatency_ms = "NaN"\n', "[paper]\nlatency_ms = nan\n",
                                  "[paper]\nlatency_ms = inf\n", '[risk]\nmax_open_orders = -3\n'])
def test_config_values_that_are_not_numbers(capsys, tmp_path, counter, toml) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    code, _, err = cli(capsys, "backtest", counter, "--data", SAMPLE, "--config", config)
    assert code == 2 and "invalid value" in _one_line(err)


@pytest.mark.parametrize(("source", "message"), [
    ("class S(botkit.Strategy):\n    def __init__(self, window):\n        self.window = window\n",
     "S() needs arguments (window); botkit creates the strategy without any"),
    ("class S(botkit.Strategy):\n    def __init__(self):\n        raise RuntimeError('no db')\n",
     "S() raised RuntimeError: no db"),
])
def test_a_strategy_that_cannot_be_created_is_one_line(capsys, tmp_path, source, message) -> None:
    path = tmp_path / "s.py"
    path.write_text("import botkit\n" + source)
    code, _, err = cli(capsys, "backtest", path, "--data", SAMPLE)
    assert code == 2 and message in _one_line(err)


@pytest.mark.parametrize(("url", "message"), [
    ("notaurl", "expected ws://HOST[:PORT]/PATH or wss://"),
    ("http://127.0.0.1:9/stream", "a feed is a WebSocket; use ws:// or wss:// (not http://)"),
    ("ws://", "expected ws://HOST"),
    ("ws://127.0.0.1:99999/x", "not a valid URL"),
])
@pytest.mark.parametrize("command", ["run", "record"])
def test_a_url_that_is_not_a_feed_is_refused_before_connecting(capsys, tmp_path, counter, url, message,
                                                                 command) -> None:
    argv = ["run", counter] if command == "run" else ["record", "--out", tmp_path / "r.txt", "--symbols", "BTCUSDT"]
    code, _, err = cli(capsys, *argv, "--url", url, "--duration", "30")
    assert code == 2 and message in _one_line(err)


SECRET_URLS = [
    ("wss://bob:hunter2@example.com/stream", "hunter2"),
    ("ws://127.0.0.1:1/ws?listenKey=pqia91ma19a5s61cv6a81va65sdf19v8a65a1&x=1", "pqia91ma19a5s61cv6a81va65sdf19v8a65a1"),
    ("ws://127.0.0.1:1/stream?token=s3cr3tvalue", "s3cr3tvalue"),
    ("ws://127.0.0.1:1/ws/pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19", "pqia91ma19a5s61cv6a81"),
]


@pytest.mark.parametrize(("url", "secret"), SECRET_URLS)
def test_redact_url_hides_credentials_and_tokens(url: str, secret: str) -> None:
    shown = redact_url(url)
    assert secret not in shown and "***" in shown
    assert shown.split("//")[0] == url.split("//")[0]


@pytest.mark.parametrize(("url", "secret"), SECRET_URLS[1:])
def test_a_secret_in_a_feed_url_reaches_no_output_or_recording(capsys, tmp_path, counter, url, secret) -> None:
    # Port 1 refuses: the run retries (logging each failure) until its duration ends.
    code, out, err = cli(capsys, "run", counter, "--url", url, "--duration", "0.5", "--json", "-v")
    assert code == 0
    assert secret not in out and secret not in err
    assert "***" in json.loads(out)["source"]
    rec = tmp_path / "r.txt"
    code, out, err = cli(capsys, "record", "--url", url, "--symbols", "BTCUSDT", "--out", rec, "--duration", "0.5",
                         "-v")
    assert secret not in out + err and secret not in Path(rec).read_text()


@pytest.mark.parametrize(("argv", "message"), [
    (["exchange-sim", "--port", "99999"], "--port must be 0 to 65535, got 99999"),
    (["backtest", "{counter}", "--data", SAMPLE, "--fee-bps", "1e400"], "at most 10000 basis points"),
    (["backtest", "{counter}", "--data", SAMPLE, "--slippage-bps", "20000"], "at most 10000 basis points"),
    (["backtest", "{counter}", "--data", SAMPLE, "--cash", "USDT=nan"], "--cash 'nan': not a number"),
])
def test_sibling_values_out_of_range(capsys, counter, argv, message) -> None:
    code, _, err = cli(capsys, *[str(a).replace("{counter}", str(counter)) for a in argv])
    assert code == 2 and message in _one_line(err)
