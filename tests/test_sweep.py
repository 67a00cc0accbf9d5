"""`botkit sweep`: parameters typed from the strategy, grids and random trials,
walk-forward folds, results as files, and real Dask clusters (a local one of two
workers, and one the test starts and names with --scheduler)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

import botkit
from botkit._params import parse_param, strategy_params, with_params
from botkit.sim._sample import generate
from botkit.sweep import SweepSpec, combinations, folds, run_sweep
from botkit.sweep._run import _run_all

from .helpers import cli

distributed = pytest.importorskip("distributed")

STRATEGY = '''
from decimal import Decimal

import botkit


class Flip(botkit.Strategy):
    """Every `every` trades: buy `size` when flat, sell it when long."""

    symbols = ("BTC-USDT",)
    every = 40
    size = Decimal("0.01")
    lean: float = 0.0
    fail_at = 0  # a combination that fails: on_trade raises when every == fail_at
    label = "x"

    def on_start(self) -> None:
        self.n = 0
        assert isinstance(self.size, Decimal) and isinstance(self.every, int)

    def on_trade(self, trade: botkit.Trade) -> None:
        self.n += 1
        if self.fail_at and self.every == self.fail_at:
            raise RuntimeError("boom at every=%d" % self.every)
        if self.n % self.every == 0:
            if self.position():
                self.sell(self.size)
            else:
                self.buy(self.size)
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sweep")
    strategy = root / "flip.py"
    strategy.write_text(STRATEGY)
    data = root / "rec.txt.gz"
    generate(data, seconds=120, seed=11)
    return strategy, data


@pytest.fixture(scope="module")
def flip(files: tuple[Path, Path]) -> type[botkit.Strategy]:
    from botkit._loader import load_strategy

    return load_strategy(files[0])


def test_parameters_are_the_strategys_typed_class_attributes(flip: type[botkit.Strategy]) -> None:
    assert strategy_params(flip) == {"every": int, "size": Decimal, "lean": float, "fail_at": int, "label": str}
    assert parse_param(flip, "every=10,20") == ("every", [10, 20])
    assert parse_param(flip, "every=10:40:10") == ("every", [10, 20, 30, 40])  # STOP included
    _, sizes = parse_param(flip, "size=0.01:0.03:0.01")
    assert sizes == [Decimal("0.01"), Decimal("0.02"), Decimal("0.03")] and all(type(s) is Decimal for s in sizes)
    assert parse_param(flip, "lean=0.1:0.3:0.1") == ("lean", [0.1, 0.2, 0.3])  # exact steps, 0.3 reached
    made = with_params(flip, {"every": 7, "size": Decimal("0.5")})()
    assert (made.every, made.size, type(made).__name__) == (7, Decimal("0.5"), "Flip")
    assert flip.every == 40  # the class itself is untouched


@pytest.mark.parametrize(("spec", "message"), [
    ("evry=1,2", "--param evry: Flip has no such parameter (its parameters: every, fail_at, label, lean, size)"),
    ("every=1.5", "--param every=1.5: Flip.every is an integer"),
    ("size=abc", "--param size=abc: Flip.size is a decimal"),
    ("every=5:1:1", "--param every=5:1:1: START:STOP:STEP needs STEP > 0 and STOP >= START"),
    ("every", "--param 'every': give NAME=V1,V2,... or NAME=START:STOP:STEP"),
    ("every=1,1", "--param every=1,1: a value given twice"),
])
def test_a_bad_parameter_is_one_line_before_anything_runs(spec: str, message: str, files: tuple[Path, Path],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    strategy, data = files
    code, out, err = cli(capsys, "sweep", strategy, "--data", data, "--param", spec)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"botkit: error: {message}"]


def test_other_refusals_before_anything_runs(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    strategy, data = files
    for args, message in [
        (["--metric", "luck"], "--metric 'luck': one of sharpe, return, pnl, drawdown, win_rate"),
        (["--search", "random"], "--search random needs --trials N (N >= 1)"),
        (["--trials", "3"], "--trials is for --search random (a grid runs every combination)"),
        (["--workers", "0"], "--workers must be >= 1, got 0"),
    ]:
        code, _, err = cli(capsys, "sweep", strategy, "--data", data, "--param", "every=10,20", *args)
        assert (code, err.strip()) == (2, f"botkit: error: {message}")
    code, _, err = cli(capsys, "sweep", strategy, "--data", data)
    assert "nothing to sweep" in err and code == 2


def test_grids_random_trials_and_folds_are_fixed_by_their_inputs() -> None:
    space = {"a": [1, 2, 3], "b": ["x", "y"]}
    grid = combinations(space)
    assert grid[:3] == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}] and len(grid) == 6
    drawn = combinations(space, "random", trials=4, seed=3)
    assert drawn == combinations(space, "random", trials=4, seed=3) and len(drawn) == 4
    assert all(d in grid for d in drawn) and len({tuple(d.values()) for d in drawn}) == 4
    assert len(combinations(space, "random", trials=99)) == 6  # never more than the grid
    plan = folds(1000, 1899, 2)  # 900 ns cut in three windows of 300
    assert [(f.number, f.train, f.test) for f in plan] == [(1, (1000, 1300), (1300, 1600)),
                                                          (2, (1300, 1600), (1600, 1900))]
    with pytest.raises(botkit.ConfigError, match="too short for 5 folds"):
        folds(0, 3, 5)


def test_a_backtest_window_replays_only_its_events(files: tuple[Path, Path]) -> None:
    strategy, data = files
    whole = anyio.run(botkit.build_run(botkit.RunConfig(str(strategy), "backtest", data=str(data))).run)
    middle = (whole.first_event_ns + 30_000_000_000, whole.first_event_ns + 60_000_000_000)
    config = botkit.RunConfig(str(strategy), "backtest", data=str(data), window_ns=middle)
    cut = anyio.run(botkit.build_run(config).run)
    assert middle[0] <= cut.first_event_ns < cut.last_event_ns < middle[1]
    assert 0 < cut.events < whole.events / 2


def _figures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]


def test_a_sweep_on_a_local_cluster_of_two_workers(files: tuple[Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    strategy, data = files
    args = ["sweep", strategy, "--data", data, "--param", "every=20,40,80", "--param", "size=0.01,0.02",
            "--param", "fail_at=0,80", "--metric", "return", "--json"]
    code, out, err = cli(capsys, *args, "--workers", "2", "--out", tmp_path / "two")
    assert code == 0, err
    two = json.loads(out)
    assert two["workers"] == 2 and len(two["rows"]) == 12 and not two["interrupted"]
    failed = [row for row in two["rows"] if row["error"]]
    # The combinations that fail say why in their rows; the rest ran.
    assert len(failed) == 2 and all("boom at every=80" in row["error"] for row in failed)
    assert all(row["fills"] > 0 and row["events"] > 0 for row in two["rows"] if not row["error"])
    assert "2 of 12 backtests failed; the first: " in err
    # The same results, in the same order, whatever the number of workers.
    code, out, _ = cli(capsys, *args, "--workers", "1")
    assert code == 0 and _figures(json.loads(out)["rows"]) == _figures(two["rows"])
    # The files: every row as CSV (parameters exact), Parquet, the heatmap and a page.
    files_written = sorted(Path(p).name for p in two["files"])
    assert files_written == ["heatmap.png", "index.html", "results.csv", "results.parquet"]
    with open(tmp_path / "two" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and {r["size"] for r in rows} == {"0.01", "0.02"}
    assert (tmp_path / "two" / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "two" / "results.parquet").num_rows == 12
    assert "<table>" in (tmp_path / "two" / "index.html").read_text()


def test_walk_forward_through_a_scheduler_the_test_started(files: tuple[Path, Path],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    strategy, data = files
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:
        code, out, err = cli(capsys, "sweep", strategy, "--data", data, "--param", "every=20,40,80",
                             "--metric", "pnl", "--folds", "2", "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    assert "walk-forward: best on each train window" in out
    assert "in-sample pnl" in out and "overfit gap" in out
    assert f"on {cluster.scheduler_address}" in err


def test_walk_forward_picks_the_best_train_combination_and_tests_it(files: tuple[Path, Path]) -> None:
    strategy, data = files
    base = botkit.RunConfig(str(strategy), "backtest", data=str(data))
    result = run_sweep(SweepSpec(base, {"every": [20, 40, 80]}, metric="pnl", folds=2, workers=2))
    train = [row for row in result.rows if row["split"] == "train"]
    tests = [row for row in result.rows if row["split"] == "test"]
    assert len(train) == 6 and len(tests) == 2
    for fold in result.walk_forward:
        best = max((row for row in train if row["fold"] == fold["fold"]), key=lambda r: r["metric"])
        assert fold["params"] == best["params"] and fold["train_metric"] == best["metric"]
        test = next(row for row in tests if row["fold"] == fold["fold"])
        assert test["params"] == best["params"] and fold["test_metric"] == test["metric"]
        assert fold["train"][1] == fold["test"][0]  # the test window follows the train window
    oos = result.out_of_sample
    assert oos["overfit_gap"] == pytest.approx(oos["in_sample_metric"] - oos["out_of_sample_metric"])


def test_ctrl_c_cancels_what_is_left_and_keeps_what_finished(files: tuple[Path, Path]) -> None:
    strategy, data = files
    base = botkit.RunConfig(str(strategy), "backtest", data=str(data), handle_signals=False)
    jobs = [(i, 0, "all", {"every": 10 + i}, base) for i in range(8)]

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt  # as Ctrl-C does while the sweep waits for its tasks

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster, distributed.Client(cluster) as client:
        rows, interrupted = _run_all(client, jobs, "return", interrupt)
    # The first to finish is kept; the rest were cancelled, not waited for.
    assert interrupted and len(rows) == 1 and rows[0]["events"] > 0 and rows[0]["error"] is None


def test_a_parameter_named_as_a_result_column_keeps_its_own_column(tmp_path: Path) -> None:
    from botkit.sweep import SweepResult, write_outputs

    rows = [{"combination": i, "fold": 0, "split": "all", "params": {"error": i, "b": Decimal(i)},
             "metric": float(i), "events": 10, "elapsed_s": 0.1, "error": None, "fills": 1} for i in range(2)]
    write_outputs(SweepResult("return", ["error", "b"], rows), tmp_path)
    with open(tmp_path / "results.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert [(r["param_error"], r["b"], r["error"]) for r in written] == [("0", "0", ""), ("1", "1", "")]


def _worker_settings() -> tuple[str | None, bool]:
    import os

    import dask

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), bool(dask.config.get("distributed.worker.profile.enabled"))


def test_the_local_clusters_workers_run_without_the_settings_that_slow_a_backtest(
        files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from botkit.sweep._run import local_cluster

    # A cluster started with Dask's defaults in this process (another test's) leaves the
    # variable in its environment; a sweep keeps what it inherits, and adds nothing.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)

    spec = SweepSpec(botkit.RunConfig(str(files[0]), "backtest"), {"every": [1]}, workers=1)
    with local_cluster(spec) as (client, workers):
        settings = list(client.run(_worker_settings).values())
    # Dask's default trim threshold made glibc return freed memory at once: page faults.
    assert workers == 1 and settings == [(None, False)]
