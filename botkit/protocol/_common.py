"""Checks and conversions every venue parser shares (pure functions)."""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from .._events import Event, Level
from .._exceptions import ParseError
from .._symbols import normalise_symbol
from . import _compiled
from ._parser import ParserRules

__all__ = [
    "BOUNDS", "MALFORMED", "SymbolNames", "VenueParser", "check", "check_levels", "crc32_signed", "decimal_levels",
    "in_range", "iso_ns", "rest_frame", "text_levels", "wire",
]

_ZERO = Decimal(0)
# Loaded here, not read from _compiled's globals: _compiled imports the Binance package,
# which imports this module before _compiled is complete.
_cbook = _compiled.load("botkit.protocol._cbook")
_compiled_levels = _cbook.text_levels if _cbook is not None else None
#: What a malformed frame can raise while decoding or converting; all become ParseError.
MALFORMED = (
    msgspec.MsgspecError, ValueError, ArithmeticError, TypeError, UnicodeError, KeyError, IndexError,
    AttributeError,
)


#: The smallest price and the largest price or size any parser accepts. No market trades
#: outside them (a price of 10**15 in any quote asset, a size of 10**15 units); a value
#: beyond them is corrupt, and left in it would reach P&L and risk (a drawdown of 1E+398).
MIN_PRICE = Decimal("1e-12")
MAX_VALUE = Decimal("1e15")
BOUNDS = (MIN_PRICE, MAX_VALUE)


def in_range(price: Decimal, size: Decimal) -> bool:
    """Finite, ``MIN_PRICE <= price <= MAX_VALUE`` and ``0 <= size <= MAX_VALUE``."""
    return (price.is_finite() and size.is_finite() and MIN_PRICE <= price <= MAX_VALUE
            and _ZERO <= size <= MAX_VALUE)


def check(price: Decimal, size: Decimal) -> None:
    """Reject NaN, infinities, non-positive prices and values out of any market's range
    before they can reach any P&L."""
    if not in_range(price, size):
        raise ParseError(f"price/size out of range: {price} x {size} (a price must be {MIN_PRICE} to {MAX_VALUE:.0E}, "
                         f"a size 0 to {MAX_VALUE:.0E})")


def levels_in_range(levels: Sequence[Sequence[Decimal]]) -> bool:
    """:func:`in_range` for every level of ``levels`` (``[[price, size, ...], ...]``),
    on the columns' extremes: ``min``/``max`` run in C where a call per level would not
    (a depth diff carries dozens). A NaN makes the comparisons raise: out of range."""
    if not levels:
        return True
    try:
        prices, sizes = list(zip(*levels))[:2]
        return bool(min(prices) >= MIN_PRICE and max(prices) <= MAX_VALUE
                and min(sizes) >= _ZERO and max(sizes) <= MAX_VALUE)
    except (ArithmeticError, ValueError, TypeError):  # NaN (InvalidOperation), a short level
        return False


def check_levels(levels: Iterable[Any]) -> tuple[Level, ...]:
    """``[[price, size, ...extra], ...]`` (Decimals) as checked ``(price, size)`` levels."""
    out = tuple([(level[0], level[1]) for level in levels])
    if not levels_in_range(out):
        for price, size in out:
            check(price, size)  # raises for the first bad level
    return out


#: Entries a decimal cache holds before it is cleared (the compiled twin's bound too).
_CACHE_SIZE = 32_768


def text_levels(pairs: Sequence[tuple[str, str]], prices: dict[str, Decimal],
                sizes: dict[str, Decimal]) -> tuple[Level, ...]:
    """``[(price text, size text), ...]`` as checked ``(price, size)`` Decimal levels,
    each value taken from its cache (``prices`` / ``sizes``: text -> Decimal) or built,
    checked and cached. A feed repeats its prices and many sizes: a cached Decimal is
    neither built nor checked again, and keeps its hash (slow to compute for a Decimal),
    which a book's dict asks for on every change. Decimals are immutable: sharing one
    is safe. The reference of the compiled ``_cbook.text_levels``."""
    out = []
    for price_text, size_text in pairs:
        price = prices.get(price_text)
        size = sizes.get(size_text)
        if price is None or size is None:
            if price is None:
                price = Decimal(price_text)
            if size is None:
                size = Decimal(size_text)
            check(price, size)
            for cache, text, value in ((prices, price_text, price), (sizes, size_text, size)):
                if len(cache) >= _CACHE_SIZE:
                    cache.clear()
                cache[text] = value
        out.append((price, size))
    return tuple(out)


def decimal_levels(pairs: list[tuple[str, str]], prices: dict[str, Decimal],
                   sizes: dict[str, Decimal]) -> tuple[Level, ...]:
    """:func:`text_levels`, through its compiled twin where that is built and sure of
    every text (it leaves anything not plainly valid to the reference)."""
    if _compiled_levels is not None:
        levels: tuple[Level, ...] | None = _compiled_levels(pairs, prices, sizes)
        if levels is not None:
            return levels
    return text_levels(pairs, prices, sizes)


def wire(value: Decimal) -> str:
    """A decimal as the venue wrote it (``Decimal`` keeps the digits it was parsed from)."""
    return format(value, "f")


def crc32_signed(text: str) -> int:
    """CRC32 of ``text`` as a signed 32-bit integer (OKX's convention)."""
    value = zlib.crc32(text.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def iso_ns(text: str) -> int:
    """``2021-04-17T16:43:37.075687Z`` -> integer nanoseconds since the epoch (exact)."""
    head, dot, frac = text.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(head + "+00:00").timestamp())
    return seconds * 1_000_000_000 + (int(frac[:9].ljust(9, "0")) if dot else 0)


class SymbolNames(dict[str, str]):
    """Venue symbol -> normalised symbol, memoised (a feed has few symbols; the bound
    keeps garbage from growing it)."""

    def __missing__(self, symbol: str) -> str:
        name = normalise_symbol(symbol)
        if len(self) < 65_536:
            self[symbol] = name
        return name


class VenueParser(ParserRules, ABC):
    """Base of the JSON venue parsers: ``parse`` turns anything a malformed frame raises
    into one :class:`ParseError`; subclasses implement ``_parse`` on the frame's bytes.

    :ivar ignored: frames classified as carrying no market data (acks, heartbeats).
    """

    venue: ClassVar[str]
    title: ClassVar[str]

    def __init__(self) -> None:
        self.ignored = 0
        self._names = SymbolNames()

    def parse(self, frame: bytes | str, ts_recv: int) -> list[Event]:
        """Events of one frame; :class:`ParseError` for a malformed or unknown one."""
        if type(frame) is str:
            frame = frame.encode()
        try:
            return self._parse(frame, ts_recv)  # type: ignore[arg-type]
        except ParseError:
            raise
        except MALFORMED as exc:
            raise ParseError(f"malformed {self.title} frame ({type(exc).__name__}: {exc})", frame) from None

    @abstractmethod
    def _parse(self, frame: bytes, ts_recv: int) -> list[Event]:
        """Events of ``frame``; may raise anything in :data:`MALFORMED` on bad input."""


def rest_frame(path: str, body: bytes | str) -> bytes:
    """Wrap a REST answer as a recordable frame: ``{"rest": path, "data": body}``.

    Recordings keep REST snapshots in line with the stream, so a replay resyncs its
    books exactly where the live run did.
    """
    if isinstance(body, str):
        body = body.encode()
    return b'{"rest":' + msgspec.json.encode(path) + b',"data":' + body + b"}"
