"""Flags and the TOML file, merged into one :class:`~botkit.RunConfig` (flags win)."""

from __future__ import annotations

import argparse
import logging
from decimal import Decimal
from typing import Any

import attrs

from .._config import Config, load_config
from .._decimals import exact_decimal
from .._exceptions import ConfigError
from .._runconfig import Mode, RunConfig
from ..dashboard._settings import DashboardSettings, parse_listen
from ..execution._accounts import AccountSettings
from ..execution._paper import PaperConfig

__all__ = ["run_config", "urls"]

log = logging.getLogger("botkit.cli")

_ALL_BPS = Decimal(10_000)  # 100 %: no fee or slippage is more than the whole notional


def run_config(args: argparse.Namespace, mode: Mode) -> RunConfig:
    """The run ``botkit run`` / ``botkit backtest`` was asked for.

    :raises ConfigError: a bad flag value or config file (one line).
    """
    if args.max_errors < 0:
        raise ConfigError(f"--max-errors must be >= 0, got {args.max_errors}")
    config = load_config(args.config) if args.config else None
    fields: dict[str, Any] = config.run_fields() if config else {}
    live = bool(getattr(args, "live", False))
    if config is not None and config.mode == "live" and not live and mode == "live":
        log.warning("config %s says mode = 'live', but real orders need `botkit run --live` too: paper trading",
                    args.config)
    paper = fields.pop("paper", PaperConfig())
    changes: dict[str, Any] = {}
    if args.latency_ms is not None:
        if not 0 <= args.latency_ms < float("inf"):
            raise ConfigError(f"--latency-ms must be a number >= 0, got {args.latency_ms}")
        changes["latency_ms"] = args.latency_ms
    if args.fee_bps is not None:
        changes["maker_fee_bps"] = changes["taker_fee_bps"] = _flag_decimal("--fee-bps", args.fee_bps, _ALL_BPS)
    if args.slippage_bps is not None:
        changes["slippage_bps"] = _flag_decimal("--slippage-bps", args.slippage_bps, _ALL_BPS)
    paper = attrs.evolve(paper, **changes)
    accounts: dict[str, AccountSettings] = fields.pop("accounts", {})
    if changes:  # flags win over every [venues.NAME] too
        accounts = {venue: attrs.evolve(account, paper=attrs.evolve(account.paper, **changes))
                    if account.paper is not None else account for venue, account in accounts.items()}
    for item in args.cash or ():
        where, eq, amount = item.partition("=")
        venue, colon, asset = where.rpartition(":")
        if not eq or not asset or (colon and not venue):
            raise ConfigError(f"--cash {item!r}: expected ASSET=AMOUNT or VENUE:ASSET=AMOUNT, e.g. USDT=10000")
        value = _flag_decimal("--cash", amount)
        if venue:
            account = accounts.get(venue, AccountSettings())
            accounts[venue] = attrs.evolve(account, starting_cash={**(account.starting_cash or {}),
                                                                   asset.upper(): value})
        else:
            fields.setdefault("starting_cash", dict(Config().paper.starting_cash))[asset.upper()] = value
            fields.setdefault("quote_asset", Config().quote_asset)
    fields["accounts"] = accounts
    if args.hook_timeout is not None:
        fields["hook_timeout_s"] = args.hook_timeout
    if args.journal is not None:
        fields["journal"] = args.journal
    if args.journal_sync is not None:
        fields["journal_sync"] = args.journal_sync
    if mode == "live":
        url, feed_urls = urls(args.url or [])
        fields.update(url=url, feed_urls=feed_urls, symbols=_split(args.symbols), duration_s=args.duration,
                      speed=args.speed, live=live)
        if args.testnet:
            fields["testnet"] = True
        if args.api_url:
            fields["api_url"] = args.api_url
        if (args.testnet or args.api_url) and not live:
            raise ConfigError("--testnet and --api-url choose where real orders go: add --live")
        fields["dashboard"] = _dashboard(args, fields.get("dashboard"))
    else:
        fields.pop("dashboard", None)  # one config file serves both commands; a backtest has --report
        fields.update(backend=args.backend, skip_bad_rows=args.skip_bad_rows)
    return RunConfig(
        args.strategy_file, mode, strategy_class=args.strategy, data=args.data, venue=args.venue,
        max_strategy_errors=args.max_errors, record_prices=bool(args.report), paper=paper, **fields,
    )


def _dashboard(args: argparse.Namespace, configured: DashboardSettings | None) -> DashboardSettings | None:
    """``--dashboard`` and ``--dashboard-token-env`` over ``[dashboard]``."""
    settings = configured
    if args.dashboard is not None:
        host, port = parse_listen(args.dashboard)
        settings = attrs.evolve(configured or DashboardSettings(), host=host, port=port)
    if args.dashboard_token_env is not None:
        if settings is None:
            raise ConfigError("--dashboard-token-env: add --dashboard [HOST:]PORT (or [dashboard] listen)")
        settings = attrs.evolve(settings, token_env=args.dashboard_token_env)
    return settings


def urls(given: list[str]) -> tuple[str | None, dict[str, str]]:
    """``--url`` values: one plain URL, or ``VENUE=URL`` once per venue."""
    pairs = [_venue_url(u) for u in given]
    plain = [u for u, pair in zip(given, pairs, strict=True) if pair is None]
    named = dict(pair for pair in pairs if pair is not None)
    if len(plain) > 1 or (plain and named):
        raise ConfigError("--url: give one URL, or VENUE=URL once per venue of a strategy with several feeds")
    if len(named) != len(given) - len(plain):
        raise ConfigError("--url: a venue is given twice")
    return (plain[0] if plain else None), named


def _venue_url(text: str) -> tuple[str, str] | None:
    """``(venue, url)`` of ``VENUE=ws://...``, else None (a plain URL may hold ``=``)."""
    venue, eq, url = text.partition("=")
    return (venue, url) if eq and "://" not in venue and url.startswith(("ws://", "wss://")) else None


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip().upper() for s in text.split(",") if s.strip()) if text else ()


def _flag_decimal(flag: str, text: str, most: Decimal | None = None) -> Decimal:
    try:
        value = exact_decimal(text)
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: not a number") from None
    if value < 0:
        raise ConfigError(f"{flag} {text!r}: must be a number >= 0")
    if most is not None and value > most:
        raise ConfigError(f"{flag} {text!r}: at most {most} basis points (100 %)")
    return value
