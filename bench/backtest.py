"""End-to-end ``botkit backtest`` on generated recordings of 1M (and 5M) trades."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from botkit.sources import RecordingWriter

from ._util import trade_frames

COUNTING = """
import botkit

class Counting(botkit.Strategy):
    channels = ("trades",)
    n = 0

    def on_trade(self, trade):
        self.n += 1
"""


def make_recording(path: Path, n: int) -> None:
    """``n`` distinct trade frames, written in chunks (memory stays flat)."""
    chunk = 100_000
    with RecordingWriter(path, {"venue": "binance"}) as out:
        for start in range(0, n, chunk):
            for i, frame in enumerate(trade_frames(min(chunk, n - start), seed=start)):
                tid = 3_735_683_259 + start + i
                frame = frame.replace(b'"t":%d' % (3_735_683_259 + i), b'"t":%d' % tid, 1)
                out.write(1_723_161_600_000_000_000 + (start + i) * 1_000_000, frame)


def _backtest(strategy: Path, data: Path, repeat: int = 5) -> tuple[float, float, int]:
    """(trades/s, peak RSS MB, fills): the median of ``repeat`` ``botkit backtest`` runs."""
    return _median([_backtest_once(strategy, data) for _ in range(repeat)])


def _median(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """The median run by rate, with the highest RSS of them all."""
    rate, _, fills = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    return rate, max(r[1] for r in runs), fills


def _backtest_once(strategy: Path, data: Path, extra: Sequence[str] = ()) -> tuple[float, float, int]:
    """(trades/s, peak RSS MB, fills) of one ``botkit backtest`` process (``extra``: more flags)."""
    # VmHWM: this process's own peak RSS (ru_maxrss can carry the parent's over exec).
    code = (
        "import sys; from botkit.cli._main import main; rc = main(sys.argv[1:]); "
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
        "print(hwm, file=sys.stderr); sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code, "backtest", str(strategy), "--data", str(data), "--json", "-q",
                          *extra],
                         capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    rss_kb = int(out.stderr.strip().splitlines()[-1])
    fills = summary.get("trading", {}).get("fills", 0)
    return summary["events_by_type"].get("Trade", 0) / summary["elapsed_s"], rss_kb / 1024, fills


def _nautilus_once() -> tuple[float, float] | str:
    """(ticks/s, peak RSS MB) of NautilusTrader on 1M ticks, in a process of its own (so
    its memory is its own), or why it did not run."""
    code = "import json; from bench import nautilus; print(json.dumps(nautilus.run()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        return f"failed: {out.stderr.strip()[-200:]}"
    _, rate, unit = json.loads(out.stdout.strip().splitlines()[-1])[0]
    if unit == "nautilus-trader not installed":
        return unit
    return rate, float(unit.rsplit("RSS ", 1)[1].split()[0])


def run(sizes: tuple[int, ...] = (1_000_000,), repeat: int = 5) -> list[tuple[str, float, str]]:
    """botkit's backtest rows, NautilusTrader's and their ratio (the first rows are
    botkit's counting run on ``sizes[0]``)."""
    rows = []
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        counting = Path(tmp) / "counting.py"
        counting.write_text(COUNTING)
        for n in sizes:
            data = Path(tmp) / f"trades-{n}.txt.gz"
            make_recording(data, n)
            if n != sizes[0]:
                rate, rss, _ = _backtest(counting, data, repeat)
                rows.append((f"backtest {n:,} trades, counting strategy", rate, f"trades/s, peak RSS {rss:.0f} MB"))
                continue
            # botkit and NautilusTrader take turns, so a slow spell of this shared machine
            # falls on both sides of the ratio.
            ours, theirs = [], []
            for _ in range(repeat):
                ours.append(_backtest_once(counting, data))
                theirs.append(_nautilus_once())
            rate, rss, _ = _median(ours)
            rows.append((f"backtest {n:,} trades, counting strategy", rate, f"trades/s, peak RSS {rss:.0f} MB"))
            # The recording has no quotes: the scalper trades off the last trade price,
            # and the fill count shows the paper broker really executed.
            scalper, scalper_rss, fills = _backtest(root / "strategies" / "scalper.py", data, repeat)
            rows.append((f"backtest {n:,} trades, scalper + paper execution", scalper,
                         f"trades/s, {fills:,} fills, peak RSS {scalper_rss:.0f} MB"))
            failed = [t for t in theirs if isinstance(t, str)]
            if failed:
                nautilus = ("backtest: NautilusTrader BacktestEngine", float("nan"), failed[0])
            else:
                their_rate, their_rss = sorted(theirs)[len(theirs) // 2]  # type: ignore[misc]
                nautilus = (f"backtest {n:,} trades: NautilusTrader BacktestEngine, counting (pre-built ticks)",
                            their_rate, f"ticks/s, process peak RSS {their_rss:.0f} MB")
        rows.append(nautilus)
        if not failed:
            rows.append(("backtest: botkit (raw frames, parsing included) / NautilusTrader (pre-built ticks)",
                         rows[0][1] / nautilus[1], "ratio (target >= 2.5)"))
    return rows
