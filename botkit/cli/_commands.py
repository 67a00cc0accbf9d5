"""What each ``botkit`` subcommand does (argument parsing lives in ``_cli.py``)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

import attrs

from .._codec import to_json
from .._config import Config, load_config
from .._engine import Engine, RunSummary
from .._exceptions import BotkitError, ConfigError, UsageError
from ._loader import load_strategy
from ._progress import progress_monitor
from .._runner import subscription_types
from ..sim._sample import sample_path
from .._strategy import CHANNELS, Strategy
from .._symbols import split_symbol
from ..protocol import FrameDecoder, parser_for, venue_for
from ..sources import EventSource, FrameRecorder, ReplaySource

__all__ = ["backtest", "decode", "exchange_sim", "record", "run", "soak"]


def backtest(args: argparse.Namespace) -> int:
    """``botkit backtest``: full-speed replay on event time."""
    options = _engine_options(args)
    _require_file(args.data, "data file")
    strategy = load_strategy(args.strategy_file, args.strategy)()
    _default_quote(options, strategy, args)
    source = ReplaySource(args.data, venue=args.venue)
    engine = Engine(strategy, source, handle_signals=True, **options)
    monitors = [progress_monitor(source)] if _interactive(args) else []
    with _fewer_gc_passes():
        return _finish(engine, lambda: engine.run(monitors=monitors), args, backend=args.backend)[0]


@contextlib.contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """A replay creates millions of short-lived events and almost no reference cycles:
    collect the youngest generation every 50,000 allocations instead of 700 (about 6 %
    faster, measured), after moving everything loaded so far out of the collector's way."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def run(args: argparse.Namespace) -> int:
    """``botkit run``: the live path (embedded simulator, a URL, or the venue itself)."""
    from ..sources._websocket import WebSocketSource

    options = _engine_options(args)
    strategy = load_strategy(args.strategy_file, args.strategy)()
    venue = args.venue or strategy.venue or "binance"
    venue_for(venue)  # validate before connecting
    strategy.venue = venue  # orders and fills are labelled with the venue actually traded
    _default_quote(options, strategy, args)
    services: list[Callable[..., Awaitable[None]]] = []
    embedded = args.url is None and args.venue is None
    if args.url or args.venue:
        source = _live_source(venue, args.url, lambda: _symbols(args.symbols, strategy), _channels(strategy))
    else:
        data = _data_or_sample(args.data)
        source = WebSocketSource(venue=venue, end_on_normal_close=True)
        services.append(_simulator_service(data, args.speed, source))
    engine = Engine(strategy, source, handle_signals=True, **options)
    monitors = [_stop_after(engine, args.duration)] if args.duration else []
    code, summary = _finish(engine, lambda: engine.run(monitors=monitors, services=services), args, backend="trio")
    if embedded and code == 0 and summary.stopped_by == "end of data":
        what = "sample recording" if args.data is None else "recording"
        print(f"botkit: the {what} ended after {summary.events} events (the simulator closed the feed)",
              file=sys.stderr)
    return code


def record(args: argparse.Namespace) -> int:
    """``botkit record``: raw frames of a live feed into a recording."""
    if not (args.url or args.venue):
        raise UsageError("record needs --venue NAME (its public feed) or --url URL (with --venue for its protocol)")
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    source = _live_source(args.venue or "binance", args.url, lambda: _symbols(args.symbols, None), channels)
    recorder = FrameRecorder(args.out, source.recording_meta())
    source.on_frame = recorder.add
    engine = Engine(_RecordOnly(), source, handle_signals=True)
    monitors = [recorder.run] + ([_stop_after(engine, args.duration)] if args.duration else [])
    code, _ = _finish(engine, lambda: engine.run(monitors=monitors), args, backend="trio")
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
                ts, frame = _split_frame(line)
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
    """``botkit exchange-sim``: serve a recording on loopback until Ctrl-C (or its end)."""
    import trio

    from ..sim import ExchangeSimulator, parse_fault

    faults = [parse_fault(text) for text in args.fault]
    if args.speed < 0:
        raise ConfigError(f"--speed must be >= 0, got {args.speed}")
    if args.batch_bytes < 0:
        raise ConfigError(f"--batch-bytes must be >= 0, got {args.batch_bytes}")
    data = _data_or_sample(args.data)
    sim = ExchangeSimulator(data, speed=args.speed, faults=faults, port=args.port, end_when_done=not args.loop,
                         venue=args.venue or "binance", batch_bytes=args.batch_bytes)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(sim.serve)
            print(url, flush=True)
            print(f"botkit: serving {data} on {url} (REST depth: http{url[2:].rsplit('/', 1)[0]}/api/v3/depth)",
                  file=sys.stderr)

    try:
        trio.run(main)
    except OSError as exc:
        raise ConfigError(f"cannot listen on port {args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    print(f"botkit: simulator sent {sim.stats.frames_sent} frames ({sim.stats.trades_sent} trades), "
          f"faults {sim.stats.faults}", file=sys.stderr)
    return 0


def soak(args: argparse.Namespace) -> int:
    """``botkit soak``: the lossless guarantee under N faults."""
    import trio

    from ._soak import format_report, run_soak, verdict

    if args.faults < 1 or args.every < 50 or args.speed <= 0:
        raise ConfigError("--faults must be >= 1, --every >= 50 and --speed > 0")
    report = trio.run(lambda: run_soak(args.faults, seed=args.seed, every=args.every, speed=args.speed))
    print(format_report(report), flush=True)
    failures = verdict(report)
    if failures:
        print(f"botkit: soak FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    print("botkit: soak passed: every trade delivered once, in order; books equal; limits kept", file=sys.stderr)
    return 0


# -- helpers ------------------------------------------------------------------------------


class _RecordOnly(Strategy):
    """The strategy of ``botkit record``: subscribes to nothing, so no events are built
    for it beyond feed status."""

    channels = ()


def _finish(
    engine: Engine, go: Callable[[], Awaitable[RunSummary]], args: argparse.Namespace, *, backend: str
) -> tuple[int, RunSummary]:
    error: BotkitError | None = None
    report = getattr(args, "report", None)
    engine.router.record_prices = bool(report)
    try:
        summary = anyio.run(go, backend=backend)
    except BotkitError as exc:
        error = exc
        summary = engine.partial_summary(str(exc))
    if report:
        from ._report_files import write_report

        router = engine.router
        title = f"{type(engine.strategy).__name__} on {engine.source.describe()}"
        paths = write_report(report, summary, router.equity_curve, router.prices, router.fills, title)
        print(f"botkit: report written: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.to_dict(), separators=(",", ":")))
    else:
        from ._summary import print_summary

        print_summary(summary)
    if error is not None:
        print(f"botkit: error: {error}", file=sys.stderr)
        return 1, summary
    return 0, summary


def _simulator_service(data: str, speed: float, source: EventSource) -> Callable[..., Awaitable[None]]:
    from ..sim import ExchangeSimulator

    async def service(*, task_status: Any) -> None:
        sim = ExchangeSimulator(data, speed=speed)
        what = "the shipped sample recording" if Path(data) == sample_path() else data
        print(f"botkit: running on {what} through the embedded exchange simulator ({data}, no network needed)",
              file=sys.stderr)
        import trio

        async with trio.open_nursery() as nursery:
            source.url = await nursery.start(sim.serve)  # type: ignore[attr-defined]
            task_status.started()

    return service


def _stop_after(engine: Engine, seconds: float) -> Callable[[], Awaitable[None]]:
    if seconds <= 0:
        raise ConfigError(f"--duration must be > 0, got {seconds}")

    async def stopper() -> None:
        await anyio.sleep(seconds)
        engine.stop(f"duration {seconds:g} s reached")

    return stopper


def _live_source(venue: str, url: str | None, symbols: Callable[[], list[str]], channels: list[str]) -> Any:
    """The live source for ``venue``: its public endpoint, or ``url`` (a simulator, a
    testnet). Binance names its streams in the URL, so a given Binance URL is used as it is;
    venues that subscribe by message get their subscriptions for ``symbols`` x ``channels``."""
    from ..sources._websocket import WebSocketSource

    if url and not venue_for(venue).subscribes_by_message:
        return WebSocketSource(url, venue=venue)
    return WebSocketSource.for_venue(venue, symbols(), channels, url=url)


def _symbols(text: str | None, strategy: Strategy | None) -> list[str]:
    if text:
        return [s.strip().upper() for s in text.split(",") if s.strip()]
    if strategy is not None and strategy.symbols:
        return list(strategy.symbols)
    raise ConfigError("no symbols: pass --symbols BTCUSDT,... (or declare `symbols` on the strategy)")


def _channels(strategy: Strategy) -> list[str]:
    wanted = subscription_types(strategy)
    return [name for name, (types, _) in CHANNELS.items() if set(types) & wanted] or ["trades"]


def _data_or_sample(data: str | None) -> str:
    if data is None:
        sample = sample_path()
        if sample is None:
            raise ConfigError("the shipped sample recording is missing; pass --data FILE")
        return str(sample)
    _require_file(data, "data file")
    return data


def _require_file(path: str, what: str) -> None:
    if not Path(path).is_file():
        raise ConfigError(f"{what} not found: {path}")


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """Engine keyword arguments from ``--config`` and the flags that override it."""
    if args.max_errors < 0:
        raise ConfigError(f"--max-errors must be >= 0, got {args.max_errors}")
    config = load_config(args.config) if args.config else Config()
    options = config.engine_options()
    paper = options["paper"]
    changes: dict[str, Any] = {}
    if args.latency_ms is not None:
        if args.latency_ms < 0:
            raise ConfigError(f"--latency-ms must be >= 0, got {args.latency_ms}")
        changes["latency_ms"] = args.latency_ms
    if args.fee_bps is not None:
        changes["maker_fee_bps"] = changes["taker_fee_bps"] = _flag_decimal("--fee-bps", args.fee_bps)
    if args.slippage_bps is not None:
        changes["slippage_bps"] = _flag_decimal("--slippage-bps", args.slippage_bps)
    options["paper"] = attrs.evolve(paper, **changes)
    for item in args.cash:
        asset, eq, amount = item.partition("=")
        if not eq or not asset:
            raise ConfigError(f"--cash {item!r}: expected ASSET=AMOUNT, e.g. USDT=10000")
        options["starting_cash"][asset.upper()] = _flag_decimal("--cash", amount)
    options["max_strategy_errors"] = args.max_errors
    return options


def _default_quote(options: dict[str, Any], strategy: Strategy, args: argparse.Namespace) -> None:
    """Without a config file or ``--cash``, account in the strategy's quote asset when all
    its symbols share one (``BTC-USD`` on Coinbase: USD cash, not USDT)."""
    if args.config or args.cash:
        return
    quotes = {split_symbol(symbol)[1] for symbol in strategy.symbols}
    if len(quotes) != 1 or quotes & {"QUOTE", options["quote_asset"]}:
        return
    quote = quotes.pop()
    cash = options["starting_cash"].pop(options["quote_asset"], Decimal(10_000))
    options["quote_asset"] = quote
    options["starting_cash"][quote] = cash


def _flag_decimal(flag: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ConfigError(f"{flag} {text!r}: not a number") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{flag} {text!r}: must be a number >= 0")
    return value


def _interactive(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() and not args.json and not args.quiet


def _open_text_or_gzip(path: str) -> Any:
    import gzip

    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")  # noqa: SIM115


def _split_frame(line: bytes) -> tuple[int, bytes]:
    """A recording line ``<ns> <frame>``, a cryptofeed capture line ``<secs>: <frame>``,
    or a bare frame (receive time 0)."""
    head, sep, rest = line.partition(b" ")
    if sep and head.isdigit():
        return int(head), rest
    if sep and head.endswith(b":"):
        try:
            return int(float(head[:-1]) * 1e9), rest
        except ValueError:
            pass
    return 0, line
