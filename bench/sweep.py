"""Sweeps on Dask: 16 backtests of 1M trades each on one worker and on two (the speed-up),
the per-task overhead against the same backtest run alone, and each worker's peak RSS
beside a single ``botkit backtest`` process's.

``python -m bench.sweep [--trades 1000000] [--tasks 16]``; ``python -m bench`` includes it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from botkit import RunConfig
from botkit.sim._archives import write_archive
from botkit.sweep import SweepSpec, backtest_task, run_sweep
from botkit.sweep._run import local_cluster

from .backtest import _backtest_once

STRATEGY = '''
from decimal import Decimal

import botkit


class Every(botkit.Strategy):
    """Buys when flat and sells when long, every `every` trades (a parameter to sweep)."""

    symbols = ("BTC-USDT",)
    every = 50_000
    size = Decimal("0.001")

    def on_start(self) -> None:
        self.n = 0

    def on_trade(self, trade: botkit.Trade) -> None:
        self.n += 1
        if self.n % self.every == 0:
            if self.position():
                self.sell(self.size)
            else:
                self.buy(self.size)
'''


def _status_mb(field: str = "VmHWM") -> float:
    line = next(line for line in open("/proc/self/status") if line.startswith(field))
    return int(line.split()[1]) / 1024


def _imported_mb() -> float:
    """RSS once a backtest's modules are imported (what a run adds is measured from here)."""
    import botkit.cli._main
    import botkit.sweep  # noqa: F401

    return _status_mb("VmRSS")


def run(trades: int = 1_000_000, tasks: int = 16) -> list[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        strategy = Path(tmp) / "every.py"
        strategy.write_text(STRATEGY)
        data = Path(tmp) / "archives"
        write_archive(data, "trades", "BTCUSDT", "2025-01-01", rows=trades)
        base = RunConfig(str(strategy), "backtest", data=str(data), handle_signals=False)
        alone_runs = [backtest_task(base)["elapsed_s"] for _ in range(3)]  # in one process, no Dask
        _, single_rss, _ = _backtest_once(strategy, data)
        code = "from bench.sweep import _imported_mb; print(_imported_mb())"
        single_base = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout)
        space = {"every": [10_000 + 1_000 * i for i in range(tasks)]}
        times, rss, base_rss = {}, {}, {}
        for workers in (1, 2):
            started = time.perf_counter()
            # The sweep's own local cluster, so its settings are the ones measured; the
            # cluster's start is timed apart.
            spec = SweepSpec(base, space, metric="return", workers=workers)
            with local_cluster(spec) as (client, _):
                up = time.perf_counter() - started
                base_rss[workers] = max(client.run(_imported_mb).values())
                result = run_sweep(spec, client=client)
                assert not any(row["error"] for row in result.rows), result.rows
                times[workers] = result.elapsed_s
                if workers == 1:
                    in_task = statistics.median(row["elapsed_s"] for row in result.rows)
                rss[workers] = max(client.run(_status_mb).values())
        alone_runs += [backtest_task(base)["elapsed_s"] for _ in range(3)]  # before and after: the machine drifts
        alone = statistics.median(alone_runs)
        per_task = times[1] / tasks
        return [
            (f"sweep: {tasks} backtests of {trades / 1e6:g}M trades, 1 worker", times[1],
             f"s (cluster up in {up:.1f} s, not counted)"),
            (f"sweep: the same, 2 workers (speed-up over 1 worker: {times[1] / times[2]:.2f}x, target >= 1.7x)",
             times[2], "s"),
            ("  per-task overhead (1 worker) over the same backtest alone in one process",
             (per_task - alone) / alone * 100,
             f"% (sweep time per task {per_task:.2f} s: {in_task:.2f} s running in the worker, median; alone "
             f"{alone:.2f} s, median of 6 around the sweeps; target < 5%)"),
            ("  peak RSS a run adds: in a worker (2 workers) / in one `botkit backtest` process",
             rss[2] - base_rss[2], f"MB / {single_rss - single_base:.0f} MB (whole processes: {rss[2]:.0f} MB, "
             f"Dask's own included / {single_rss:.0f} MB)"),
        ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=16)
    args = parser.parse_args()
    for row in run(args.trades, args.tasks):
        print(row)
