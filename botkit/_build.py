"""Turn a :class:`~botkit.RunConfig` into an engine ready to run, in one step."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import attrs

from ._clock import Clock, LiveClock
from ._engine import Engine, RunSummary
from ._exceptions import ConfigError, DataError, UsageError
from ._loader import load_strategy
from ._params import with_params
from ._redact import redact_url
from ._runconfig import RunConfig
from ._runner import subscription_types
from ._strategy import CHANNELS, Feed, Strategy, strategy_feeds
from ._symbols import normalise_symbol, split_symbol
from .execution._broker import Broker
from .protocol import venue_for
from .protocol._ratelimit import shared_limiter
from .protocol._venue import check_channels
from .sources import EventSource, FrameRecorder, MergedSource, ReplaySource
from .sources._archive import archive_sources, is_archive_path
from .sources._parquet import ParquetSource, is_parquet_path
from .sources._recording import read_meta
from .sources._venue_lines import venue_frame
from .sources._window import WindowSource

__all__ = [
    "PreparedRun", "Task", "build_run", "default_journal", "live_source", "recording_source", "recording_sources",
    "simulator_data", "stop_after",
]

Task = Callable[..., Coroutine[Any, Any, None]]
_DEFAULT_CASH = Decimal(10_000)
_EMPTY = "holds no frames (an empty recording): nothing to replay"


@attrs.frozen
class PreparedRun:
    """An engine with the tasks its run needs, built by :func:`build_run`.

    :ivar engine: the engine (its strategy, source, broker, router).
    :ivar backend: the anyio backend the run needs.
    :ivar embedded: the recording the embedded simulator serves ("" when none).
    """

    engine: Engine
    backend: str
    embedded: str = ""
    services: tuple[Task, ...] = ()
    monitors: tuple[Task, ...] = ()
    #: Said at the start of the run (a live run names venue, endpoint and mode).
    banner: str = ""
    #: The dashboard's start line, with the URL to open ("" when there is none).
    dashboard: str = ""
    #: The dashboard's task, run as one more service (None: no dashboard).
    dashboard_task: Task | None = None

    async def run(self, *, monitors: Sequence[Task] = ()) -> RunSummary:
        """Run the engine with its services and monitors (plus ``monitors``)."""
        board = () if self.dashboard_task is None else (self.dashboard_task,)
        return await self.engine.run(monitors=(*self.monitors, *monitors), services=(*self.services, *board))


def build_run(config: RunConfig) -> PreparedRun:
    """Load the strategy, build the source, broker and engine the config describes.

    :raises ConfigError: a bad value, a missing file, an unknown venue (one line).
    """
    if config.max_strategy_errors < 0:
        raise ConfigError(f"max strategy errors must be >= 0, got {config.max_strategy_errors}")
    if not 0 < config.hook_timeout_s < float("inf"):
        raise ConfigError(f"--hook-timeout must be a number of seconds > 0, got {config.hook_timeout_s}")
    if config.duration_s is not None and not config.duration_s > 0:
        raise ConfigError(f"--duration must be > 0, got {config.duration_s}")
    if not config.speed >= 0:
        raise ConfigError(f"--speed must be >= 0, got {config.speed}")
    strategy = _instantiate(config.strategy_file,
                            with_params(load_strategy(config.strategy_file, config.strategy_class), config.params))
    if strategy.venue:
        try:
            venue_for(strategy.venue)
        except ConfigError as exc:
            raise ConfigError(f"{type(strategy).__name__}.venue: {exc}") from None
    for feed in strategy.feeds:
        if not isinstance(feed, Feed):
            raise ConfigError(f"{type(strategy).__name__}.feeds: each must be a botkit.Feed(venue, symbols), "
                              f"got {feed!r}")
        try:
            venue_for(feed.venue)
        except ConfigError as exc:
            raise ConfigError(f"{type(strategy).__name__}.feeds: {exc}") from None
    if config.mode == "backtest":
        data = config.data or (shipped_sample(strategy),)
        replays: list[EventSource] = []
        archives = [path for path in data if is_archive_path(path) and not is_parquet_path(path)]
        if archives:  # exchange archives (zipped CSV), as one source merged by time
            replays.append(archive_sources(archives, venue=config.venue, skip_bad_rows=config.skip_bad_rows))
        for path in data:
            if path in archives:
                continue
            if is_parquet_path(path):  # events that botkit convert wrote
                replays.append(ParquetSource(path))
                continue
            _require_file(path, "data file")
            if read_meta(path).get("empty"):  # and a file that is not a recording fails here
                raise DataError(path, 0, _EMPTY)
            replays.append(ReplaySource(path, venue=config.venue))
        source = replays[0] if len(replays) == 1 else MergedSource(replays)
        if config.window_ns != (None, None):
            source = WindowSource(source, *config.window_ns)
        if config.dashboard is not None:
            raise ConfigError("the dashboard is for botkit run (paper or live); a backtest writes its page with "
                              "--report DIR")
        engine = _engine(config, strategy, source, config.venue or strategy.venue, journal=_journal(config))
        return PreparedRun(engine, config.backend, "" if config.data else data[0])
    if config.dashboard is None:
        return _live(config, strategy)
    from .dashboard._settings import Listener

    listener = Listener.open(config.dashboard)  # a busy port or a missing token: said before anything starts
    prepared = _live(config, strategy)
    from .dashboard._server import Dashboard

    board = Dashboard(prepared.engine, listener, config.dashboard)
    return attrs.evolve(prepared, dashboard=listener.start_line(), dashboard_task=board.serve)


def shipped_sample(strategy: Strategy) -> str:
    """The shipped sample recording that fits ``strategy``: the two-venue one (Binance
    and OKX) for a strategy on several venues, Binance's for one on Binance.

    :raises ConfigError: no sample fits: the strategy needs ``--data``.
    """
    from .sim import PAIR_SAMPLE_NAME, PAIR_VENUES, sample_path

    venues = [feed.venue for feed in strategy_feeds(strategy)]
    several = len(venues) > 1
    if (several and not set(venues) <= set(PAIR_VENUES)) or (not several and venues != ["binance"]):
        raise ConfigError(f"{type(strategy).__name__} trades on {', '.join(venues)}: pass --data FILE (the shipped "
                          f"samples are of binance, and of {' and '.join(PAIR_VENUES)})")
    path = sample_path(PAIR_SAMPLE_NAME) if several else sample_path()
    if path is None:
        raise ConfigError("the shipped sample recording is missing; pass --data FILE")
    return str(path)


def default_journal(strategy_file: str, strategy: Strategy, venue: str, network: str) -> Path:
    """Where a live run journals when not told: ``journals/`` beside the strategy file,
    one file per strategy class, venue and network (``mainnet``, ``testnet``, ``custom``),
    so a restart finds it from any working directory."""
    path = Path(strategy_file).resolve()
    return path.parent / "journals" / f"{path.stem}-{type(strategy).__name__}-{venue}-{network}.journal"


def _journal(config: RunConfig, default: Path | None = None) -> Any:
    """The run's journal (opened and locked now), or None."""
    path = config.journal if config.journal is not None else default
    if not path:
        return None
    from .journal import Journal

    if default is not None and config.journal is None:
        try:
            default.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {default.parent} for the live run's journal: "
                              f"{exc.strerror or exc}; pass --journal FILE") from None
    return Journal(path, synchronous=config.journal_sync)


def _instantiate(path: str, cls: type[Strategy]) -> Strategy:
    """``cls()``, or one line saying why it cannot be made (the command line has no
    arguments to give it)."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        signature = None
    required = [p.name for p in signature.parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                ] if signature is not None else []
    if required:
        raise ConfigError(f"{path}: {cls.__name__}() needs arguments ({', '.join(required)}); botkit creates the "
                          "strategy without any: give them defaults, or make them class attributes")
    try:
        return cls()
    except Exception as exc:
        raise ConfigError(f"{path}: {cls.__name__}() raised {type(exc).__name__}: {exc}") from exc


def _live(config: RunConfig, strategy: Strategy) -> PreparedRun:
    from .sources._websocket import WebSocketSource

    feeds = strategy_feeds(strategy)
    if len(feeds) > 1:
        return _live_feeds(config, strategy, feeds)
    if config.feed_urls:
        raise ConfigError(f"--url VENUE=URL is for a strategy with several feeds; {type(strategy).__name__} has one: "
                          "pass --url URL")
    if config.live:
        return _live_trading(config, strategy)
    venue = config.venue or strategy.venue or "binance"
    venue_for(venue)  # validate before connecting
    services: list[Task] = []
    embedded = ""
    if config.url or config.venue:
        source: EventSource = live_source(venue, config.url, _symbols(config.symbols, strategy), _channels(strategy))
    else:
        from .sim import ExchangeSimulator

        if len(config.data) > 1:
            raise ConfigError("the embedded simulator serves one recording: pass --data once")
        embedded = simulator_data(config.data[0] if config.data else None)
        sim = ExchangeSimulator(embedded, speed=config.speed)
        source = WebSocketSource(sim.listen(), venue=venue, end_on_normal_close=True)
        services.append(sim.serve)
    engine = _engine(config, strategy, source, venue, journal=_journal(config))
    monitors = (stop_after(engine, config.duration_s),) if config.duration_s else ()
    return PreparedRun(engine, "trio", embedded, tuple(services), monitors)


def _live_feeds(config: RunConfig, strategy: Strategy, feeds: tuple[Feed, ...]) -> PreparedRun:
    """A strategy with several feeds, live: one source per venue (each its own
    connection, reconnect machine, sequencing and backfill), on paper."""
    name = type(strategy).__name__
    venues = [feed.venue for feed in feeds]
    watches = f"{name} watches {', '.join(venues)}"
    if config.url or config.venue:
        raise ConfigError(f"{watches}: give each its feed with --url VENUE=URL")
    unknown = sorted(set(config.feed_urls) - set(venues))
    if unknown:
        raise ConfigError(f"--url {unknown[0]}=...: {name} has no feed on {unknown[0]} ({watches})")
    if config.symbols:
        raise ConfigError(f"--symbols is for a strategy with one feed; {name} names each feed's symbols")
    if config.live:
        return _live_trading(config, strategy, feeds)
    if not config.feed_urls:
        return _embedded_venues(config, strategy, feeds)
    missing = [v for v in venues if v not in config.feed_urls]
    if missing:
        raise ConfigError(f"{watches}: give each its feed with --url VENUE=URL (missing: {', '.join(missing)}; "
                          "with none, an embedded simulator per venue serves the shipped sample or --data)")
    engine = _engine(config, strategy, _feed_sources(strategy, feeds, config.feed_urls), venues[0],
                     journal=_journal(config))
    monitors = (stop_after(engine, config.duration_s),) if config.duration_s else ()
    return PreparedRun(engine, "trio", monitors=monitors)


def _feed_sources(strategy: Strategy, feeds: tuple[Feed, ...], urls: dict[str, str],
                  **options: Any) -> MergedSource:
    """One live source per feed, at ``urls[venue]`` ("": the venue's own endpoint),
    merged in arrival order."""
    sources: list[EventSource] = []
    for feed in feeds:
        if not feed.symbols:
            raise ConfigError(f"{type(strategy).__name__}: Feed({feed.venue!r}) names no symbols")
        channels = list(feed.channels) or _channels(strategy)
        sources.append(live_source(feed.venue, urls[feed.venue] or None, _symbols(feed.symbols, None), channels,
                                   **options))
    return MergedSource(sources)


def _embedded_venues(config: RunConfig, strategy: Strategy, feeds: tuple[Feed, ...]) -> PreparedRun:
    """A strategy on several venues with no feed named: an embedded simulator per venue,
    serving its share of one multi-venue recording (``--data``, else the shipped
    two-venue sample) on a shared timeline."""
    from .sim import venue_simulators

    if len(config.data) > 1:
        raise ConfigError("the embedded simulators serve one recording (of several venues): pass --data once")
    data = config.data[0] if config.data else shipped_sample(strategy)
    _require_file(data, "data file")
    meta = read_meta(data)
    if meta.get("empty"):
        raise DataError(data, 0, _EMPTY)
    sims = venue_simulators(data, [feed.venue for feed in feeds], meta, speed=config.speed)
    urls = {venue: sim.listen() for venue, sim in sims.items()}
    source = _feed_sources(strategy, feeds, urls, end_on_normal_close=True)
    engine = _engine(config, strategy, source, feeds[0].venue, journal=_journal(config))
    monitors = (stop_after(engine, config.duration_s),) if config.duration_s else ()
    return PreparedRun(engine, "trio", data, tuple(sim.serve for sim in sims.values()), monitors)


#: Binance spot's test network: orders (WebSocket API), streams and REST.
TESTNET_STREAMS = "wss://stream.testnet.binance.vision"
TESTNET_REST = "https://testnet.binance.vision"


def _live_trading(config: RunConfig, strategy: Strategy, feeds: tuple[Feed, ...] = ()) -> PreparedRun:
    """Real orders: the venue's feed (or ``url``) and a live broker on its WebSocket API.
    A strategy with several ``feeds`` trades on its Binance one and watches the others
    (each at ``--url VENUE=URL``, else at the venue itself)."""
    from .live._broker import BinanceBroker
    from .live._keys import load_credentials
    from .protocol.binance._wsapi import MAINNET_URL, TESTNET_URL
    from .sources._websocket import WebSocketSource

    name = type(strategy).__name__
    venue = config.venue or strategy.venue
    traded = next((feed for feed in feeds if feed.venue == "binance"), None)
    if feeds:  # what _live_feeds checked of them holds
        if traded is None:
            raise ConfigError(f"--live trades Binance spot; {name} watches {', '.join(f.venue for f in feeds)}, "
                              "none of them binance: run it on paper")
        venue = "binance"
    if not venue:
        raise ConfigError(f"--live places real orders only where the strategy says: set venue = 'binance' on {name}")
    if venue != "binance":
        raise ConfigError(f"--live trades Binance spot (venue 'binance'); {name} trades {venue!r}")
    wanted = tuple(traded.symbols) if traded is not None else tuple(strategy.symbols)
    if not wanted:
        raise ConfigError(f"--live needs the symbols the strategy trades: set symbols = (...) on {name}")
    credentials = load_credentials(os.environ, config.keys)
    api_url = config.api_url or (TESTNET_URL if config.testnet else MAINNET_URL)
    check_ws_url(api_url)
    symbols = [normalise_symbol(s) for s in wanted]
    channels = list(traded.channels) if traded is not None and traded.channels else _channels(strategy)
    url = config.feed_urls.get("binance") if feeds else config.url
    if url:
        source: Any = live_source(venue, url, _symbols(config.symbols or wanted, strategy), channels)
    elif config.testnet:
        source = WebSocketSource.for_venue(venue, list(wanted), channels, url=TESTNET_STREAMS, rest_url=TESTNET_REST)
    else:
        source = WebSocketSource.for_venue(venue, list(wanted), channels)
    clock = LiveClock()
    limiter = source.limiter or shared_limiter(urlsplit(source._rest_base()).netloc)
    broker = BinanceBroker(credentials, api_url, symbols, clock, limiter=limiter,
                           recv_window_ms=config.recv_window_ms, cancel_timeout_s=config.cancel_timeout_s)
    if feeds:  # the watched venues, beside the traded one
        watched = tuple(feed for feed in feeds if feed is not traded)
        others = _feed_sources(strategy, watched, {f.venue: config.feed_urls.get(f.venue, "") for f in watched})
        source = MergedSource([source, *others.sources])
    network = "custom" if config.api_url else "testnet" if config.testnet else "mainnet"
    journal = _journal(config, default_journal(config.strategy_file, strategy, venue, network))
    engine = _engine(config, strategy, source, venue, broker=broker, clock=clock, journal=journal)
    monitors = (stop_after(engine, config.duration_s),) if config.duration_s else ()
    endpoint = "testnet" if config.testnet and not config.api_url else ("custom endpoint" if config.api_url
                                                                         else "MAINNET, real money")
    where = "no journal" if journal is None else (
        f"journal {journal.path}" + (" (the default: --journal FILE to choose)" if config.journal is None else ""))
    banner = (f"botkit: LIVE trading {', '.join(symbols)} on binance spot via {redact_url(api_url)} ({endpoint}; "
              f"{credentials.kind} key from {credentials.source}; {where})")
    return PreparedRun(engine, "trio", monitors=monitors, banner=banner)


def _engine(config: RunConfig, strategy: Strategy, source: EventSource, venue: str, *,
            broker: Broker | None = None, clock: Clock | None = None, journal: Any = None) -> Engine:
    if len(strategy_feeds(strategy)) > 1:  # each venue's account in its own quote asset
        quote, cash = config.quote_asset or "USDT", config.starting_cash
    else:
        quote, cash = _account(config, strategy)
    try:
        return Engine(
            strategy, source, venue=venue, risk=config.risk, starting_cash=cash, accounts=config.accounts or None,
            instruments=config.instruments, quote_asset=quote,
            max_strategy_errors=config.max_strategy_errors, hook_timeout_s=config.hook_timeout_s,
            handle_signals=config.handle_signals, record_prices=config.record_prices,
            paper=config.paper if broker is None else None, broker=broker, clock=clock, journal=journal,
        )
    except UsageError as exc:  # what the engine refuses here came from the flags and the config file
        raise ConfigError(str(exc)) from None


def _account(config: RunConfig, strategy: Strategy) -> tuple[str, dict[str, Decimal]]:
    """Quote asset and starting cash. Unless both are given, account in the strategy's
    quote asset when all its symbols share one (``BTC-USD`` on Coinbase: USD, not USDT)."""
    quote = config.quote_asset
    if quote is None:
        quotes = {split_symbol(symbol)[1] for symbol in strategy.symbols}
        one = len(quotes) == 1 and "QUOTE" not in quotes and config.starting_cash is None
        quote = quotes.pop() if one else "USDT"
    cash = dict(config.starting_cash) if config.starting_cash is not None else {quote: _DEFAULT_CASH}
    negative = [f"{asset}={amount}" for asset, amount in cash.items() if amount < 0]
    if negative:
        raise ConfigError(f"starting cash must be >= 0, got {', '.join(negative)}")
    return quote, cash


def live_source(venue: str, url: str | None, symbols: Callable[[], list[str]], channels: list[str],
                **options: Any) -> Any:
    """The live source for ``venue``: its public endpoint, or ``url`` (a simulator, a
    testnet). Binance names its streams in the URL, so a given Binance URL is used as it is;
    venues that subscribe by message get their subscriptions for ``symbols`` x ``channels``."""
    from .sources._websocket import WebSocketSource

    check_channels(channels)
    if url is not None:
        check_ws_url(url)
    if url and not venue_for(venue).subscribes_by_message:
        return WebSocketSource(url, venue=venue, **options)
    return WebSocketSource.for_venue(venue, symbols(), channels, url=url, **options)


def check_ws_url(url: str) -> None:
    """A feed URL must be ``ws://`` or ``wss://`` with a host (and a valid port).

    :raises ConfigError: naming what is wrong, before any connection is tried.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"--url {shown}: not a valid URL ({exc})") from None
    if parts.scheme in ("http", "https"):
        raise ConfigError(f"--url {shown}: a feed is a WebSocket; use ws:// or wss:// (not {parts.scheme}://)")
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"--url {shown}: expected ws://HOST[:PORT]/PATH or wss://..., e.g. the URL "
                          "`botkit exchange-sim` prints")
    del port


def recording_source(venue: str, url: str | None, symbols: list[str], channels: list[str],
                     out: str | Path) -> tuple[FrameRecorder, Any]:
    """A live source whose every frame goes to a recording at ``out``, and its recorder
    (run ``recorder.run`` beside the source)."""
    source = live_source(venue, url, _symbols(tuple(symbols), None), channels)
    # The header describes the feed exactly as the source will open it.
    recorder = FrameRecorder(out, source.recording_meta())
    source.on_frame = recorder.add
    return recorder, source


def recording_sources(venues: list[str], urls: dict[str, str], symbols: list[str], channels: list[str],
                      out: str | Path) -> tuple[FrameRecorder, EventSource]:
    """Live sources of several venues recording into one file at ``out`` (each line
    naming its venue), merged, and their recorder."""
    wanted = _symbols(tuple(symbols), None)
    sources = [live_source(venue, urls.get(venue), wanted, channels) for venue in venues]
    recorder = FrameRecorder(out, {"venues": {s.venue: s.recording_meta() for s in sources}})
    for source in sources:
        tag = venue_frame(source.venue)
        source.on_frame = lambda ts, frame, tag=tag: recorder.add(ts, tag(frame))
    return recorder, MergedSource(sources)


def _symbols(given: tuple[str, ...], strategy: Strategy | None) -> Callable[[], list[str]]:
    def symbols() -> list[str]:
        if given:
            return [s.strip().upper() for s in given if s.strip()]
        if strategy is not None and strategy.symbols:
            return list(strategy.symbols)
        raise ConfigError("no symbols: pass --symbols BTCUSDT,... (or declare `symbols` on the strategy)")

    return symbols


def _channels(strategy: Strategy) -> list[str]:
    wanted = subscription_types(strategy)
    return [name for name, (types, _) in CHANNELS.items() if set(types) & wanted] or ["trades"]


def stop_after(engine: Engine, seconds: float) -> Task:
    """A monitor task that stops ``engine`` after ``seconds``."""

    async def stopper() -> None:
        await anyio.sleep(seconds)
        engine.stop(f"duration {seconds:g} s reached")

    return stopper


def _data_or_sample(data: str | None) -> str:
    from .sim import sample_path

    if data is None:
        sample = sample_path()
        if sample is None:
            raise ConfigError("the shipped sample recording is missing; pass --data FILE")
        return str(sample)
    _require_file(data, "data file")
    return data


def simulator_data(data: str | None) -> str:
    """The recording a simulator serves: ``data`` or the shipped sample, which must be a
    Binance recording (the simulator's market; it re-encodes it for other venues)."""
    path = _data_or_sample(data)
    meta = read_meta(path)
    if meta.get("empty"):
        raise DataError(path, 0, _EMPTY)
    recorded = meta.get("venue", "binance")
    if recorded != "binance":
        raise ConfigError(f"{path} is a {recorded} recording; the exchange simulator replays Binance recordings "
                          "(backtest it instead: botkit backtest STRATEGY --data FILE)")
    return path


def _require_file(path: str, what: str) -> None:
    if Path(path).is_dir():
        raise ConfigError(f"{what} is a directory: {path} (pass a recording file)")
    if not Path(path).is_file():
        raise ConfigError(f"{what} not found: {path}")
