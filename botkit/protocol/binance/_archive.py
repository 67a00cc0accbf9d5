"""Binance's public data archives (data.binance.vision): their file names and CSV rows
back to events. Sans-IO: a name in, a row in, events out.

Layout (``binance/binance-public-data``'s README): daily and monthly zip files, each one
CSV, beside a ``.CHECKSUM`` (its SHA-256)::

    data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2025-01-01.zip
    data/spot/monthly/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2025-01.zip
    data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-01-01.zip
    data/futures/um/daily/trades/BTCUSDT/BTCUSDT-trades-2025-01-01.zip

Columns:

* trades: id, price, qty, quote qty, time, is buyer maker[, is best match] (spot has the
  last; futures files may start with a header row);
* aggTrades: aggregate id, price, qty, first id, last id, time, is buyer maker[, is best
  match];
* klines: open time, open, high, low, close, volume, close time, quote volume, trades,
  taker buy base volume, taker buy quote volume, ignore.

Times are milliseconds, except spot data from 2025-01-01 on: microseconds. The unit is
told from each value's size (a millisecond time of today has 13 digits, a microsecond
one 16), so a file of either era, or a directory spanning the change, reads right.
Archives carry no receive time: the exchange time stands in for it (``ts_recv``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from ..._events import Bar, Event, Side, Trade, fast_constructor
from ..._exceptions import ParseError
from ..._symbols import normalise_symbol
from .. import _compiled
from .._common import check

__all__ = ["ARCHIVE_KINDS", "KLINE_INTERVALS", "ArchiveName", "ArchiveRows", "archive_name", "archive_path"]

#: Kline intervals Binance archives (``1mo``: a month).
KLINE_INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1mo")
#: What ``botkit download --kind`` takes: trades, aggTrades, or klines-INTERVAL.
ARCHIVE_KINDS = ("trades", "aggTrades", *(f"klines-{interval}" for interval in KLINE_INTERVALS))
_NAME = re.compile(r"^([A-Z0-9]+)-(trades|aggTrades|" + "|".join(KLINE_INTERVALS) +
                   r")-(\d{4}-\d{2}(?:-\d{2})?)\.(?:zip|csv)$")
_COLUMNS = {"trades": (6, 7), "aggTrades": (7, 8), "klines": (12, 12)}
_NAMES = {
    "trades": "id, price, qty, quote qty, time, is buyer maker[, is best match]",
    "aggTrades": "aggregate id, price, qty, first id, last id, time, is buyer maker[, is best match]",
    "klines": "open time, open, high, low, close, volume, close time, quote volume, trades, taker buy base, "
              "taker buy quote, ignore",
}
_US_FROM = 10**15  # a time this large is in microseconds (16 digits), else milliseconds
_MAX_TIME = 9 * 10**15  # microseconds: the year 2255; beyond, a row is not a time of a trade
_CACHE_SIZE = 1 << 16  # decimals kept by their text: prices and lot sizes repeat
_trade_event = fast_constructor(Trade)
_TRUE = {b"true": True, b"True": True, b"TRUE": True, b"false": False, b"False": False, b"FALSE": False}
_FAST_BOOLS = frozenset((b"True", b"False", b"true", b"false"))  # the spellings the compiled path takes


@attrs.frozen
class ArchiveName:
    """What an archive's file name says: ``BTCUSDT-1m-2025-01-01.zip``."""

    symbol: str
    #: ``trades``, ``aggTrades`` or ``klines``.
    kind: str
    #: A kline interval (``1m``), or ``""``.
    interval: str
    #: ``2025-01-01`` (a daily file) or ``2025-01`` (a monthly one).
    date: str

    @property
    def monthly(self) -> bool:
        """A month's file (``2025-01``), not a day's."""
        return len(self.date) == 7


def archive_name(name: str) -> ArchiveName | None:
    """What the file name ``name`` (no directory) says, or None when it is not one of
    Binance's archive names."""
    match = _NAME.match(name)
    if match is None:
        return None
    symbol, kind, date = match.groups()
    if kind in ("trades", "aggTrades"):
        return ArchiveName(symbol, kind, "", date)
    return ArchiveName(symbol, "klines", kind, date)


def archive_path(market: str, kind: str, symbol: str, date: str) -> str:
    """The archive's path under the base URL: ``market`` ``spot`` or ``futures/um``,
    ``kind`` one of :data:`ARCHIVE_KINDS`, ``date`` ``YYYY-MM-DD`` or ``YYYY-MM``."""
    period = "monthly" if len(date) == 7 else "daily"
    if kind.startswith("klines-"):
        interval = kind.removeprefix("klines-")
        return f"data/{market}/{period}/klines/{symbol}/{interval}/{symbol}-{interval}-{date}.zip"
    return f"data/{market}/{period}/{kind}/{symbol}/{symbol}-{kind}-{date}.zip"


class ArchiveRows:
    """One archive's rows to events (a :class:`~botkit.Trade` per trade or aggregated
    trade, a closed :class:`~botkit.Bar` per kline).

    :param venue: the venue the events name (``binance``, ``binance-futures``).
    :param name: what the file's name says.
    :param compiled: use the compiled row decoder where it is built (False: the Python
        path alone, to compare the two).
    """

    def __init__(self, venue: str, name: ArchiveName, *, compiled: bool = True) -> None:
        self.venue = venue
        self.name = name
        self.symbol = normalise_symbol(name.symbol)
        self._columns = _COLUMNS[name.kind]
        # The class's functions, not bound methods: one kept on self would make a cycle.
        parsers: dict[str, Callable[[ArchiveRows, list[bytes]], Trade | Bar]] = {
            "trades": ArchiveRows._trade, "aggTrades": ArchiveRows._agg_trade, "klines": ArchiveRows._kline}
        self._parse = parsers[name.kind]
        self._cache: dict[bytes, Decimal] = {}
        # Bound to the cache, not to self: the compiled decoder keeps it, and a cycle
        # through self would keep each file's cache until a full collection.
        self._value = functools.partial(_cached_value, self._cache)
        # The compiled twin of parse_run over a block's lines (trades and aggTrades).
        self._compiled: Any = None
        if compiled and _compiled.RowDecoder is not None and name.kind != "klines":
            time_at, maker_at = (4, 5) if name.kind == "trades" else (5, 6)
            self._compiled = _compiled.RowDecoder(
                event=Trade, venue=venue, symbol=self.symbol, venue_symbol=name.symbol, buy=Side.BUY, sell=Side.SELL,
                time_at=time_at, maker_at=maker_at, widths=self._columns, cache=self._cache, value=self._value)

    def parse(self, row: bytes, *, first: bool = False) -> Trade | Bar | None:
        """The event of one CSV row (no line end), or None for the header row some files
        start with (``first``: the file's first row, the only place one may be).

        :raises ParseError: a row that is not one of this kind's (its reason names what).
        """
        fields = row.rstrip(b"\r").split(b",")
        if len(fields) not in self._columns:
            raise ParseError(f"expected {' or '.join(map(str, sorted(set(self._columns))))} columns of "
                             f"{self.name.kind} ({_NAMES[self.name.kind]}), got {len(fields)}", row)
        if not fields[0][:1].isdigit():
            if first and fields[0][:1].isalpha():
                return None
            raise ParseError(f"not a number: {fields[0][:40].decode(errors='replace')!r}", row)
        try:
            return self._parse(self, fields)
        except (ValueError, InvalidOperation, KeyError):
            raise ParseError(f"a malformed {self.name.kind} row", row) from None

    def run(self, block: bytes, pos: int, end: int, out: list[Event], limit: int) -> tuple[int, int]:
        """:meth:`parse_run` over the whole lines of ``block[pos:end]``, in C where it is
        built: ``(offset of the first line left to parse(), rows consumed)``."""
        if self._compiled is not None:
            consumed: tuple[int, int] = self._compiled.run(block, pos, end, out, limit)
            return consumed
        cut = pos
        for _ in range(max(0, limit - len(out))):  # no more lines than out has room for
            cut = block.find(b"\n", cut, end) + 1
            if not cut:
                cut = end
                break
        lines = block[pos:cut].split(b"\n")
        if lines and not lines[-1]:
            lines.pop()  # the region ends with a line end
        done = self.parse_run(lines, 0, out, limit)
        return pos + sum(len(line) + 1 for line in lines[:done]), done

    def parse_run(self, rows: list[bytes], start: int, out: list[Event], limit: int) -> int:
        """Append the events of ``rows[start:]`` to ``out`` for as long as each is a plain
        trade row (what most rows of a trades or aggTrades file are), until ``out`` holds
        ``limit``: the index of the
        first row left to :meth:`parse` (a header, a bad row, the end). The events are
        exactly :meth:`parse`'s, built with fewer steps: prices and sizes from a cache
        of their text."""
        kind = self.name.kind
        if kind == "klines":
            return start
        ts_at, maker_at = (4, 5) if kind == "trades" else (5, 6)
        widths = self._columns
        venue, symbol, venue_symbol = self.venue, self.symbol, self.name.symbol
        cache = self._cache
        sell, buy, make, append = Side.SELL, Side.BUY, _trade_event, out.append
        i, n = start, min(len(rows), start + max(0, limit - len(out)))
        try:
            while i < n:
                f = rows[i].split(b",")
                if len(f) not in widths or not f[0][:1].isdigit():
                    break
                if f[-1][-1:] == b"\r":  # a CRLF file
                    f[-1] = f[-1][:-1]
                price = cache.get(f[1])
                if price is None:
                    price = self._value(f[1])
                size = cache.get(f[2])
                if size is None:
                    size = self._value(f[2])
                if len(f[0]) > 18 or len(f[ts_at]) > 18:  # what the compiled path leaves to parse() too
                    break
                t = int(f[ts_at])
                ts = t * 1_000 if t >= _US_FROM else t * 1_000_000
                maker = f[maker_at]
                if not 0 <= t < _MAX_TIME or maker not in _FAST_BOOLS:
                    break
                side = sell if maker[0] in b"Tt" else buy
                append(make(venue, symbol, price, size, side, int(f[0]), ts, ts, venue_symbol))
                i += 1
        except (ValueError, InvalidOperation):
            pass  # this row takes parse(), which says what is wrong with it
        return i

    def _trade(self, f: list[bytes]) -> Trade:
        price, size, ts = Decimal(f[1].decode()), Decimal(f[2].decode()), _ns(f[4])
        check(price, size)
        side = Side.SELL if _TRUE[f[5]] else Side.BUY  # the buyer was the maker: a sell hit the bid
        return Trade(self.venue, self.symbol, price, size, side, int(f[0]), ts, ts, self.name.symbol)

    def _agg_trade(self, f: list[bytes]) -> Trade:
        price, size, ts = Decimal(f[1].decode()), Decimal(f[2].decode()), _ns(f[5])
        check(price, size)
        side = Side.SELL if _TRUE[f[6]] else Side.BUY
        return Trade(self.venue, self.symbol, price, size, side, int(f[0]), ts, ts, self.name.symbol)

    def _kline(self, f: list[bytes]) -> Bar:
        o, h, low, c = (Decimal(x.decode()) for x in f[1:5])
        volume = Decimal(f[5].decode())
        for price in (o, h, low, c):
            check(price, volume)
        opened, closed = _ns(f[0]), _ns(f[6])
        return Bar(self.venue, self.symbol, self.name.interval, o, h, low, c, volume, opened, closed, True, closed,
                   self.name.symbol)


def _cached_value(cache: dict[bytes, Decimal], text: bytes) -> Decimal:
    """A price or size from its text, kept in ``cache`` when it is good as both.

    :raises ValueError: text that is not a number, or out of range (or zero) as a price:
        :meth:`ArchiveRows.parse` then says what is wrong with its row.
    """
    try:
        value = Decimal(text.decode())
    except (InvalidOperation, UnicodeDecodeError):
        raise ValueError(text) from None
    # in_range(value, value), from the digits' position: Decimal comparisons cost more.
    if value.is_finite() and not value.is_signed() and not value.is_zero() and -12 <= value.adjusted() < 15:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[text] = value
        return value
    raise ValueError(text)


def _ns(text: bytes) -> int:
    value = int(text)
    if not 0 <= value < _MAX_TIME:
        raise ValueError(text)
    return value * 1_000 if value >= _US_FROM else value * 1_000_000
