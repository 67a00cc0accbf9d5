"""Sweeps on Dask: 16 backtests of 1M trades each on one worker and on two (the speed-up),
the per-task overhead against the same backtest run alone (beside it, at the same time),
and each worker's peak RSS beside a single ``botkit backtest`` process's.

``python -m bench.sweep [--trades 1000000] [--tasks 16]``; ``python -m bench`` includes it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from botkit import RunConfig
from botkit.sim._archives import write_archive
from botkit.sweep import SweepSpec, run_sweep
from botkit.sweep._run import local_cluster

from .backtest import _backtest_once

STRATEGY = '''
from decimal import Decimal

import botkit


class Every(botkit.Strategy):
    """Buys `size` when flat and sells it when long, every `every` trades."""

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


def _alone(strategy: Path, data: Path, runs: int) -> subprocess.Popen[str]:
    """A process running the backtest ``runs`` times, no Dask, printing each one's time."""
    code = ("import sys; from botkit import RunConfig; from botkit.sweep import backtest_task; "
            "base = RunConfig(sys.argv[1], 'backtest', data=sys.argv[2], handle_signals=False); "
            "[print(backtest_task(base)['elapsed_s']) for _ in range(int(sys.argv[3]))]")
    return subprocess.Popen([sys.executable, "-c", code, str(strategy), str(data), str(runs)],
                            stdout=subprocess.PIPE, text=True)


def run(trades: int = 1_000_000, tasks: int = 16) -> list[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        strategy = Path(tmp) / "every.py"
        strategy.write_text(STRATEGY)
        data = Path(tmp) / "archives"
        write_archive(data, "trades", "BTCUSDT", "2025-01-01", rows=trades)
        base = RunConfig(str(strategy), "backtest", data=str(data), handle_signals=False)
        _, single_rss, _ = _backtest_once(strategy, data)
        code = "from bench.sweep import _imported_mb; print(_imported_mb())"
        single_base = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout)
        # Sizes, not periods: every combination does the same work as the run alone.
        space = {"size": [Decimal("0.001") * (i + 1) for i in range(tasks)]}
        times, rss, base_rss = {}, {}, {}
        for workers in (1, 2):
            started = time.perf_counter()
            # The sweep's own local cluster, so its settings are the ones measured; the
            # cluster's start is timed apart.
            spec = SweepSpec(base, space, metric="return", workers=workers)
            with local_cluster(spec) as (client, _):
                up = time.perf_counter() - started
                base_rss[workers] = max(client.run(_imported_mb).values())
                # The same backtest alone, in a process of its own on the other core, at the
                # same time: this machine's speed drifts by 10-20% over a minute.
                alone_proc = _alone(strategy, data, tasks // 2) if workers == 1 else None
                result = run_sweep(spec, client=client)
                if alone_proc is not None:
                    alone_runs = [float(t) for t in alone_proc.communicate()[0].split()]
                assert not any(row["error"] for row in result.rows), result.rows
                times[workers] = result.elapsed_s
                if workers == 1:
                    in_task = statistics.median(row["elapsed_s"] for row in result.rows)
                rss[workers] = max(client.run(_status_mb).values())
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
             f"{alone:.2f} s, median of {len(alone_runs)} run beside the sweep; target < 5%)"),
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
