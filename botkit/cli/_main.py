"""The ``botkit`` command line: argument parsing and error reporting.

Exit codes: 0 success (also after Ctrl-C/SIGTERM: a clean stop), 1 the run failed
(strategy error, corrupt data, unreadable file), 2 bad input (arguments, strategy file).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .._exceptions import BotkitError, ConfigError
from .._suggest import nearest
from .._version import __version__
from ..protocol import VENUES

__all__ = ["main"]

_EPILOG = """\
examples:
  botkit run strategies/scalper.py                 # the whole live path on the shipped sample, offline
  botkit backtest strategies/scalper.py --data examples/data/binance-btcusdt-sample.txt.gz
  botkit backtest my_strategy.py --data rec.txt.gz --json | jq .events_per_s
  botkit exchange-sim --port 0 --fault drop@500    # a local exchange to point `run --url` at
  botkit record --venue kraken --symbols BTC-USD --channels trades,books --out btc.txt.gz --duration 60
  botkit decode --venue kraken btc.txt.gz | head
  botkit soak --faults 50                          # lossless-feed proof under injected faults
  botkit journal strategies/journals/scalper-Scalper-binance-mainnet.journal   # a live bot's history
  botkit download BTCUSDT --kind trades --from 2025-01-01 --to 2025-01-31   # a month of real trades
  botkit sweep strategies/scalper.py --param window=20,50,100 --param take_profit_bps=10:40:10 --folds 3

A strategy file is a Python file with one `class X(botkit.Strategy)`.
Data files are botkit recordings (docs/recording-format.md), plain or gzip.
"""


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    command.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")


def _strategy_args(command: argparse.ArgumentParser, *, sweep: bool = False) -> None:
    command.add_argument("strategy_file", metavar="STRATEGY_FILE", help="Python file defining a Strategy")
    command.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    command.add_argument("--strategy", metavar="NAME", help="class to run when the file defines several")
    command.add_argument(
        "--max-errors", type=int, default=0, metavar="N",
        help="hook exceptions tolerated before the run fails (default 0: the first one fails it). The first "
             "halts trading for the rest of the run; the first of each kind is logged in full, repeats are counted",
    )
    command.add_argument("--hook-timeout", type=float, metavar="SECONDS",
                         help="cancel an async hook awaiting longer than this and fail the run (default 10)")
    command.add_argument("--config", metavar="FILE", help="TOML config: risk limits, fees, cash, instruments")
    if sweep:  # a sweep's backtests keep no report or journal each
        command.set_defaults(report=None, journal=None, journal_sync=None)
    else:
        command.add_argument("--report", metavar="DIR",
                             help="write report.png (equity, drawdown, fills) and report.html")
        command.add_argument("--journal", metavar="FILE",
                             help="SQLite journal of every order, fill and state: restored from on restart "
                                  "(a live run has a default one)")
        command.add_argument("--journal-sync", choices=("normal", "full"),
                             help="normal: survives the process being killed (default); full: also a power loss")
    command.add_argument("--latency-ms", type=float, metavar="MS", help="paper order latency (overrides config)")
    command.add_argument("--fee-bps", metavar="BPS", help="maker and taker fee in basis points (overrides config)")
    command.add_argument("--slippage-bps", metavar="BPS", help="market order slippage (overrides config)")
    command.add_argument("--cash", action="append", default=[], metavar="[VENUE:]ASSET=AMOUNT",
                         help="starting cash, e.g. USDT=10000, or one venue's account of a strategy "
                              "trading several: coinbase:USD=5000 (repeatable; overrides config)")
    _common(command)


def _venue_arg(command: argparse.ArgumentParser, help_text: str, *, repeat: bool = False) -> None:
    names = ", ".join(VENUES)
    command.add_argument("--venue", metavar="NAME", type=_venue_name, help=f"{help_text}; one of: {names}",
                         action="append" if repeat else "store")


def _venue_name(text: str) -> str:
    if text not in VENUES:
        raise argparse.ArgumentTypeError(f"unknown venue {text!r}{nearest(text, VENUES)}; known: {', '.join(VENUES)}")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botkit",
        description="Run trading strategies on live WebSocket feeds or recorded data.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"botkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="run a strategy on a live feed (paper trading)",
        description="Run STRATEGY_FILE on a live WebSocket feed, paper trading. With no --url or "
        "--venue, an embedded exchange simulator on loopback serves the shipped sample (or --data "
        "FILE) through the whole live path (WebSocket, reconnects, parser, bus) until it ends.",
    )
    _strategy_args(run)
    where = run.add_mutually_exclusive_group()
    where.add_argument("--url", metavar="URL", action="append",
                       help="ws:// or wss:// URL of a feed (e.g. from `botkit exchange-sim`); a strategy with several "
                            "feeds takes VENUE=URL, once per venue")
    where.add_argument("--data", metavar="FILE", help="recording for the embedded simulator (default: the sample)")
    _venue_arg(run, "venue: with --url, its protocol; alone, connect to the venue itself (default binance)")
    run.add_argument("--symbols", metavar="S1,S2", help="symbols for --venue (default: the strategy's)")
    run.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    run.add_argument("--speed", type=float, default=0.0, metavar="X",
                     help="embedded simulator pace: 1 = recorded time, 0 = as fast as possible (default)")
    run.add_argument("--live", action="store_true",
                     help="place REAL orders on the strategy's venue (Binance spot), keys from the environment "
                          "(BOTKIT_BINANCE_API_KEY with BOTKIT_BINANCE_API_SECRET or BOTKIT_BINANCE_PRIVATE_KEY)")
    run.add_argument("--testnet", action="store_true", help="with --live: Binance's spot test network")
    run.add_argument("--cpu", metavar="N[,M]",
                     help="run the bot on these CPUs only (Linux): away from a busy core, its tail latency holds")
    run.add_argument("--api-url", metavar="URL",
                     help="with --live: the WebSocket API endpoint for orders (e.g. `botkit exchange-sim --trading`)")
    run.add_argument("--dashboard", metavar="[HOST:]PORT",
                     help="serve the live dashboard and its API there (host default 127.0.0.1; port 0: a free one); "
                          "the start line gives the URL with this run's token")
    run.add_argument("--dashboard-token-env", metavar="NAME",
                     help="the dashboard's token is in this environment variable (needed to listen beyond loopback)")

    backtest = sub.add_parser(
        "backtest",
        help="replay a recording through a strategy at full speed and report",
        description="Replay FILE through STRATEGY_FILE as fast as possible, on event time "
        "(timers fire at the recorded times), and print a summary.",
    )
    _strategy_args(backtest)
    backtest.add_argument("--data", metavar="FILE", action="append",
                          help="recording to replay, or Binance data archives (a .zip, a directory, a glob); "
                               "again for more (one per venue): merged by time (default: the shipped sample that "
                               "fits the strategy)")
    _venue_arg(backtest, "parser for the data (default: from the recording's header, an archive's path, "
                         "else binance)")
    backtest.add_argument("--skip-bad-rows", action="store_true",
                          help="exchange archives: count a CSV row that does not parse and go on (default: stop "
                               "there, naming the file and line)")
    backtest.add_argument("--backend", choices=("trio", "asyncio"), default="trio", help="async backend")

    sweep = sub.add_parser(
        "sweep",
        help="backtest a strategy over a grid of parameter values, on all cores or a Dask cluster",
        description="Backtest STRATEGY_FILE once per combination of --param values (its class attributes), "
        "one Dask task each: on a local cluster of one worker process per core, or on --scheduler's. "
        "Prints the combinations ranked by --metric; --folds K adds a walk-forward test; --out DIR writes "
        "results.csv, results.parquet, heatmap.png and index.html.",
    )
    _strategy_args(sweep, sweep=True)
    sweep.add_argument("--data", metavar="FILE", action="append", nargs="+",
                       help="recordings, archives or Parquet to backtest on (as backtest's --data); every worker "
                            "must reach them at the same path (default: the shipped sample)")
    sweep.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2|NAME=START:STOP:STEP",
                       help="values of one of the strategy's class attributes (repeatable; STOP included)")
    sweep.add_argument("--search", choices=("grid", "random"), default="grid",
                       help="grid: every combination (default); random: --trials of them")
    sweep.add_argument("--trials", type=int, metavar="N", help="with --search random: how many combinations")
    sweep.add_argument("--seed", type=int, default=0, help="with --search random: the draw's seed (default 0)")
    sweep.add_argument("--metric", default="sharpe", metavar="NAME",
                       help="what ranks combinations: sharpe (default), return, pnl, drawdown, win_rate")
    sweep.add_argument("--folds", type=int, default=0, metavar="K",
                       help="walk-forward: K rolling train/test windows in time (default 0: all data at once)")
    sweep.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core)")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this existing Dask cluster")
    sweep.add_argument("--out", metavar="DIR", help="write results.csv, results.parquet, heatmap.png, index.html")
    _venue_arg(sweep, "parser for the data (as backtest's --venue)")
    sweep.add_argument("--skip-bad-rows", action="store_true", help="archives: count bad CSV rows and go on")
    sweep.add_argument("--backend", choices=("trio", "asyncio"), default="trio", help="async backend")

    sim = sub.add_parser(
        "exchange-sim",
        help="serve a recording as a local exchange (WebSocket + REST depth) with faults",
        description="Serve a recording on 127.0.0.1 in a venue's stream protocol (Binance by "
        "default). The first line on stdout is the ws:// URL. Faults: drop, stall, garbage, gap, "
        "refuse, close, 429.",
    )
    sim.add_argument("--port", type=int, default=0, help="TCP port (0: pick a free one)")
    _venue_arg(sim, "protocol to speak (default binance)")
    sim.add_argument("--data", metavar="FILE", help="recording to serve (default: the shipped sample)")
    sim.add_argument("--market", action="store_true",
                     help="serve an endless generated market instead of a recording (about 4 frames/s at --speed 1; "
                          "for soaks and long runs)")
    sim.add_argument("--speed", type=float, default=1.0, metavar="X", help="1 = recorded pace, 0 = flat out")
    sim.add_argument("--fault", action="append", default=[], metavar="KIND@N",
                     help="inject KIND every N frames (repeatable)")
    sim.add_argument("--loop", action="store_true", help="keep serving after the data ends (no end-of-data close)")
    sim.add_argument("--batch-bytes", type=int, default=0, metavar="N",
                     help="with --speed 0: send frames in writes of about N bytes (default 0: one per frame)")
    sim.add_argument("--trading", action="store_true",
                     help="also serve Binance's spot WebSocket API on /ws-api/v3 (orders, user data stream) for the "
                          "key in BOTKIT_BINANCE_API_KEY (+ _API_SECRET or _PRIVATE_KEY), as `botkit run --live` uses")
    sim.add_argument("--balance", action="append", default=[], metavar="ASSET=AMOUNT",
                     help="with --trading: the account's starting balance (repeatable; default USDT=10000)")
    sim.add_argument("--orders-per-10s", type=int, default=100, metavar="N",
                     help="with --trading: the ORDERS / 10 SECOND limit it enforces and reports (default 100)")
    sim.add_argument("--execution-fault", action="append", default=[], metavar="KIND@N",
                     help="with --trading: inject KIND at every Nth order (lost_response, stream_drop, close, "
                          "duplicate_report, partial, reject)")
    _common(sim)

    decode = sub.add_parser(
        "decode",
        help="decode raw frames or a recording into one JSON event per line",
        description="Read FILE (raw frames one per line, or a recording) and write one JSON object "
        "per typed event on stdout; the last stderr line counts events, frames and parse errors.",
    )
    decode.add_argument("file", metavar="FILE")
    _venue_arg(decode, "venue whose parser to use (default binance)")
    _common(decode)

    record = sub.add_parser(
        "record",
        help="record a live feed (raw frames + receive times) for replay",
        description="Record a live feed to FILE in the replay format (gzip if it ends in .gz). "
        "Flushed every second; Ctrl-C saves everything.",
    )
    record.add_argument("--url", metavar="URL", action="append",
                        help="feed URL (a simulator, a testnet; default: the venue's); with several venues VENUE=URL")
    _venue_arg(record, "venue to record (default binance with --url); again for more, into one recording",
               repeat=True)
    record.add_argument("--symbols", metavar="S1,S2", help="symbols, any spelling (BTC-USDT, BTCUSDT)")
    record.add_argument("--channels", default="trades,quotes", metavar="C1,C2",
                        help="channels: trades, quotes, books, bars (default trades,quotes)")
    record.add_argument("--out", required=True, metavar="FILE", help="output recording")
    record.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    record.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    _common(record)
    soak = sub.add_parser(
        "soak",
        help="prove the lossless live feed: run against the simulator under N injected faults",
        description="Run the live path (simulator on loopback, WebSocket, backfill, books) through N "
        "faults rotating over drop, stall, garbage, gap, refuse, 429 storms and close; print one "
        "`name: value` per line. Exit 1 if any trade is missing, duplicated or out of order, a book "
        "differs from the simulator's, or a rate limit was exceeded.",
    )
    soak.add_argument("--faults", type=int, metavar="N", help="faults to inject")
    soak.add_argument("--orders", type=int, metavar="N",
                      help="trade instead: N orders live against the trading simulator under --faults execution "
                           "faults (lost responses, user-stream drops, closes, duplicate reports, partial fills, "
                           "rejections); exit 1 unless orders, fills and balances converge")
    soak.add_argument("--kills", type=int, metavar="N",
                      help="crash instead: a live bot on a journal, SIGKILLed N times at random moments (between "
                           "intent and send, send and answer, mid-fill, any time) and restarted; exit 1 unless "
                           "nothing was lost or done twice")
    soak.add_argument("--seed", type=int, default=1, help="market data and fault timing seed")
    soak.add_argument("--every", type=int, default=500, metavar="FRAMES", help="frames between faults (about)")
    soak.add_argument("--speed", type=float, metavar="X",
                      help="market pace (x recorded time; default 40, with --kills 10)")
    _common(soak)
    journal = sub.add_parser(
        "journal",
        help="show a journal: its runs, open orders, positions and P&L",
        description="Read FILE (a journal written by `botkit run --journal` or a live run's default one; "
        "another process may be writing it) and print its run history, the orders still open, the "
        "positions, cash and P&L over all its runs. Never writes to FILE.",
    )
    journal.add_argument("file", metavar="FILE")
    journal.add_argument("--report", metavar="DIR", help="write report.png and report.html, as a backtest does")
    journal.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    _common(journal)
    convert = sub.add_parser(
        "convert",
        help="write a recording or exchange archives as Parquet (a table per event type)",
        description="Read INPUT (a recording, or Binance data archives: a .zip, a directory, a glob) and write "
        "its events to OUT.parquet, a directory with one Parquet file per event type (trade, quote, "
        "book_snapshot, book_delta, bar); `botkit backtest S --data OUT.parquet` replays it, "
        "botkit.read_events(OUT.parquet, type='trade') loads a table. Decimals are written as strings.",
    )
    convert.add_argument("input", metavar="INPUT")
    convert.add_argument("--to", dest="out", required=True, metavar="OUT.parquet")
    _venue_arg(convert, "parser of the input (default: the recording's header, an archive's path, else binance)")
    convert.add_argument("--skip-bad-rows", action="store_true", help="archives: count bad CSV rows and go on")
    _common(convert)
    download = sub.add_parser(
        "download",
        help="fetch Binance's public trade and kline archives into a local cache, verified",
        description="Fetch SYMBOL's daily (--from/--to YYYY-MM-DD) or monthly (YYYY-MM) archives from Binance's "
        "public data site into DIR, in the site's own layout, each checked against its published SHA-256. "
        "A file already there and verified is not fetched again; a cut-off one continues. "
        "`botkit backtest STRATEGY --data DIR` replays them.",
    )
    download.add_argument("symbol", metavar="SYMBOL", help="e.g. BTCUSDT")
    download.add_argument("--venue", choices=("binance", "binance-futures"), default="binance",
                          help="spot (binance, default) or USD-M futures (binance-futures)")
    download.add_argument("--kind", default="trades", metavar="KIND",
                          help="trades (default), aggTrades, or klines-INTERVAL (klines-1m, klines-1h, ...)")
    download.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day (or month)")
    download.add_argument("--to", dest="end", metavar="DATE", help="last day (or month); default: --from")
    download.add_argument("--dir", default="botkit-data", metavar="DIR", help="the cache (default ./botkit-data)")
    download.add_argument("--base-url", metavar="URL", help="where the venue's layout is served (default "
                          "https://data.binance.vision/)")
    download.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    _common(download)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``botkit`` console script."""
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    from . import _commands, _journal_view

    command = {
        "run": _commands.run,
        "backtest": _commands.backtest,
        "exchange-sim": _commands.exchange_sim,
        "decode": _commands.decode,
        "record": _commands.record,
        "soak": _commands.soak,
        "journal": _journal_view.journal,
        "download": _commands.download,
        "convert": _commands.convert,
        "sweep": _sweep_command,
    }[args.command]
    try:
        return command(args)
    except ConfigError as exc:
        print(f"botkit: error: {exc}", file=sys.stderr)
        return 2
    except BotkitError as exc:
        print(f"botkit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the engine's own signal handling was in place
        print("botkit: interrupted", file=sys.stderr)
        return 0
    except BrokenPipeError:  # stdout closed early (e.g. `| head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _sweep_command(args: argparse.Namespace) -> int:
    from . import _sweep

    return _sweep.sweep(args)


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname).1s %(name)s: %(message)s"))
    logging.basicConfig(handlers=[handler], level=logging.WARNING, force=True)
    logging.getLogger("botkit").setLevel(level if verbose else max(level, logging.WARNING))
    logging.getLogger("botkit.strategy").setLevel(level)
