"""``botkit sweep``: the flags to a :class:`~botkit.sweep.SweepSpec`, and its results
printed (a ranked table, the walk-forward folds) or as one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._exceptions import ConfigError
from .._loader import load_strategy
from .._params import parse_param
from ..sweep import SweepResult, SweepSpec, check_spec, run_sweep, write_outputs
from ._options import run_config

__all__ = ["sweep"]

_SHOWN = 20  # rows of the ranked table on the terminal (--out and --json have them all)


def sweep(args: argparse.Namespace) -> int:
    """Run the sweep; exit 0 when it ran (failed combinations are results), 1 when every
    combination failed."""
    args.data = [path for group in args.data or () for path in group] or None
    base = run_config(args, "backtest")
    cls = load_strategy(base.strategy_file, base.strategy_class)
    space: dict[str, list[Any]] = {}
    for text in args.param:
        name, values = parse_param(cls, text)
        if name in space:
            raise ConfigError(f"--param {name} given twice: give all its values in one, e.g. {name}=1,2,3")
        space[name] = values
    spec = SweepSpec(base, space, search=args.search, trials=args.trials, seed=args.seed, metric=args.metric,
                     folds=args.folds, workers=args.workers, scheduler=args.scheduler)
    combos = check_spec(spec)  # every flag checked before a worker starts
    interactive = sys.stderr.isatty() and not args.quiet
    if not args.quiet:
        size = f"{spec.workers} workers" if spec.workers else "one worker per core"
        where = args.scheduler or f"a local cluster of {size}"
        print(f"botkit: sweeping {len(combos)} combinations of {', '.join(space)}"
              f"{f' over {args.folds} walk-forward folds' if args.folds else ''} on {where}", file=sys.stderr)
    result = _with_progress(spec) if interactive else run_sweep(spec)
    written = write_outputs(result, args.out) if args.out else []
    if args.json:
        print(json.dumps({**result.to_dict(), "files": [str(p) for p in written]}, default=str))
    else:
        _print(result)
        for path in written:
            print(f"wrote {path}")
    if result.interrupted:
        print(f"botkit: interrupted: {len(result.rows)} backtests finished, the rest cancelled", file=sys.stderr)
    failed = [row for row in result.rows if row["error"]]
    if failed and not args.quiet:
        print(f"botkit: {len(failed)} of {len(result.rows)} backtests failed; the first: {failed[0]['error']}",
              file=sys.stderr)
    return 1 if result.rows and len(failed) == len(result.rows) else 0


def _with_progress(spec: SweepSpec) -> SweepResult:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("backtests"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task("sweep", total=None)
        return run_sweep(spec, lambda done, total: bar.update(task, completed=done, total=total))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print(result: SweepResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    window = "train" if result.walk_forward else "all"
    ranked = result.ranked(window)
    table = Table(title=f"{len(ranked)} backtests{' (train windows)' if result.walk_forward else ''}, "
                        f"by {result.metric}, on {result.workers} workers in {result.elapsed_s:.1f} s")
    for name in ("#", *(["fold"] if result.walk_forward else []), *result.params, result.metric, "return %",
                 "pnl", "drawdown %", "fills", "error"):
        table.add_column(name, justify="left" if name == "error" else "right")
    for row in ranked[:_SHOWN]:
        metric = row["metric"] if result.metric != "drawdown" or row["metric"] is None else -row["metric"]
        table.add_row(str(row["combination"]), *([str(row["fold"])] if result.walk_forward else []),
                      *(str(row["params"][p]) for p in result.params), _cell(metric), _cell(row["return_pct"]),
                      _cell(row["total_return"]), _cell(row["max_drawdown_pct"]), _cell(row["fills"]),
                      row["error"] or "")
    console.print(table)
    if len(ranked) > _SHOWN:
        console.print(f"... and {len(ranked) - _SHOWN} more (--out DIR or --json for all)")
    if result.walk_forward:
        folds = Table(title="walk-forward: best on each train window, judged on the next")
        for name in ("fold", "best parameters", f"train {result.metric}", f"test {result.metric}", "test return %"):
            folds.add_column(name, justify="right")
        for fold in result.walk_forward:
            params = ", ".join(f"{k}={v}" for k, v in (fold["params"] or {}).items()) or "-"
            folds.add_row(str(fold["fold"]), params, _cell(fold["train_metric"]), _cell(fold["test_metric"]),
                          _cell(fold["test_return_pct"]))
        console.print(folds)
        oos = result.out_of_sample
        if oos:
            console.print(f"in-sample {result.metric} {oos['in_sample_metric']:.4g}, out-of-sample "
                          f"{oos['out_of_sample_metric']:.4g}: overfit gap {oos['overfit_gap']:.4g} "
                          f"(out-of-sample pnl {oos['out_of_sample_pnl']:.6g})")
        else:
            console.print("no fold had a defined metric on both windows (no trades?): no out-of-sample figure")
