"""A sweep's results as files (``--out DIR``): ``results.csv`` and ``results.parquet``
(one row per task), ``heatmap.png`` (the metric over two parameters), ``index.html``."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError
from ._run import SweepResult
from ._task import FIGURES

__all__ = ["heatmap_params", "write_outputs"]

_COLUMNS = ("combination", "fold", "split", "metric", *FIGURES, "events", "elapsed_s", "error")


def _param_columns(result: SweepResult) -> dict[str, str]:
    """Parameter -> its column: its name, or ``param_NAME`` where a figure has that name."""
    return {name: f"param_{name}" if name in _COLUMNS else name for name in result.params}


def _flat(result: SweepResult) -> list[dict[str, Any]]:
    """One flat record per row: its parameters as columns beside the figures."""
    columns = _param_columns(result)
    return [{**{columns[name]: row["params"].get(name) for name in result.params},
             **{column: row.get(column) for column in _COLUMNS}} for row in result.rows]


def heatmap_params(result: SweepResult) -> tuple[str, str] | None:
    """The two parameters a heatmap shows: the first two that take more than one value."""
    varied = [name for name in result.params if len({repr(row["params"][name]) for row in result.rows}) > 1]
    return (varied[0], varied[1]) if len(varied) >= 2 else None


def write_outputs(result: SweepResult, out: str | Path) -> list[Path]:
    """Write the files into ``out`` (created); returns their paths. Parquet is written
    where pyarrow is installed, the heatmap where two parameters vary.

    :raises ConfigError: ``out`` cannot be created.
    """
    root = Path(out)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: {exc.strerror or exc}") from None
    records = _flat(result)
    params = list(_param_columns(result).values())
    names = [*params, *_COLUMNS]
    written = [root / "results.csv"]
    with open(written[0], "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, names)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else str(v)) for k, v in r.items()} for r in records)
    try:
        import pyarrow  # type: ignore[import-untyped]
        import pyarrow.parquet  # type: ignore[import-untyped]
    except ImportError:
        pass
    else:
        # Parameters as text: exact (a Decimal stays its digits), one type per column.
        table = pyarrow.table({name: [None if r[name] is None else (str(r[name]) if name in params
                                                                    else r[name]) for r in records]
                               for name in names})
        pyarrow.parquet.write_table(table, root / "results.parquet")
        written.append(root / "results.parquet")
    pair = heatmap_params(result)
    if pair is not None:
        written.append(_heatmap(result, pair, root / "heatmap.png"))
    written.append(_page(result, root / "index.html", "heatmap.png" if pair else None))
    return written


def _grid(result: SweepResult, pair: tuple[str, str]) -> tuple[list[Any], list[Any], list[list[float | None]]]:
    """The metric over ``pair`` (the best over the other parameters), train windows and
    whole-data rows only (a test window holds one combination)."""
    rows = [row for row in result.rows if row["split"] in ("all", "train")]
    xs = sorted({row["params"][pair[0]] for row in rows})
    ys = sorted({row["params"][pair[1]] for row in rows})
    cells: dict[tuple[Any, Any], list[float]] = {}
    for row in rows:
        if row["metric"] is not None:
            cells.setdefault((row["params"][pair[0]], row["params"][pair[1]]), []).append(row["metric"])
    grid = [[max(cells[(x, y)]) if (x, y) in cells else None for x in xs] for y in ys]
    return xs, ys, grid


def _heatmap(result: SweepResult, pair: tuple[str, str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys, grid = _grid(result, pair)
    values = [[float("nan") if v is None else v for v in line] for line in grid]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 + 0.8 * len(xs)), max(3.2, 1.4 + 0.5 * len(ys))), dpi=100)
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(xs)), [str(x) for x in xs], rotation=45, ha="right")
    ax.set_yticks(range(len(ys)), [str(y) for y in ys])
    ax.set_xlabel(pair[0])
    ax.set_ylabel(pair[1])
    label = result.metric + (" (negated: higher is better)" if result.metric == "drawdown" else "")
    fig.colorbar(image, ax=ax, label=label)
    for j, line in enumerate(grid):
        for i, value in enumerate(line):
            if value is not None:
                ax.text(i, j, f"{value:.3g}", ha="center", va="center", color="w", fontsize=7)
    ax.set_title(f"{result.metric} by {pair[0]} and {pair[1]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(result: SweepResult, path: Path, heatmap: str | None) -> Path:
    shown = ["metric", "return_pct", "total_return", "sharpe", "max_drawdown_pct", "fills", "error"]
    ranked = result.ranked("train" if result.walk_forward else "all")
    parts = [f"<h1>Sweep: {html.escape(result.metric)}</h1>",
             f"<p>{len(result.rows)} backtests on {result.workers} workers in {result.elapsed_s} s"
             f"{' (interrupted: the finished ones)' if result.interrupted else ''}.</p>"]
    if heatmap:
        parts.append(f'<img src="{heatmap}" alt="heatmap of the metric">')
    if result.walk_forward:
        parts.append("<h2>Walk-forward</h2>")
        parts.append(_table(["fold", "train (ns)", "test (ns)", "best parameters", "train metric", "test metric",
                             "test return %"],
                            [[f["fold"], f"{f['train'][0]}-{f['train'][1]}", f"{f['test'][0]}-{f['test'][1]}",
                              json.dumps(f["params"], default=str), f["train_metric"], f["test_metric"],
                              f["test_return_pct"]] for f in result.walk_forward]))
        parts.append(f"<pre>{html.escape(json.dumps(result.out_of_sample, indent=1))}</pre>")
    parts.append("<h2>Results</h2>")
    parts.append(_table(["fold", "split", *result.params, *shown],
                        [[r["fold"], r["split"], *(r["params"][p] for p in result.params), *(r.get(c) for c in shown)]
                         for r in ranked]))
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;" \
            "padding:2px 6px;font-size:13px}"
    path.write_text(f"<!doctype html><meta charset='utf-8'><title>botkit sweep</title><style>{style}</style>"
                    + "".join(parts), encoding="utf-8")
    return path
