"""A sweep on Dask distributed: a local cluster of one worker process per core by
default, or an existing cluster (``scheduler``); one task per backtest, each streaming
its own data; with walk-forward folds, the best combination of each train window judged
on the test window after it."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from .._exceptions import BotkitError, ConfigError
from .._loader import load_strategy
from .._params import check_params
from .._runconfig import RunConfig
from ._plan import Fold, combinations, folds
from ._task import METRICS, backtest_task, failed, metric_value

__all__ = ["SweepResult", "SweepSpec", "check_spec", "local_cluster", "run_sweep"]

Progress = Callable[[int, int], None]


@attrs.frozen
class SweepSpec:
    """A sweep: the backtest ``base`` describes, once per combination of ``space``.

    :param base: the backtest (strategy, data, fees, cash...) every task runs.
    :param space: parameter -> the values to try (typed as the strategy's attributes).
    :param search: ``grid`` (every combination) or ``random`` (``trials`` of them,
        drawn with ``seed``).
    :param metric: what ranks combinations: a name of :data:`~botkit.sweep._task.METRICS`.
    :param folds: walk-forward folds (0: one window, all the data).
    :param workers: local worker processes (default one per core); ignored with
        ``scheduler``.
    :param scheduler: an existing Dask scheduler's address (``tcp://HOST:PORT``).
    """

    base: RunConfig
    space: dict[str, list[Any]]
    search: str = "grid"
    trials: int | None = None
    seed: int = 0
    metric: str = "sharpe"
    folds: int = 0
    workers: int | None = None
    scheduler: str | None = None


@attrs.define
class SweepResult:
    """What a sweep found. ``rows``: one per task, in the order planned (combination by
    combination; with folds, the train windows fold by fold, then the tests), each
    ``{"combination", "fold", "split", "params", "metric", "events", "elapsed_s",
    "error", **figures}``; ``walk_forward``: one row per fold and ``out_of_sample``
    the combined figures (empty without folds)."""

    metric: str
    params: list[str]
    rows: list[dict[str, Any]]
    walk_forward: list[dict[str, Any]] = attrs.Factory(list)
    out_of_sample: dict[str, Any] = attrs.Factory(dict)
    workers: int = 0
    scheduler: str = ""
    elapsed_s: float = 0.0
    interrupted: bool = False

    def ranked(self, split: str = "all") -> list[dict[str, Any]]:
        """The rows of ``split`` (``all``; with folds ``train`` or ``test``), best
        metric first; failed runs and undefined metrics last."""
        rows = [row for row in self.rows if row["split"] == split]
        return sorted(rows, key=lambda r: (r["metric"] is None, -(r["metric"] or 0.0), r["fold"], r["combination"]))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``--json``)."""
        return attrs.asdict(self)


def check_spec(spec: SweepSpec) -> list[dict[str, Any]]:
    """The combinations ``spec`` runs, every parameter checked against the strategy
    before anything runs.

    :raises ConfigError: an unknown metric, parameter or value type (one line).
    """
    if spec.metric not in METRICS:
        raise ConfigError(f"--metric {spec.metric!r}: one of {', '.join(METRICS)}")
    if spec.base.mode != "backtest":
        raise ConfigError("a sweep runs backtests")
    if not spec.space:
        raise ConfigError("nothing to sweep: give --param NAME=V1,V2,... (or NAME=START:STOP:STEP)")
    if spec.workers is not None and spec.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {spec.workers}")
    cls = load_strategy(spec.base.strategy_file, spec.base.strategy_class)
    for name, values in spec.space.items():
        if not values:
            raise ConfigError(f"--param {name}: no values")
        for value in values:
            check_params(cls, {name: value})
    return combinations(spec.space, spec.search, spec.trials, spec.seed)


def run_sweep(spec: SweepSpec, progress: Progress | None = None, *, client: Any = None) -> SweepResult:
    """Run ``spec`` on Dask and collect the results (a failing combination's error in
    its row; Ctrl-C cancels the tasks still to run and keeps the finished ones).

    :param client: a ``distributed.Client`` to run on (left open) instead of the
        cluster ``spec`` names.
    :raises ConfigError: see :func:`check_spec`; a scheduler that cannot be reached.
    """
    combos = check_spec(spec)
    base = _portable(spec.base)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if client is None:
            client, workers = stack.enter_context(_connect(spec))
        else:
            workers = len(client.scheduler_info().get("workers", {}))
        result = SweepResult(spec.metric, list(spec.space), [], workers=workers,
                             scheduler=str(client.scheduler.address))
        if not spec.folds:
            jobs = [(i, 0, "all", combo, base) for i, combo in enumerate(combos)]
            result.rows, result.interrupted = _run_all(client, jobs, spec.metric, progress)
        else:
            _walk_forward(client, spec, base, combos, result, progress)
    result.elapsed_s = round(time.perf_counter() - started, 3)
    return result


def _portable(config: RunConfig) -> RunConfig:
    """``config`` with absolute paths (a local cluster's workers start elsewhere), no
    signal handling (a worker is not a terminal), and no journal."""
    data = tuple(p if "://" in p else str(Path(p).absolute()) for p in config.data)
    return attrs.evolve(config, strategy_file=str(Path(config.strategy_file).absolute()), data=data,
                        handle_signals=False, journal="")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError("a sweep needs Dask distributed: pip install 'botkit[sweep]'") from None
    # Its start, stop and connection chatter is not the sweep's output (-v shows ours).
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    return distributed


@contextlib.contextmanager
def _connect(spec: SweepSpec) -> Iterator[tuple[Any, int]]:
    """A client of ``spec.scheduler``'s cluster, or of a local one started for the sweep
    (stopped after it), and its worker count."""
    if not spec.scheduler:
        with local_cluster(spec) as connected:
            yield connected
        return
    distributed = _distributed()
    try:
        client = distributed.Client(spec.scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"--scheduler {spec.scheduler}: cannot reach it ({type(exc).__name__}: {exc})") from None
    with client:
        yield client, len(client.scheduler_info().get("workers", {}))


@contextlib.contextmanager
def local_cluster(spec: SweepSpec) -> Iterator[tuple[Any, int]]:
    """A local cluster of ``spec.workers`` (default one per core) single-threaded worker
    processes on 127.0.0.1 (a backtest is pure Python: one per core), a client of it,
    and its worker count; stopped on exit."""
    import dask

    distributed = _distributed()
    workers = spec.workers or os.cpu_count() or 1
    # Two of Dask's defaults cost a backtest time (a user's own cluster is configured by
    # its owner; docs/sweeps.md says how): its statistical profiler samples each task's
    # stack every 10 ms, and the MALLOC_TRIM_THRESHOLD_ its nannies give workers makes
    # glibc hand freed memory back at once, so a replay's buffers fault in again and again
    # (15% of a backtest in the kernel's page faults, measured: bench/sweep.py).
    environ = {name: value for name, value in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
               if name != "MALLOC_TRIM_THRESHOLD_"}
    settings = {"distributed.worker.profile.enabled": False, "distributed.nanny.pre-spawn-environ": environ}
    # The scheduler serves HTTP whatever is asked: on a free loopback port, never 8787's.
    with dask.config.set(settings), distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
            host="127.0.0.1", silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        yield client, workers


Job = tuple[int, int, str, dict[str, Any], RunConfig]


def _run_all(client: Any, jobs: list[Job], metric: str, progress: Progress | None) -> tuple[list[dict[str, Any]], bool]:
    """Each job as a task; their rows in the jobs' order (whatever order they finish
    in), and whether Ctrl-C cut the run short."""
    distributed = _distributed()
    tag = uuid.uuid4().hex[:8]
    futures = {}
    for n, (*_, params, base) in enumerate(jobs):
        config = attrs.evolve(base, params=params)
        future = client.submit(backtest_task, config, key=f"botkit-sweep-{tag}-{n}", pure=False)
        futures[future] = n
    done: dict[int, dict[str, Any]] = {}
    interrupted = False
    try:
        for future in distributed.as_completed(futures):
            n = futures[future]
            try:
                done[n] = future.result()
            except Exception as exc:  # the worker died under it: the sweep goes on
                done[n] = failed(exc)
            if progress is not None:
                progress(len(done), len(jobs))
    except KeyboardInterrupt:
        interrupted = True
        client.cancel(list(futures))
    rows = []
    for n, (combination, fold, split, params, _) in enumerate(jobs):
        if n in done:
            rows.append(_row(combination, fold, split, params, done[n], metric))
    return rows, interrupted


def _row(combination: int, fold: int, split: str, params: dict[str, Any], result: dict[str, Any],
         metric: str) -> dict[str, Any]:
    return {"combination": combination, "fold": fold, "split": split, "params": params,
            "metric": metric_value(result, metric), "events": result["events"],
            "elapsed_s": round(result["elapsed_s"], 3), "error": result["error"], **result["figures"]}


def _walk_forward(client: Any, spec: SweepSpec, base: RunConfig, combos: list[dict[str, Any]], result: SweepResult,
                  progress: Progress | None) -> None:
    """Train every combination on each fold's train window, then the best of each on
    the test window after it."""
    span = client.submit(backtest_task, base, pure=False).result()  # the data's first and last event times
    if span["error"]:
        raise BotkitError(f"the backtest with the strategy's defaults failed, so the data's span is unknown: "
                          f"{span['error']}")
    plan: list[Fold] = folds(span["first_event_ns"], span["last_event_ns"], spec.folds)
    jobs = [(i, fold.number, "train", combo, attrs.evolve(base, window_ns=fold.train))
            for fold in plan for i, combo in enumerate(combos)]
    rows, interrupted = _run_all(client, jobs, spec.metric, progress)
    best: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["metric"] is not None and (row["fold"] not in best or row["metric"] > best[row["fold"]]["metric"]):
            best[row["fold"]] = row
    tests = [] if interrupted else [
        (best[fold.number]["combination"], fold.number, "test", best[fold.number]["params"],
         attrs.evolve(base, window_ns=fold.test)) for fold in plan if fold.number in best]
    test_rows, interrupted = _run_all(client, tests, spec.metric, None) if tests else ([], interrupted)
    result.rows, result.interrupted = rows + test_rows, interrupted
    tested = {row["fold"]: row for row in test_rows}
    for fold in plan:
        train, test = best.get(fold.number), tested.get(fold.number)
        result.walk_forward.append({
            "fold": fold.number, "train": list(fold.train), "test": list(fold.test),
            "params": train["params"] if train else None,
            "train_metric": train["metric"] if train else None,
            "test_metric": test["metric"] if test else None,
            "test_return_pct": test["return_pct"] if test else None,
            "test_pnl": test["total_return"] if test else None,
        })
    judged = [f for f in result.walk_forward if f["train_metric"] is not None and f["test_metric"] is not None]
    if judged:
        in_sample = sum(f["train_metric"] for f in judged) / len(judged)
        out_sample = sum(f["test_metric"] for f in judged) / len(judged)
        result.out_of_sample = {
            "folds": len(judged), "in_sample_metric": in_sample, "out_of_sample_metric": out_sample,
            "overfit_gap": in_sample - out_sample,
            "out_of_sample_pnl": sum(f["test_pnl"] or 0.0 for f in judged),
        }
