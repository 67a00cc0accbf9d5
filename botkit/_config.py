"""The TOML configuration file, validated with messages that name the bad key and value.

Example ``botkit.toml`` (every key optional)::

    venue = "binance"
    symbols = ["BTCUSDT"]
    mode = "paper"                  # "live": real orders (also needs `botkit run --live`)
    quote_asset = "USDT"

    [paper]
    starting_cash = { USDT = "10000" }
    latency_ms = 5
    slippage_bps = "1"
    margin = false                  # true: sells may go short and buys borrow

    [fees]
    maker_bps = "10"
    taker_bps = "10"

    [risk]
    max_position = "0.5"
    max_order_notional = "5000"
    max_open_orders = 10
    max_orders_per_second = 5
    max_daily_loss = "200"
    max_drawdown = "300"
    stale_after_ms = 5000
    flatten_on_kill = false         # true: the kill switch also sells what is held, at market

    [live]                          # keys are named here, never written here
    api_key_env = "BOTKIT_BINANCE_API_KEY"
    api_secret_env = "BOTKIT_BINANCE_API_SECRET"      # HMAC, or:
    private_key_file = "~/.binance/ed25519.pem"       # Ed25519 (or private_key_env)
    testnet = true
    recv_window_ms = 5000
    cancel_timeout_s = 10

    [dashboard]                     # botkit run: the live page and API (--dashboard overrides)
    listen = "127.0.0.1:8080"       # [HOST:]PORT; beyond loopback only with token_env
    token_env = "BOTKIT_DASHBOARD_TOKEN"              # else a random token per run
    updates_per_s = 4

    [venues.coinbase]               # a strategy trading several venues: one account each
    starting_cash = { USD = "5000", BTC = "0.1" }
    taker_bps = "60"                # also: maker_bps, latency_ms, slippage_bps, margin
    max_position = "0.2"            # limits on this venue, beside [risk]'s over all of them:
    max_open_orders = 4             # max_order_notional, max_orders_per_second

    [instruments.BTCUSDT]          # the venue's filters (a live run loads them itself)
    tick_size = "0.01"
    lot_size = "0.00001"
    min_notional = "5"
    max_size = "9000"               # also: min_size, min_price, max_price, max_notional,
    max_open_orders = 200           # market_min_size, market_max_size, market_lot_size,
                                    # bid_up, bid_down, ask_up, ask_down
"""

from __future__ import annotations

import math
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import cattrs

from ._decimals import exact_decimal
from ._exceptions import ConfigError
from .dashboard._settings import DashboardSettings, parse_listen
from .execution._accounts import AccountSettings
from .execution._instruments import Instrument, instrument_for
from .execution._paper import PaperConfig
from .execution._risk import (
    DEFAULT_OPEN_ORDERS,
    DEFAULT_ORDER_NOTIONAL,
    DEFAULT_ORDERS_PER_SECOND,
    RiskLimits,
    VenueLimits,
)
from .live._keys import API_KEY_ENV, API_SECRET_ENV, PRIVATE_KEY_ENV, KeySettings

__all__ = ["Config", "load_config"]


def _positive(_: object, attribute: attrs.Attribute, value: object) -> None:  # type: ignore[type-arg]
    if value is not None and not (_finite(value) and value > 0):  # type: ignore[operator]
        raise ValueError(f"{attribute.name} must be a number > 0, got {value}")


def _non_negative(_: object, attribute: attrs.Attribute, value: object) -> None:  # type: ignore[type-arg]
    if value is not None and not (_finite(value) and value >= 0):  # type: ignore[operator]
        raise ValueError(f"{attribute.name} must be a number >= 0, got {value}")


def _at_most_all(_: object, attribute: attrs.Attribute, value: Decimal) -> None:  # type: ignore[type-arg]
    if value > 10_000:
        raise ValueError(f"{attribute.name} must be at most 10000 basis points (100 %), got {value}")


def _optional_bps(_: object, attribute: attrs.Attribute, value: Decimal | None) -> None:  # type: ignore[type-arg]
    if value is not None:
        _at_most_all(_, attribute, value)


def _optional_cash(_: object, attribute: attrs.Attribute, value: dict[str, Decimal] | None) -> None:  # type: ignore[type-arg]
    for amount in (value or {}).values():
        _non_negative(_, attribute, amount)


def _finite(value: object) -> bool:
    # NaN compares false with everything, so "value < 0" alone lets it through.
    if isinstance(value, float | int):
        return math.isfinite(value)
    return not isinstance(value, Decimal) or value.is_finite()


@attrs.frozen
class PaperSection:
    """``[paper]``: simulated execution."""

    starting_cash: dict[str, Decimal] = attrs.field(factory=lambda: {"USDT": Decimal(10_000)},
                                                    validator=attrs.validators.deep_mapping(
                                                        attrs.validators.instance_of(str), _non_negative))
    latency_ms: float = attrs.field(default=5.0, validator=_non_negative)
    slippage_bps: Decimal = attrs.field(default=Decimal(0), validator=[_non_negative, _at_most_all])
    margin: bool = False


@attrs.frozen
class FeesSection:
    """``[fees]`` in basis points of notional."""

    maker_bps: Decimal = attrs.field(default=Decimal(10), validator=[_non_negative, _at_most_all])
    taker_bps: Decimal = attrs.field(default=Decimal(10), validator=[_non_negative, _at_most_all])


@attrs.frozen
class RiskSection:
    """``[risk]``: see :class:`botkit.RiskLimits`."""

    max_position: Decimal | None = attrs.field(default=None, validator=_positive)
    max_order_notional: Decimal | None = attrs.field(default=DEFAULT_ORDER_NOTIONAL, validator=_positive)
    max_open_orders: int | None = attrs.field(default=DEFAULT_OPEN_ORDERS, validator=_positive)
    max_orders_per_second: float | None = attrs.field(default=DEFAULT_ORDERS_PER_SECOND, validator=_positive)
    max_daily_loss: Decimal | None = attrs.field(default=None, validator=_positive)
    max_drawdown: Decimal | None = attrs.field(default=None, validator=_positive)
    stale_after_ms: float = attrs.field(default=30_000.0, validator=_positive)
    halt_on_strategy_error: bool = True
    flatten_on_kill: bool = False


@attrs.frozen
class InstrumentSection:
    """``[instruments.SYMBOL]``."""

    tick_size: Decimal = attrs.field(validator=_positive)
    lot_size: Decimal = attrs.field(validator=_positive)
    min_notional: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    base: str | None = None
    quote: str | None = None
    # The rest of the venue's filters (see botkit.Instrument); 0 or absent: not checked.
    min_size: Decimal | None = attrs.field(default=None, validator=_non_negative)
    max_size: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    min_price: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    max_price: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    max_notional: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    min_notional_market: bool = True
    max_notional_market: bool = False
    market_min_size: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    market_max_size: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    market_lot_size: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    bid_up: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    bid_down: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    ask_up: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    ask_down: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    max_open_orders: int = attrs.field(default=0, validator=_non_negative)


@attrs.frozen
class VenueSection:
    """``[venues.NAME]``: one venue's account and limits, for a strategy trading several
    (each key absent: the run's)."""

    starting_cash: dict[str, Decimal] | None = attrs.field(default=None, validator=_optional_cash)
    latency_ms: float | None = attrs.field(default=None, validator=_non_negative)
    slippage_bps: Decimal | None = attrs.field(default=None, validator=[_non_negative, _optional_bps])
    maker_bps: Decimal | None = attrs.field(default=None, validator=[_non_negative, _optional_bps])
    taker_bps: Decimal | None = attrs.field(default=None, validator=[_non_negative, _optional_bps])
    margin: bool | None = None
    max_position: Decimal | None = attrs.field(default=None, validator=_positive)
    max_order_notional: Decimal | None = attrs.field(default=None, validator=_positive)
    max_open_orders: int | None = attrs.field(default=None, validator=_positive)
    max_orders_per_second: float | None = attrs.field(default=None, validator=_positive)

    def paper_changes(self) -> dict[str, Any]:
        """What this venue's paper broker does differently (``PaperConfig`` fields)."""
        given = {"latency_ms": self.latency_ms, "slippage_bps": self.slippage_bps, "maker_fee_bps": self.maker_bps,
                 "taker_fee_bps": self.taker_bps, "margin": self.margin}
        return {name: value for name, value in given.items() if value is not None}

    def limits(self) -> VenueLimits | None:
        """This venue's order limits (None: it sets none)."""
        limits = VenueLimits(self.max_position, self.max_order_notional, self.max_open_orders,
                             self.max_orders_per_second)
        return None if limits == VenueLimits() else limits


_KEY_MATERIAL = ("api_key", "api_secret", "secret", "private_key", "key", "password")


@attrs.frozen
class LiveSection:
    """``[live]``: where the keys are (environment variables, a PEM file) and how to trade."""

    api_key_env: str = API_KEY_ENV
    api_secret_env: str = API_SECRET_ENV
    private_key_env: str = PRIVATE_KEY_ENV
    private_key_file: str | None = None
    testnet: bool = False
    api_url: str | None = None
    recv_window_ms: int = attrs.field(default=5_000, validator=[_positive, attrs.validators.le(60_000)])
    cancel_timeout_s: float = attrs.field(default=10.0, validator=_positive)


@attrs.frozen
class DashboardSection:
    """``[dashboard]``: where ``botkit run`` serves its page and API, and its token's
    environment variable (never the token itself)."""

    listen: str | None = None
    token_env: str | None = None
    updates_per_s: float = attrs.field(default=4.0, validator=[_positive, attrs.validators.le(20)])

    def settings(self) -> DashboardSettings | None:
        if self.listen is None:
            return None
        host, port = parse_listen(self.listen, "[dashboard] listen")
        return DashboardSettings(host, port, self.token_env, self.updates_per_s)


@attrs.frozen
class Config:
    """The whole configuration; :meth:`run_fields` maps it onto a :class:`~botkit.RunConfig`."""

    venue: str = "binance"
    symbols: list[str] = attrs.field(factory=list)
    mode: str = attrs.field(default="paper", validator=attrs.validators.in_(["paper", "live"]))
    quote_asset: str = "USDT"
    paper: PaperSection = attrs.field(factory=PaperSection)
    fees: FeesSection = attrs.field(factory=FeesSection)
    risk: RiskSection = attrs.field(factory=RiskSection)
    instruments: dict[str, InstrumentSection] = attrs.field(factory=dict)
    live: LiveSection = attrs.field(factory=LiveSection)
    venues: dict[str, VenueSection] = attrs.field(factory=dict)
    dashboard: DashboardSection = attrs.field(factory=DashboardSection)

    def run_fields(self) -> dict[str, Any]:
        """This file's part of a :class:`~botkit.RunConfig` (keyword arguments). ``mode =
        "live"`` alone places no real order: ``botkit run --live`` must say so too."""
        r = self.risk
        risk = RiskLimits(
            stale_after_s=r.stale_after_ms / 1000, halt_on_strategy_error=r.halt_on_strategy_error,
            max_position=r.max_position, max_order_notional=r.max_order_notional,
            max_open_orders=r.max_open_orders, max_orders_per_second=r.max_orders_per_second,
            max_daily_loss=r.max_daily_loss, max_drawdown=r.max_drawdown, flatten_on_kill=r.flatten_on_kill,
            venues={name: limits for name, section in self.venues.items()
                    if (limits := section.limits()) is not None},
        )
        paper = PaperConfig(
            latency_ms=self.paper.latency_ms, slippage_bps=self.paper.slippage_bps,
            maker_fee_bps=self.fees.maker_bps, taker_fee_bps=self.fees.taker_bps, margin=self.paper.margin,
        )
        instruments = {}
        for symbol, section in self.instruments.items():
            guess = instrument_for(symbol)
            rules = {k: v for k, v in attrs.asdict(section).items() if k not in ("base", "quote")}
            instruments[guess.symbol] = Instrument(
                guess.symbol, section.base or guess.base, section.quote or guess.quote, **rules)
        live = self.live
        return {
            "keys": KeySettings(live.api_key_env, live.api_secret_env, live.private_key_env, live.private_key_file),
            "testnet": live.testnet,
            "api_url": live.api_url,
            "recv_window_ms": live.recv_window_ms,
            "cancel_timeout_s": live.cancel_timeout_s,
            "risk": risk,
            "paper": paper,
            "starting_cash": dict(self.paper.starting_cash),
            "instruments": instruments,
            "quote_asset": self.quote_asset,
            "dashboard": self.dashboard.settings(),
            "accounts": {name: AccountSettings(section.starting_cash,
                                               attrs.evolve(paper, **changes) if (changes := section.paper_changes())
                                               else None)
                         for name, section in self.venues.items()},
        }


def _decimal(value: Any, _: type) -> Decimal:
    return exact_decimal(value, floats=True)  # a TOML 0.1 is written as a float


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(Decimal, _decimal)


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file.

    :raises ConfigError: naming the file, the key and the bad value.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {path}: not UTF-8 text") from None
    board = data.get("dashboard") if isinstance(data, dict) else None
    if isinstance(board, dict) and "token" in board:
        raise ConfigError(f"config {path}: [dashboard] token: a token never goes in the config file; put it in an "
                          "environment variable and name it (token_env)")
    section = data.get("live") if isinstance(data, dict) else None
    if isinstance(section, dict):
        written = [k for k in section if k.lower() in _KEY_MATERIAL]
        if written:
            # Never echo the value: it is a secret.
            raise ConfigError(f"config {path}: [live] {written[0]}: a key never goes in the config file; name the "
                              "environment variable that holds it (api_key_env, api_secret_env, private_key_env) "
                              "or the PEM file (private_key_file)")
    try:
        return _converter.structure(data, Config)
    except cattrs.BaseValidationError as exc:
        problems = "; ".join(_describe(line) for line in cattrs.transform_error(exc, format_exception=_format))
        raise ConfigError(f"config {path}: {problems}") from None


def _format(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, ValueError) and str(exc) and not isinstance(exc, cattrs.BaseValidationError):
        return f"invalid value ({exc})"
    return cattrs.v.format_exception(exc, type_)


def _describe(line: str) -> str:
    # cattrs says "invalid value for type, expected int @ $.risk.max_open_orders".
    message, _, where = line.rpartition(" @ ")
    key = where.removeprefix("$").lstrip(".") or "(top level)"
    return f"{key}: {message}" if message else line
