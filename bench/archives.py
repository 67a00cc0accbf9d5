"""Backtests on Binance's data archives: one day of 1M trades to a counting strategy
(beside the raw-frame backtest row), the same trades from Parquet, a generated month at the scale of real BTCUSDT spot
trading, and peak RSS from 10M to 50M trades (memory flat in the number of days; Parquet's
over 10M trades beside its 1M row).

``python -m bench.archives [--days 40] [--rows 1250000]``; ``python -m bench --big``
includes it (generating the month takes minutes: two worker processes write it).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from botkit.sim._archives import write_archive

from .backtest import COUNTING, _backtest_once, _median

_FIRST = date(2025, 1, 1)


def _day(args: tuple[str, int, int]) -> str:
    root, index, rows = args
    day = (_FIRST + timedelta(days=index)).isoformat()
    write_archive(root, "trades", "BTCUSDT", day, rows=rows, first_id=1 + index * rows, seed=index)
    return day


def run(days: int = 40, rows: int = 1_250_000, repeat: int = 3) -> list[tuple[str, float, str]]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "archives"
        counting = Path(tmp) / "counting.py"
        counting.write_text(COUNTING)
        one = Path(tmp) / "one"
        write_archive(one, "trades", "BTCUSDT", "2025-01-01", rows=1_000_000)
        rate, rss, _ = _median([_backtest_once(counting, one) for _ in range(repeat)])
        out.append(("backtest from a Binance trades archive (1M rows, zipped CSV), counting", rate,
                    f"trades/s, peak RSS {rss:.0f} MB"))
        parquet = Path(tmp) / "one.parquet"
        subprocess.run([sys.executable, "-m", "botkit", "convert", str(one), "--to", str(parquet), "-q"], check=True,
                       capture_output=True)
        rate, rss, _ = _median([_backtest_once(counting, parquet) for _ in range(repeat)])
        out.append(("backtest from Parquet (the same 1M trades, botkit convert), counting", rate,
                    f"trades/s, peak RSS {rss:.0f} MB"))
        started = time.perf_counter()
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_day, [(str(root), i, rows) for i in range(days)]))
        made = time.perf_counter() - started
        files = sorted(root.rglob("*.zip"))
        for label, count in (("month", 30), ("small", max(1, 10_000_000 // rows)), ("big", days)):
            subset = Path(tmp) / label
            for path in files[:count]:
                target = subset / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(path)
            started = time.perf_counter()
            rate, rss, _ = _backtest_once(counting, subset)
            took = time.perf_counter() - started
            trades = count * rows
            if label == "month":
                out.append((f"backtest of a generated month: 30 daily archives, {trades / 1e6:.1f}M trades", took,
                            f"s (process), {rate:,.0f} trades/s, peak RSS {rss:.0f} MB (generated in {made:.0f} s)"))
            else:
                out.append((f"  peak RSS over {trades / 1e6:.0f}M trades from archives ({count} days)", rss, "MB"))
            if label == "small":  # Parquet's memory too is flat in the number of trades
                converted = Path(tmp) / "small.parquet"
                subprocess.run([sys.executable, "-m", "botkit", "convert", str(subset), "--to", str(converted), "-q"],
                               check=True, capture_output=True)
                rate, rss, _ = _backtest_once(counting, converted)
                out.append((f"  backtest from Parquet over {trades / 1e6:.0f}M trades", rate,
                            f"trades/s, peak RSS {rss:.0f} MB"))
                shutil.rmtree(converted)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.archives", description=__doc__)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--rows", type=int, default=1_250_000)
    args = parser.parse_args()
    for row in run(args.days, args.rows):
        print(row)
