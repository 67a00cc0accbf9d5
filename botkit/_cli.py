"""The ``botkit`` command line: ``run`` and ``backtest``.

Exit codes: 0 success (also after Ctrl-C/SIGTERM: a clean stop), 1 the run failed
(strategy error, corrupt data), 2 bad input (arguments, strategy file).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from ._engine import Engine, RunSummary
from ._exceptions import BotkitError, ConfigError
from ._loader import load_strategy
from ._progress import progress_monitor
from ._sample import sample_path
from ._version import __version__
from .sources import ReplaySource

__all__ = ["main"]

_EPILOG = """\
examples:
  botkit run strategies/scalper.py                 # the shipped sample, no network needed
  botkit backtest strategies/scalper.py --data examples/data/binance-btcusdt-sample.txt.gz
  botkit backtest my_strategy.py --data rec.txt.gz --json | jq .events_per_s

A strategy file is a Python file with one `class X(botkit.Strategy)`.
Data files are botkit recordings (docs/recording-format.md), plain or gzip.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botkit",
        description="Run trading strategies on live feeds or recorded data.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"botkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="run a strategy (paper trading); without --data, on the shipped sample",
        description="Run STRATEGY_FILE, paper trading. Without --data it runs on the sample "
        "recording shipped with botkit (no network, no keys) until the recording ends.",
    )
    run.add_argument("--data", metavar="FILE", help="recording to run on (default: the shipped sample)")
    backtest = sub.add_parser(
        "backtest",
        help="replay a recording through a strategy at full speed and report",
        description="Replay FILE through STRATEGY_FILE as fast as possible, on event time "
        "(timers fire at the recorded times), and print a summary.",
    )
    backtest.add_argument("--data", metavar="FILE", required=True, help="recording to replay")
    for command in (run, backtest):
        command.add_argument("strategy_file", metavar="STRATEGY_FILE", help="Python file defining a Strategy")
        command.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
        command.add_argument("--strategy", metavar="NAME", help="class to run when the file defines several")
        command.add_argument("--venue", metavar="NAME", help="parser for the data (default: from the recording)")
        command.add_argument(
            "--max-errors", type=int, default=0, metavar="N",
            help="strategy exceptions tolerated (logged, trading halted) before the run fails (default 0)",
        )
        command.add_argument(
            "--backend", choices=("trio", "asyncio"), default="trio", help="async backend (default trio)"
        )
        command.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
        command.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``botkit`` console script."""
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"botkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before the engine's own signal handling was in place
        print("botkit: interrupted", file=sys.stderr)
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.max_errors < 0:
        raise ConfigError(f"--max-errors must be >= 0, got {args.max_errors}")
    data = args.data
    if data is None:
        sample = sample_path()
        if sample is None:
            raise ConfigError("the shipped sample recording is missing; pass --data FILE")
        data = str(sample)
        print(f"botkit: running on the shipped sample recording {data} (no network needed)", file=sys.stderr)
    if not Path(data).is_file():
        raise ConfigError(f"data file not found: {data}")
    strategy = load_strategy(args.strategy_file, args.strategy)()
    source = ReplaySource(data, venue=args.venue)
    engine = Engine(strategy, source, max_strategy_errors=args.max_errors, handle_signals=True)
    show_progress = sys.stderr.isatty() and not args.json and not args.quiet
    summary: RunSummary | None = None
    error: BotkitError | None = None

    async def go() -> RunSummary:
        monitors = [progress_monitor(source)] if show_progress else []
        return await engine.run(monitors=monitors)

    try:
        summary = anyio.run(go, backend=args.backend)
    except BotkitError as exc:
        error = exc
        summary = engine.partial_summary(str(exc))
    _report(summary, args.json)
    if error is not None:
        print(f"botkit: error: {error}", file=sys.stderr)
        return 1
    if args.data is None:
        print(f"botkit: the sample recording ended after {summary.events} events", file=sys.stderr)
    return 0


def _report(summary: RunSummary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.to_dict(), separators=(",", ":")))
        return
    from ._report import print_summary

    print_summary(summary)


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname).1s %(name)s: %(message)s"))
    root: dict[str, Any] = {"handlers": [handler], "level": logging.WARNING}
    logging.basicConfig(**root, force=True)
    logging.getLogger("botkit").setLevel(level if verbose else max(level, logging.WARNING))
    logging.getLogger("botkit.strategy").setLevel(level)
