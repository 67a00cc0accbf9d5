"""What each ``botkit`` subcommand does (argument parsing lives in ``_main.py``)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import zlib
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

from .._build import PreparedRun, Task, build_run, recording_source, recording_sources, simulator_data, stop_after
from .._codec import to_json
from .._engine import Engine, RunSummary
from .._exceptions import BotkitError, ConfigError, JournalError, UsageError, leaf_errors
from .._gc import fewer_gc_passes
from .._strategy import Strategy
from ..protocol import FrameDecoder, parser_for
from ..sim import PAIR_SAMPLE_NAME, sample_path
from ..sources._recording import parse_capture_line, read_meta
from ._options import run_config, urls
from ._progress import progress_monitor

__all__ = ["backtest", "convert", "decode", "download", "exchange_sim", "record", "run", "soak"]


def backtest(args: argparse.Namespace) -> int:
    """``botkit backtest``: full-speed replay on event time."""
    prepared = build_run(run_config(args, "backtest"))
    if prepared.embedded:
        _say(args, f"botkit: no --data: backtesting {_which(prepared.embedded)}")
    monitors = [progress_monitor(prepared.engine.source)] if _interactive(args) else []
    with fewer_gc_passes():
        return _finish(prepared, args, monitors)[0]


def run(args: argparse.Namespace) -> int:
    """``botkit run``: the live path (embedded simulator, a URL, or the venue itself)."""
    if args.cpu is not None:
        _pin_to(args.cpu)
    prepared = build_run(run_config(args, "live"))
    if prepared.banner:
        print(prepared.banner, file=sys.stderr)  # what a live run trades where: said even with -q
    if prepared.dashboard:
        print(prepared.dashboard, file=sys.stderr, flush=True)  # the URL to open: said even with -q
    if prepared.embedded:
        sims = "one embedded exchange simulator per venue" if len(prepared.services) > 1 else \
            "the embedded exchange simulator"
        _say(args, f"botkit: running on {_which(prepared.embedded)} through {sims} ({prepared.embedded}, "
                   "no network needed)")
        if not args.speed:
            _say(args, "botkit: the data is sent as fast as the simulator can send it, while timers, order "
                       "latency and the order-rate limit run on wall time: results differ from `botkit backtest` "
                       "on the same file; --speed 1 replays at the recorded pace")
    with fewer_gc_passes():  # as a replay: millions of short-lived events, few cycles; orders wait less
        code, summary = _finish(prepared, args)
    if prepared.embedded and code == 0 and summary.stopped_by == "end of data":
        what = "sample recording" if args.data is None else "recording"
        _say(args, f"botkit: the {what} ended after {summary.events} events (the simulator closed the feed)")
    return code


def download(args: argparse.Namespace) -> int:
    """``botkit download``: Binance's archives into a local cache, verified."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..history import BASE_URL, Download, archive_dates
    from ..history import download as fetch
    from ..history._download import check_request

    check_request(args.venue, args.kind)
    if args.base_url and not args.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"--base-url {args.base_url!r}: expected an http:// or https:// URL")
    request = Download(args.venue, args.symbol.upper().replace("-", ""), args.kind,
                       archive_dates(args.start, args.end or args.start))
    show = _interactive(args)
    progress = Progress(TextColumn(f"{request.symbol} {request.kind}"), BarColumn(), MofNCompleteColumn(),
                        console=Console(stderr=True), disable=not show, transient=True)
    with progress:
        task = progress.add_task("files", total=len(request.dates))
        result = anyio.run(lambda: fetch(request, args.dir, base_url=args.base_url or BASE_URL,
                                         on_progress=lambda done, _: progress.update(task, completed=done)))
    for path in result.missing:
        print(f"botkit: {path}: the venue has no such archive (not published, or no trading that day)",
              file=sys.stderr)
    if args.json:
        print(json.dumps({"dir": str(args.dir), "fetched": len(result.fetched), "cached": len(result.cached),
                          "missing": result.missing, "bytes": result.bytes,
                          "files": [str(p) for p in sorted(result.fetched + result.cached)]}))
    _say(args, f"botkit: {len(result.fetched)} archives fetched ({result.bytes:,} bytes), {len(result.cached)} "
               f"already in {args.dir}, {len(result.missing)} missing; replay them with "
               f"botkit backtest STRATEGY --data {args.dir}")
    return 0


def convert(args: argparse.Namespace) -> int:
    """``botkit convert``: a recording's or archives' events to a ``.parquet`` directory."""
    from ..sources import ReplaySource
    from ..sources._archive import archive_sources, is_archive_path
    from ..sources._parquet import ParquetWriter

    if not args.out.rstrip("/").endswith(".parquet"):
        raise ConfigError(f"--to {args.out}: name the output NAME.parquet (a directory of event tables)")
    if is_archive_path(args.input):
        source: Any = archive_sources([args.input], venue=args.venue, skip_bad_rows=args.skip_bad_rows)
    else:
        if not Path(args.input).is_file():
            raise ConfigError(f"input not found: {args.input}")
        source = ReplaySource(args.input, venue=args.venue)
    writer = ParquetWriter(args.out)

    async def publish(events: list[Any]) -> None:
        writer.write(events)

    try:
        anyio.run(source.stream, publish, backend="trio")
    finally:
        writer.close()
    written = ", ".join(f"{count:,} {name}" for name, count in writer.counts.items()) or "no events"
    extra = f" ({writer.skipped:,} gap and status events not written)" if writer.skipped else ""
    print(f"botkit: wrote {written} to {args.out}{extra}", file=sys.stderr)
    return 0


def _which(path: str) -> str:
    """How a run names its recording: the shipped samples by what they are."""
    if Path(path) == sample_path():
        return "the shipped sample recording"
    if Path(path) == sample_path(PAIR_SAMPLE_NAME):
        return "the shipped two-venue sample recording"
    return path


def _pin_to(cpus: str) -> None:
    """Pin this process to ``cpus`` (``"1"``, ``"0,2"``), or raise a one-line ConfigError."""
    if not hasattr(os, "sched_setaffinity"):
        raise ConfigError("--cpu: this platform cannot pin a process to CPUs (Linux can)")
    try:
        wanted = {int(c) for c in cpus.split(",") if c.strip()}
    except ValueError:
        raise ConfigError(f"--cpu takes CPU numbers like 1 or 0,2, got {cpus!r}") from None
    offered = os.sched_getaffinity(0)
    if not wanted or not wanted <= offered:
        raise ConfigError(f"--cpu {cpus}: this process may run on CPUs {','.join(map(str, sorted(offered)))} only")
    os.sched_setaffinity(0, wanted)


def record(args: argparse.Namespace) -> int:
    """``botkit record``: raw frames of live feeds (one venue, or several into one file)."""
    venues, (url, named) = args.venue or [], urls(args.url or [])
    if not (url or venues):
        raise UsageError("record needs --venue NAME (its public feed) or --url URL (with --venue for its protocol)")
    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"--duration must be > 0, got {args.duration}")
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    symbols = [s.strip().upper() for s in (args.symbols or "").split(",") if s.strip()]
    if len(venues) > 1:
        if url:
            raise ConfigError("several venues: give their feeds as --url VENUE=URL (default: each venue's own)")
        extra = sorted(set(named) - set(venues))
        if extra:
            raise ConfigError(f"--url {extra[0]}=...: {extra[0]} is not one of the --venue names")
        recorder, source = recording_sources(venues, named, symbols, channels, args.out)
    else:
        if named:
            raise ConfigError("--url VENUE=URL is for several venues; with one, pass --url URL")
        recorder, source = recording_source(venues[0] if venues else "binance", url, symbols, channels, args.out)
    engine = Engine(_RecordOnly(), source, handle_signals=True)
    monitors = [recorder.run] + ([stop_after(engine, args.duration)] if args.duration else [])
    code, _ = _finish(PreparedRun(engine, "trio", monitors=tuple(monitors)), args)
    # The result, like the summary: said even with -q.
    print(f"botkit: recorded {recorder.frames} frames to {args.out}", file=sys.stderr)
    return code


def decode(args: argparse.Namespace) -> int:
    """``botkit decode``: frames (raw or recorded) to JSON events on stdout."""
    decoder = FrameDecoder(parser_for(args.venue or "binance"), sync_books=False)
    kinds: Counter[str] = Counter()
    metadata = 0
    try:
        fh = _open_text_or_gzip(args.file)
    except OSError as exc:
        raise BotkitError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    events = 0
    out = sys.stdout
    try:
        with fh:
            for line in fh:
                line = line.rstrip(b"\r\n")
                if not line or line.startswith(b"#"):
                    continue
                if line.startswith((b"wss://", b"ws://", b"https://", b"http://")):
                    metadata += 1  # a capture's connection / sent-message / REST line
                    continue
                ts, frame = parse_capture_line(line)
                for event in decoder.decode(frame, ts):
                    out.write(to_json(event) + "\n")
                    kinds[type(event).__name__] += 1
                    events += 1
    except (OSError, EOFError, zlib.error) as exc:
        raise BotkitError(f"cannot read {args.file} after {decoder.frames} frames: {exc}") from None
    by_type = ", ".join(f"{name} {count}" for name, count in sorted(kinds.items()))
    print(f"decoded {events} events ({by_type or 'none'}) from {decoder.frames} frames, "
          f"{decoder.parse_errors} parse errors, {decoder.ignored} non-data frames, {metadata} capture metadata lines",
          file=sys.stderr)
    return 0


def exchange_sim(args: argparse.Namespace) -> int:
    """``botkit exchange-sim``: serve a recording on loopback until Ctrl-C (or its end);
    a recording of several venues, one simulator per venue (each its own port)."""
    from ..sim import ExchangeSimulator, market_frames, recording_venues, venue_simulators

    if not args.speed >= 0:
        raise ConfigError(f"--speed must be >= 0, got {args.speed}")
    if not 0 <= args.port <= 65_535:
        raise ConfigError(f"--port must be 0 to 65535, got {args.port}")
    if args.batch_bytes < 0:
        raise ConfigError(f"--batch-bytes must be >= 0, got {args.batch_bytes}")
    if args.market and args.data:
        raise ConfigError("--market and --data both choose what the simulator serves: give one")
    meta = read_meta(args.data) if args.data and Path(args.data).is_file() else {}
    several = "venues" in meta
    venues = [args.venue] if args.venue else recording_venues(meta) if several else []
    faults = _venue_faults(args.fault, venues if several else [args.venue or "binance"])
    options = dict(speed=args.speed, end_when_done=not args.loop, batch_bytes=args.batch_bytes)
    if several:
        if args.trading:
            raise ConfigError("--trading serves one venue (Binance spot): serve a one-venue recording")
        if args.port and len(venues) > 1:
            raise ConfigError(f"--port: {args.data} holds {', '.join(venues)}, one port each: leave --port out "
                              "(each picks a free one) or serve one with --venue")
        data: Any = args.data
        sims = venue_simulators(args.data, venues, meta, faults=faults, port=args.port, **options)
    else:
        data = market_frames() if args.market else simulator_data(args.data)
        trading = _trading_venue(args) if args.trading else None
        venue = args.venue or "binance"
        sims = {venue: ExchangeSimulator(data, faults=faults.get(venue, []), port=args.port, venue=venue,
                                         trading=trading, **options)}

    async def main() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with anyio.create_task_group() as nursery:

                async def stop_on_signal() -> None:
                    async for signum in signals:
                        _say(args, f"botkit: {signal.Signals(signum).name}: stopping the simulator")
                        nursery.cancel_scope.cancel()

                nursery.start_soon(stop_on_signal)
                served = {venue: await nursery.start(sim.serve) for venue, sim in sims.items()}
                for venue, url in served.items():
                    print(f"{venue}={url}" if several else url, flush=True)
                    _say(args, f"botkit: serving {venue} of {data} on {url} (REST depth: "
                               f"http{url[2:].rsplit('/', 1)[0]}/api/v3/depth)")
                    if sims[venue].trading is not None:
                        _say(args, f"botkit: trading on {url.rsplit('/', 1)[0]}/ws-api/v3 (botkit run --live --url "
                                   f"{url} --api-url {url.rsplit('/', 1)[0]}/ws-api/v3)")
                if several:
                    flags = " ".join(f"--url {v}={u}" for v, u in served.items())
                    _say(args, f"botkit: point a strategy on them at: botkit run STRATEGY {flags}")

    try:
        anyio.run(main, backend="trio")
    except OSError as exc:
        raise ConfigError(f"cannot listen on port {args.port}: {exc.strerror or exc}") from None
    except BaseExceptionGroup as group:  # the data went bad while serving: its one line
        raise next((e for e in leaf_errors(group) if isinstance(e, BotkitError)), group) from None
    for venue, sim in sims.items():
        _say(args, f"botkit: simulator{f' of {venue}' if several else ''} sent {sim.stats.frames_sent} frames "
                   f"({sim.stats.trades_sent} trades), faults {sim.stats.faults}")
    return 0


def _venue_faults(texts: list[str], venues: list[str]) -> dict[str, list[Any]]:
    """``--fault [VENUE:]KIND@N``: venue -> its faults (no venue: every venue's)."""
    from ..sim import parse_fault

    faults: dict[str, list[Any]] = {venue: [] for venue in venues}
    for text in texts:
        venue, colon, fault = text.rpartition(":")
        if colon and venue not in faults:
            raise ConfigError(f"--fault {text!r}: {venue!r} is not a venue served here ({', '.join(venues)})")
        parsed = parse_fault(fault)
        for name in [venue] if colon else venues:
            faults[name].append(parsed)
    return faults


def _trading_venue(args: argparse.Namespace) -> Any:
    """The simulator's trading side for ``--trading``: the environment's key, ``--balance``."""
    import os

    from ..live._keys import load_credentials
    from ..sim._trading import SimAccount, TradingVenue

    if args.venue not in (None, "binance"):
        raise ConfigError("--trading serves Binance's spot WebSocket API: use it with --venue binance")
    balances: dict[str, Decimal] = {}
    for item in args.balance or ["USDT=10000"]:
        asset, eq, amount = item.partition("=")
        try:
            value = Decimal(amount)
        except ArithmeticError:
            value = Decimal(-1)
        if not eq or not asset or not value.is_finite() or value < 0:
            raise ConfigError(f"--balance {item!r}: expected ASSET=AMOUNT with an amount >= 0, e.g. USDT=10000")
        balances[asset.upper()] = value
    recurring = []
    for item in args.execution_fault:
        kind, at, every = item.partition("@")
        if not at or not every.isdigit() or int(every) < 1:
            raise ConfigError(f"--execution-fault {item!r}: expected KIND@N, e.g. lost_response@10")
        recurring.append((kind, int(every)))
    if args.orders_per_10s < 1:
        raise ConfigError(f"--orders-per-10s must be >= 1, got {args.orders_per_10s}")
    account = SimAccount.from_credentials(load_credentials(os.environ), balances)
    try:
        return TradingVenue([account], recurring=recurring, orders_per_10s=args.orders_per_10s)
    except ValueError as exc:
        raise ConfigError(f"--execution-fault: {exc}") from None


def soak(args: argparse.Namespace) -> int:
    """``botkit soak``: the lossless guarantee under N faults."""
    from ._soak import format_report, run_soak, verdict

    if args.kills is not None:
        if args.faults is not None or args.orders is not None:
            raise ConfigError("--kills runs on its own: not with --faults or --orders")
        return _kill_soak(args)
    if args.faults is None:
        raise ConfigError("botkit soak needs --faults N (the feed), --orders N --faults K (trading) or --kills N")
    args.speed = 40.0 if args.speed is None else args.speed
    if args.orders is not None:
        return _trade_soak(args)
    if args.faults < 1 or args.every < 50 or args.speed <= 0:
        raise ConfigError("--faults must be >= 1, --every >= 50 and --speed > 0")
    report = anyio.run(lambda: run_soak(args.faults, seed=args.seed, every=args.every, speed=args.speed),
                       backend="trio")
    print(format_report(report), flush=True)
    failures = verdict(report)
    if failures:
        print(f"botkit: soak FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    _say(args, "botkit: soak passed: every trade delivered once, in order; books equal; limits kept")
    return 0


def _trade_soak(args: argparse.Namespace) -> int:
    from ._soak import format_report
    from ._trade_soak import MISMATCH_KEYS, run_trade_soak

    if args.orders < 1 or args.faults < 0 or args.speed <= 0:
        raise ConfigError("--orders must be >= 1, --faults >= 0 and --speed > 0")
    report = anyio.run(lambda: run_trade_soak(args.orders, args.faults, seed=args.seed, speed=args.speed),
                       backend="trio")
    print(format_report(report), flush=True)
    failures = [key for key in MISMATCH_KEYS if report[key]]
    if report["execution_faults_injected"] < report["execution_faults_planned"]:
        failures.append("execution_faults_injected (fewer than planned)")
    if failures:
        print(f"botkit: soak FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    _say(args, "botkit: soak passed: no order twice, no orphan, every fill once, position and balances equal "
               "to the venue's")
    return 0


def _kill_soak(args: argparse.Namespace) -> int:
    from ._kill_soak import KILL_KEYS, run_kill_soak
    from ._soak import format_report

    if args.kills < 1 or (args.speed is not None and args.speed <= 0):
        raise ConfigError("--kills must be >= 1 and --speed > 0")
    speed = 10.0 if args.speed is None else args.speed
    report = anyio.run(lambda: run_kill_soak(args.kills, seed=args.seed, speed=speed), backend="trio")
    errors = report.pop("first_errors")
    print(format_report(report), flush=True)
    failures = [key for key in KILL_KEYS if report[key]]
    if failures:
        for line in errors:
            print(f"botkit: {line}", file=sys.stderr)
        print(f"botkit: soak FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    _say(args, f"botkit: soak passed: {args.kills} kills, no order twice, no orphan, every fill journaled once, "
               "position and balances equal to the venue's, the strategy state restored each time")
    return 0


# -- helpers ------------------------------------------------------------------------------


class _RecordOnly(Strategy):
    """The strategy of ``botkit record``: subscribes to nothing, so no events are built
    for it beyond feed status."""

    channels = ()


def _finish(
    prepared: PreparedRun, args: argparse.Namespace, monitors: Sequence[Task] = ()
) -> tuple[int, RunSummary]:
    """Run, then print the summary (and write the report): exit code and summary."""
    engine = prepared.engine
    error: BotkitError | None = None
    try:
        summary = anyio.run(lambda: prepared.run(monitors=monitors), backend=prepared.backend)
    except BotkitError as exc:
        if isinstance(exc, JournalError) and engine.journal is not None and not engine.journal.run:
            raise  # refused before the run began: the one line says it all
        error = exc
        summary = engine.partial_summary(str(exc))
    report = getattr(args, "report", None)
    if report:
        from ._report_files import write_report

        router = engine.router
        title = f"{type(engine.strategy).__name__} on {engine.source.describe()}"
        paths = write_report(report, summary, router.equity_curve, router.prices, router.fills, title)
        # A result, like the summary: said even with -q.
        print(f"botkit: report written: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.to_dict(), separators=(",", ":")))
    else:
        from ._summary import print_summary

        print_summary(summary)
    if error is not None:
        print(f"botkit: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ConfigError) else 1, summary
    return 0, summary


def _say(args: argparse.Namespace, line: str) -> None:
    """An informational line on stderr (not with -q: only warnings and errors)."""
    if not args.quiet:
        print(line, file=sys.stderr)


def _interactive(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() and not args.json and not args.quiet


def _open_text_or_gzip(path: str) -> Any:
    import gzip

    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")
