"""One task of a sweep: one backtest, run wherever a Dask worker runs it, its figures
returned as plain data (a failure as its one-line error: the sweep goes on)."""

from __future__ import annotations

import time
from typing import Any

import anyio

from .._build import build_run
from .._exceptions import BotkitError
from .._gc import fewer_gc_passes
from .._runconfig import RunConfig

__all__ = ["METRICS", "backtest_task", "failed", "metric_value"]

#: ``--metric`` name -> (the summary's trading figure, True when higher is better).
METRICS: dict[str, tuple[str, bool]] = {
    "sharpe": ("sharpe", True),
    "return": ("return_pct", True),
    "pnl": ("total_return", True),
    "drawdown": ("max_drawdown_pct", False),
    "win_rate": ("win_rate", True),
}
#: The figures a task returns of its run's trading summary.
FIGURES = ("sharpe", "return_pct", "total_return", "max_drawdown_pct", "win_rate", "fills", "round_trips")


def backtest_task(config: RunConfig) -> dict[str, Any]:
    """Run the backtest ``config`` describes (in this process: a worker's) and return
    ``{"events", "elapsed_s", "figures": {...}, "error": None, "first_event_ns",
    "last_event_ns"}``, or with ``error``, the one line saying why it failed (a bad
    parameter value, a strategy exception...)."""
    started = time.perf_counter()
    try:
        prepared = build_run(config)
        with fewer_gc_passes():  # as `botkit backtest` does: millions of events, few cycles
            summary = anyio.run(prepared.run, backend=config.backend)
    except Exception as exc:  # a worker reports what went wrong; the sweep goes on
        return failed(exc, time.perf_counter() - started)
    trading = summary.trading
    figures = {name: trading.get(name) for name in FIGURES}
    figures["total_return"] = float(figures["total_return"]) if figures["total_return"] is not None else None
    return {"events": summary.events, "elapsed_s": time.perf_counter() - started, "figures": figures,
            "error": summary.error or None, "first_event_ns": summary.first_event_ns,
            "last_event_ns": summary.last_event_ns}


def failed(exc: BaseException, elapsed_s: float = 0.0) -> dict[str, Any]:
    """A task's result when its backtest (or its worker) failed: the one-line reason."""
    error = str(exc) if isinstance(exc, BotkitError) else f"{type(exc).__name__}: {exc}"
    return {"events": 0, "elapsed_s": elapsed_s, "figures": {}, "error": error}


def metric_value(result: dict[str, Any], metric: str) -> float | None:
    """The ``metric`` of a task's result, signed so that larger is better (a drawdown
    negated); None where the run failed or the figure is undefined (no trades)."""
    name, higher = METRICS[metric]
    value = result["figures"].get(name) if not result.get("error") else None
    if value is None:
        return None
    return float(value) if higher else -float(value)
