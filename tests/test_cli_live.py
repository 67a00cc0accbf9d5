"""CLI contract of the live-feed commands: exchange-sim, run --url, record, decode."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.cli._main import main
from botkit.sim._sample import generate

from .test_cli import run_cli

BOTKIT = [sys.executable, "-m", "botkit"]


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("market") / "m.txt.gz"
    generate(path, seconds=60, seed=5)
    return path


@contextlib.contextmanager
def venue_sim(venue: str, market: Path) -> Iterator[str]:
    """`botkit exchange-sim --venue V` in a subprocess, serving ``market`` flat out; yields
    its URL (the first stdout line)."""
    proc = subprocess.Popen(
        [*BOTKIT, "exchange-sim", "--venue", venue, "--port", "0", "--data", str(market), "--speed", "0", "--loop"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:"), f"exchange-sim printed {url!r} instead of its URL"
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.fixture
def sim_url(market: Path) -> Iterator[str]:
    """A `botkit exchange-sim` subprocess; yields the URL from its first stdout line."""
    with venue_sim("binance", market) as url:
        yield url


def trades_in(path: Path) -> int:
    return sum(1 for line in gzip.open(path) if b"@trade" in line)


def test_run_url_against_the_simulator_subprocess(sim_url: str, counting: Path, market: Path) -> None:
    out = subprocess.run(
        [*BOTKIT, "run", str(counting), "--url", sim_url, "--duration", "3", "--json", "-q"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    for key in ("reconnects", "parse_errors", "gaps", "stale_detections"):
        assert isinstance(summary[key], int)
    assert summary["events_by_type"]["Trade"] == trades_in(market)
    assert summary["stopped_by"] == "duration 3 s reached"


def test_record_then_backtest_gives_the_same_events(sim_url: str, counting: Path, market: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "rec.txt.gz"
    rec = subprocess.run(
        [*BOTKIT, "record", "--url", sim_url, "--out", str(out_file), "--duration", "3", "-q"],
        capture_output=True, text=True, timeout=60,
    )
    assert rec.returncode == 0, rec.stderr
    assert "recorded" in rec.stderr
    code, stdout, _ = run_cli(capsys, "backtest", counting, "--data", out_file, "--json", "-q")
    assert code == 0
    assert json.loads(stdout)["events_by_type"]["Trade"] == trades_in(market)


def test_decode_writes_one_event_per_line(market: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw.txt"
    frames = [line.split(b" ", 1)[1] for line in gzip.open(market) if line[:1].isdigit()][:50]
    raw.write_bytes(b"".join(frames) + b"not a frame\n")
    code, out, err = run_cli(capsys, "decode", "--venue", "binance", raw)
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 50 and {e["type"] for e in events} <= {"Trade", "Quote"}
    assert err.strip().splitlines()[-1] == "decoded 50 events (Quote 27, Trade 23) from 51 frames, 1 parse errors, 0 non-data frames, 0 capture metadata lines"


def test_decode_reads_recordings_and_fails_on_missing_files(market: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "decode", market)
    assert code == 0 and "0 parse errors" in err and len(out.splitlines()) > 500
    code, _, err = run_cli(capsys, "decode", "missing.txt")
    assert code == 1 and "cannot read missing.txt: No such file or directory" in err


@pytest.mark.parametrize(
    ("fault", "message"),
    [("boom@5", "unknown kind 'boom'"), ("drop@x", "expected KIND@N"), ("drop", "expected KIND@N")],
)
def test_bad_fault_spec_is_a_clear_error(fault: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "exchange-sim", "--fault", fault)
    assert code == 2 and message in err and "Traceback" not in err


def test_negative_batch_bytes_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "exchange-sim", "--speed", "0", "--batch-bytes", "-1")
    assert code == 2 and "--batch-bytes must be >= 0, got -1" in err and "Traceback" not in err


def test_market_and_data_together_is_a_clear_error(capsys: pytest.CaptureFixture[str], market: Path) -> None:
    code, _, err = run_cli(capsys, "exchange-sim", "--market", "--data", str(market))
    assert code == 2 and "--market and --data both choose" in err and "Traceback" not in err


def test_the_generated_market_is_served_without_end(counting: Path) -> None:
    # --market: the endless generated market, a feed for long runs (no recording to end).
    proc = subprocess.Popen([*BOTKIT, "exchange-sim", "--port", "0", "--market", "--speed", "0", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        out = subprocess.run([*BOTKIT, "run", str(counting), "--url", url, "--duration", "3", "--json", "-q"],
                             capture_output=True, text=True, timeout=60)
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        assert summary["stopped_by"] == "duration 3 s reached", summary
        assert summary["events_by_type"].get("Trade", 0) > 100 and summary["gaps"] == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_decode_help_lists_the_venues(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "one of: binance, binance-futures, coinbase, kraken, okx, bybit, kraken-v2" in text


@pytest.mark.parametrize("venue", ["binance-futures", "coinbase", "kraken", "okx", "bybit", "kraken-v2"])
def test_record_and_run_speak_every_venue(venue: str, market: Path, counting: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`exchange-sim --venue V` speaks V's protocol; `record --venue V --url` subscribes by
    V's rules; the recording replays through V's parser; `run --venue V --url` trades on it."""
    out_file = tmp_path / "rec.txt.gz"
    with venue_sim(venue, market) as url:
        rec = subprocess.run(
            [*BOTKIT, "record", "--venue", venue, "--url", url, "--symbols", "BTC-USDT", "--channels", "trades,books",
             "--out", str(out_file), "--duration", "2", "-q"],
            capture_output=True, text=True, timeout=60,
        )
    assert rec.returncode == 0, rec.stderr
    with venue_sim(venue, market) as url:
        run = subprocess.run(
            [*BOTKIT, "run", str(counting), "--venue", venue, "--url", url, "--symbols", "BTC-USDT", "--duration", "2",
             "--json", "-q"],
            capture_output=True, text=True, timeout=60,
        )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["events_by_type"]["Trade"] == trades_in(market)
    code, stdout, _ = run_cli(capsys, "backtest", counting, "--data", out_file, "--json", "-q")
    assert code == 0
    summary = json.loads(stdout)
    assert summary["events_by_type"]["Trade"] == trades_in(market)
    assert summary["parse_errors"] == 0


def _start_record(url: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*BOTKIT, "record", "--url", url, "--out", str(out), "--json", "-vv"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_frames(proc: subprocess.Popen[str], out: Path) -> None:
    """Block until the recorder has flushed data (its log says so), without sleeping."""
    assert proc.stderr is not None
    watchdog = threading.Timer(30, proc.kill)  # a hung recorder fails the test, not the suite
    watchdog.start()
    try:
        for line in proc.stderr:
            if "flushed" in line and "frames so far" in line and not line.rstrip().endswith("(0 frames so far)"):
                return
    finally:
        watchdog.cancel()
    raise AssertionError("recorder ended before flushing any frame")


def test_record_ctrl_c_saves_every_frame(slow_sim_url: str, tmp_path: Path) -> None:
    out = tmp_path / "rec.txt.gz"
    proc = _start_record(slow_sim_url, out)
    try:
        _wait_for_frames(proc, out)
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    summary = json.loads(stdout)
    lines = [line for line in gzip.open(out) if not line.startswith(b"#")]
    assert len(lines) == summary["frames"] > 0  # nothing received was lost


def test_record_kill_9_keeps_a_readable_file(slow_sim_url: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec.txt.gz"
    proc = _start_record(slow_sim_url, out)
    try:
        _wait_for_frames(proc, out)
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    code, _, err = run_cli(capsys, "decode", out)
    assert code == 0 and "0 parse errors" in err


@pytest.fixture
def slow_sim_url(market: Path) -> Iterator[str]:
    """A simulator at 20x recorded pace, so a recording is still going when signalled."""
    proc = subprocess.Popen(
        [*BOTKIT, "exchange-sim", "--port", "0", "--data", str(market), "--speed", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_binance_stream_url() -> None:
    from botkit.protocol.binance import stream_url

    assert stream_url(["BTCUSDT", "ETHUSDT"], ["trades", "books"]) == (
        "wss://stream.binance.com:9443/stream?streams="
        "btcusdt@trade/ethusdt@trade/btcusdt@depth@100ms/ethusdt@depth@100ms"
    )


@pytest.mark.parametrize("cpus", ["99", "x", ",", "0,99"])
def test_cpu_out_of_reach_is_a_clear_error(cpus: str, capsys: pytest.CaptureFixture[str], counting: Path) -> None:
    code, _, err = run_cli(capsys, "run", str(counting), "--cpu", cpus, "--duration", "1")
    assert code == 2 and "--cpu" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
def test_cpu_pins_the_bot(tmp_path: Path) -> None:
    cpu = min(os.sched_getaffinity(0))
    strategy = tmp_path / "where.py"
    strategy.write_text("import os, botkit\n\nclass Where(botkit.Strategy):\n"
                        "    def on_start(self):\n        print('CPUS', sorted(os.sched_getaffinity(0)))\n"
                        "        self.stop('seen')\n")
    out = subprocess.run([*BOTKIT, "run", str(strategy), "--cpu", str(cpu), "-q"], capture_output=True, text=True,
                         timeout=60)
    assert f"CPUS [{cpu}]" in out.stdout, out.stderr


def test_run_a_strategy_with_two_feeds_on_two_simulators(market: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    strategy = tmp_path / "two.py"
    strategy.write_text(
        "import botkit\n\n"
        "class Two(botkit.Strategy):\n"
        "    feeds = (botkit.Feed('binance', ('BTC-USDT',)), botkit.Feed('coinbase', 'BTC-USDT'))\n"
        "    venues = set()\n\n"
        "    def on_trade(self, trade):\n"
        "        self.venues.add(trade.venue)\n\n"
        "    def on_stop(self):\n"
        "        assert self.venues == {'binance', 'coinbase'}, self.venues\n"
    )
    with venue_sim("binance", market) as binance, venue_sim("coinbase", market) as coinbase:
        out = subprocess.run(
            [*BOTKIT, "run", str(strategy), "--url", f"binance={binance}", "--url", f"coinbase={coinbase}",
             "--duration", "3", "--json", "-q"],
            capture_output=True, text=True, timeout=60,
        )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["strategy_errors"] == 0 and summary["source"].startswith("merge of ")
    assert set(summary["feeds"]) == {"binance", "coinbase"}
    assert all(feed["frames"] > 0 and feed["parse_errors"] == 0 for feed in summary["feeds"].values())
    # Each venue needs its feed named; a plain --url or a missing venue is one line.
    for flags, message in ((["--url", binance], "give each its feed with --url VENUE=URL"),
                           (["--url", f"binance={binance}"], "missing: coinbase"),
                           (["--url", f"binance={binance}", "--url", f"okx={binance}", "--url", f"coinbase={binance}"],
                            "has no feed on okx")):
        code, _, err = run_cli(capsys, "run", str(strategy), *flags)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_record_two_venues_into_one_file_and_replay_it(market: Path, counting: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "both.txt.gz"
    with venue_sim("binance", market) as binance, venue_sim("coinbase", market) as coinbase:
        rec = subprocess.run(
            [*BOTKIT, "record", "--venue", "binance", "--venue", "coinbase", "--url", f"binance={binance}",
             "--url", f"coinbase={coinbase}", "--symbols", "BTC-USDT", "--channels", "trades",
             "--out", str(out_file), "--duration", "3", "-q"],
            capture_output=True, text=True, timeout=60,
        )
    assert rec.returncode == 0, rec.stderr
    lines = gzip.open(out_file).read().splitlines()
    header = json.loads(lines[0].split(b" ", 2)[2])
    assert list(header["venues"]) == ["binance", "coinbase"] and header["venues"]["binance"]["backfill"] is True
    assert {line.split(b" ", 2)[1] for line in lines[1:]} == {b"binance", b"coinbase"}
    code, stdout, err = run_cli(capsys, "backtest", counting, "--data", out_file, "--json", "-q")
    assert code == 0, err
    summary = json.loads(stdout)
    # Each venue served the market's trades once (its loop restarts after; 3 s suffice).
    assert summary["events_by_type"]["Trade"] >= 2 * trades_in(market)
    assert set(summary["feeds"]) == {"binance", "coinbase"} and summary["parse_errors"] == 0 == summary["gaps"]
    # A line of a venue the header does not name is a counted, reported skip.
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\n".join([*lines[:50], b"1723161254087891268 okx {}", *lines[50:100]]) + b"\n")
    code, stdout, err = run_cli(capsys, "backtest", counting, "--data", bad, "--json")
    assert code == 0 and json.loads(stdout)["parse_errors"] == 1 and "is not one of the header's venues" in err
