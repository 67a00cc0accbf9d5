"""``python -m bench [--big] [--long]``: parse, bus and backtest figures as one table.

Each figure is a median of repeated runs; comparisons are ratios measured in the same run.
Install the comparison libraries with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import math

from . import (
    archives,
    backtest,
    book,
    breakdown,
    dashboard,
    engine,
    journal,
    live,
    longrun,
    merge,
    orders,
    parse,
    realmix,
    sweep,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--big", action="store_true",
                        help="also backtest 5M trades, and a generated month of archives (memory flatness)")
    parser.add_argument("--long", action="store_true",
                        help="also the 30-minute live runs (memory growth; the dashboard's page through one)")
    args = parser.parse_args()
    rows = parse.run() + engine.run()
    ours = backtest.run((1_000_000, 5_000_000) if args.big else (1_000_000,))
    rows += ours
    rows += _breakdown(ours[0][1])
    rows += merge.run()
    if args.big:
        rows += archives.run()
    rows += book.run()
    rows += realmix.run()
    rows += live.run()
    rows += dashboard.run()
    rows += orders.run()
    rows += journal.run()
    rows += sweep.run()
    if args.long:
        rows += longrun.run()
        rows += dashboard.long_page()
    width = max(len(r[0]) for r in rows)
    for name, value, unit in rows:
        shown = "n/a" if math.isnan(value) else (f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
        print(f"{name:<{width}}  {shown:>12}  {unit}")


def _breakdown(backtest_rate: float) -> list[tuple[str, float, str]]:
    """Per-frame cost of the replay path's stages, ending with the end-to-end backtest."""
    stages = breakdown.run() + [("+ file, bus, engine, counting strategy: botkit backtest", 1e9 / backtest_rate)]
    rows, before = [], 0.0
    for name, ns in stages:
        rows.append((f"where the time goes: {name}", ns, f"ns/trade (this step {ns - before:+.0f})"))
        before = ns
    return rows


if __name__ == "__main__":
    main()
