"""End-to-end ``botkit backtest`` on generated recordings of 1M (and 5M) trades."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
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


def _backtest(strategy: Path, data: Path, repeat: int = 3) -> tuple[float, float, int]:
    """(trades/s, peak RSS MB, fills) of the median of ``repeat`` ``botkit backtest`` runs
    (by rate; the RSS is the highest of them)."""
    runs = sorted((_backtest_once(strategy, data) for _ in range(repeat)), key=lambda r: r[0])
    rate, _, fills = runs[len(runs) // 2]
    return rate, max(r[1] for r in runs), fills


def _backtest_once(strategy: Path, data: Path) -> tuple[float, float, int]:
    """(trades/s, peak RSS MB, fills) of one ``botkit backtest`` process."""
    # VmHWM: this process's own peak RSS (ru_maxrss can carry the parent's over exec).
    code = (
        "import sys; from botkit._cli import main; rc = main(sys.argv[1:]); "
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
        "print(hwm, file=sys.stderr); sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code, "backtest", str(strategy), "--data", str(data), "--json", "-q"],
                         capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    rss_kb = int(out.stderr.strip().splitlines()[-1])
    fills = summary.get("trading", {}).get("fills", 0)
    return summary["events_by_type"].get("Trade", 0) / summary["elapsed_s"], rss_kb / 1024, fills


def run(sizes: tuple[int, ...] = (1_000_000,)) -> list[tuple[str, float, str]]:
    rows = []
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        counting = Path(tmp) / "counting.py"
        counting.write_text(COUNTING)
        for n in sizes:
            data = Path(tmp) / f"trades-{n}.txt.gz"
            make_recording(data, n)
            rate, rss, _ = _backtest(counting, data)
            rows.append((f"backtest {n:,} trades, counting strategy", rate, f"trades/s, peak RSS {rss:.0f} MB"))
            if n == sizes[0]:
                # The recording has no quotes: the scalper trades off the last trade price,
                # and the fill count shows the paper broker really executed.
                rate, rss, fills = _backtest(root / "strategies" / "scalper.py", data)
                rows.append((f"backtest {n:,} trades, scalper + paper execution", rate,
                             f"trades/s, {fills:,} fills, peak RSS {rss:.0f} MB"))
    return rows
