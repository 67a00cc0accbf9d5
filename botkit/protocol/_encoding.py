"""Helpers for the venue encoders (events back to wire frames: the exchange simulator
and the round-trip tests speak each venue's protocol with them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .._events import Level

__all__ = ["dumps", "iso", "levels", "num", "seconds"]

_S = 1_000_000_000


def num(value: Decimal) -> str:
    """A decimal as a plain string (never exponent notation)."""
    return format(value, "f")


def levels(rows: tuple[Level, ...]) -> list[list[str]]:
    return [[num(p), num(s)] for p, s in rows]


def iso(ns: int) -> str:
    """Integer ns -> ``2021-04-17T16:43:37.075687Z`` (microseconds, as Coinbase sends)."""
    stamp = datetime.fromtimestamp(ns // _S, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ns % _S // 1000:06d}Z"


def seconds(ns: int) -> str:
    """Integer ns -> ``"1618678142.557535"`` (Kraken's timestamps)."""
    return f"{ns // _S}.{ns % _S // 1000:06d}"


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))
