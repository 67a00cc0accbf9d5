"""``python -m bench [--big]``: parse, bus and backtest figures as one table.

Each figure is a median of repeated runs; comparisons are ratios measured in the same run.
Install the comparison libraries with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import math

from . import backtest, engine, parse


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--big", action="store_true", help="also backtest 5M trades (memory flatness)")
    args = parser.parse_args()
    rows = parse.run() + engine.run() + backtest.run((1_000_000, 5_000_000) if args.big else (1_000_000,))
    width = max(len(r[0]) for r in rows)
    for name, value, unit in rows:
        shown = "n/a" if math.isnan(value) else (f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
        print(f"{name:<{width}}  {shown:>12}  {unit}")


if __name__ == "__main__":
    main()
