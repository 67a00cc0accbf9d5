"""One run, described as data: what :func:`~botkit.build_run` turns into an engine.

The command line fills it from flags and the TOML file (flags win); a test, a notebook
or a sweep worker fills it in code. Every field has the default a bare ``botkit run`` or
``botkit backtest`` would use.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import attrs

from ._watchdog import HOOK_TIMEOUT_S
from .dashboard._settings import DashboardSettings
from .execution._accounts import AccountSettings
from .execution._instruments import Instrument
from .execution._paper import PaperConfig
from .execution._risk import RiskLimits
from .live._keys import KeySettings

__all__ = ["RunConfig"]

Mode = Literal["backtest", "live"]


def _tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


@attrs.frozen
class RunConfig:
    """Everything a run needs to know.

    Example::

        config = RunConfig("strategies/scalper.py", "backtest", data="rec.txt.gz")
        summary = anyio.run(build_run(config).run, backend="trio")

    :param strategy_file: Python file defining the strategy.
    :param mode: ``"backtest"`` (replay ``data`` on event time) or ``"live"`` (a live
        feed: ``url``, the ``venue`` itself, or with neither the embedded simulator
        serving ``data``, by default the shipped sample).
    :param strategy_class: the class to run when the file defines several.
    :param data: backtest: the recordings (one, or one per venue: merged by receive
        time), or Binance's data archives (zip files, a directory of them, a glob);
        live: the embedded simulator's recording. A single path is taken as one.
    :param venue: the venue's protocol (live: with no ``url``, connect to it); default
        the recording's header in a backtest, else the strategy's ``venue``.
    :param url: live: a ``ws://`` or ``wss://`` feed (a simulator, a testnet).
    :param feed_urls: live, for a strategy with several feeds: venue -> its feed URL.
    :param symbols: live, with ``venue``: symbols to subscribe (default the strategy's).
    :param duration_s: live: stop after this long.
    :param speed: embedded simulator pace (1 = recorded time, 0 = flat out).
    :param backend: anyio backend of a backtest (live runs need trio).
    :param max_strategy_errors: hook exceptions tolerated before the run fails.
    :param hook_timeout_s: an ``async`` hook awaiting longer is cancelled and the run fails.
    :param record_prices: keep the price series the report plots need.
    :param handle_signals: SIGINT/SIGTERM stop cleanly, SIGUSR1 trips the kill switch.
    :param starting_cash: cash per asset; ``None``: 10,000 of the quote asset.
    :param quote_asset: what equity is measured in; ``None``: the strategy's symbols'
        common quote asset (``BTC-USD`` -> USD), else USDT.
    :param live: place real orders on the venue (Binance spot), with the keys ``keys``
        points at; the feed is the venue's (or ``url``).
    :param testnet: with ``live``: Binance's spot test network (orders and feed).
    :param api_url: with ``live``: the WebSocket API endpoint (e.g. a simulator).
    :param recv_window_ms: how long a signed request stays valid at the venue.
    :param cancel_timeout_s: at the end, how long to wait for the venue to confirm cancels.
    :param journal: the journal file (restored from when it holds earlier runs); a live
        run without one uses :func:`~botkit._build.default_journal`; ``""``: none.
    :param accounts: a strategy trading several venues: venue -> its account's starting
        cash and paper settings (default: ``starting_cash``, else 10,000 of the venue's
        quote asset; ``paper``).
    :param skip_bad_rows: backtest on exchange archives: count a CSV row that does not
        parse and go on (default: stop at it, naming the file and line).
    :param journal_sync: ``"normal"`` (survives the process being killed) or ``"full"``
        (also a power loss, an fsync per commit).
    :param params: the strategy's parameters (its class attributes) given other values
        for this run, e.g. ``{"window": 20}`` (a sweep's combination); checked by type.
    :param dashboard: live (``botkit run``): serve the dashboard (page, API, stream) from
        the engine's task group; None: none.
    :param window_ns: backtest: replay only the events received in ``[start, end)`` ns
        (``None``: that side open); a walk-forward fold's window.
    """

    strategy_file: str
    mode: Mode = attrs.field(validator=attrs.validators.in_(("backtest", "live")))
    strategy_class: str | None = None
    data: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    venue: str | None = None
    url: str | None = None
    feed_urls: dict[str, str] = attrs.field(factory=dict)
    symbols: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    duration_s: float | None = None
    speed: float = 0.0
    backend: Literal["trio", "asyncio"] = "trio"
    max_strategy_errors: int = 0
    hook_timeout_s: float = HOOK_TIMEOUT_S
    record_prices: bool = False
    handle_signals: bool = True
    risk: RiskLimits = attrs.field(factory=RiskLimits)
    paper: PaperConfig = attrs.field(factory=PaperConfig)
    starting_cash: dict[str, Decimal] | None = None
    instruments: dict[str, Instrument] = attrs.field(factory=dict)
    quote_asset: str | None = None
    live: bool = False
    testnet: bool = False
    api_url: str | None = None
    keys: KeySettings = attrs.field(factory=KeySettings)
    recv_window_ms: int = 5_000
    cancel_timeout_s: float = 10.0
    journal: str | None = None
    journal_sync: Literal["normal", "full"] = "normal"
    accounts: dict[str, AccountSettings] = attrs.field(factory=dict)
    skip_bad_rows: bool = False
    params: dict[str, object] = attrs.field(factory=dict)
    window_ns: tuple[int | None, int | None] = (None, None)
    dashboard: DashboardSettings | None = None
