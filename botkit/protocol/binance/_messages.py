"""Binance spot stream payloads as msgspec structs (wire field names, typed decode).

msgspec decodes the price/size strings straight into ``Decimal`` in C, which is what
keeps parsing under a microsecond per frame; unknown fields are ignored, so Binance
adding a field never breaks the parser.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

# Levels as Binance sends them, [["price", "size"], ...], kept as text: the parser
# builds their Decimals through its caches (``_common.decimal_levels``).
_Levels = list[tuple[str, str]]


class _Wire(msgspec.Struct, gc=False):
    """Base of the payloads: plain data that can hold no reference cycle, so the garbage
    collector need not track the millions a replay decodes (msgspec's ``gc=False``)."""


class TradeMsg(_Wire):
    s: str
    t: int
    p: Decimal
    q: Decimal
    T: int
    m: bool


class AggTradeMsg(_Wire):
    s: str
    a: int
    p: Decimal
    q: Decimal
    T: int
    m: bool


class TradeText(_Wire):
    """:class:`TradeMsg` with price and size as their text: the compiled trade path
    builds (and caches) their Decimals itself."""

    s: str
    t: int
    p: str
    q: str
    T: int
    m: bool


class AggTradeText(_Wire):
    """:class:`AggTradeMsg`, price and size as text (see :class:`TradeText`)."""

    s: str
    a: int
    p: str
    q: str
    T: int
    m: bool


class BookTickerMsg(_Wire):
    """Prices and sizes as text: the parser builds their Decimals through its caches."""

    s: str
    u: int
    b: str
    B: str
    a: str
    A: str
    T: int = 0  # futures only: transaction time


class DepthMsg(_Wire):
    s: str
    E: int
    U: int
    u: int
    b: _Levels
    a: _Levels
    pu: int = -1


class KlineData(_Wire):
    t: int
    T: int
    i: str
    o: Decimal
    c: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - Binance's field name
    v: Decimal
    x: bool


class KlineMsg(_Wire):
    s: str
    k: KlineData


class DepthSnapshotMsg(_Wire):
    lastUpdateId: int
    bids: _Levels
    asks: _Levels


class RestTradeMsg(_Wire):
    """One entry of ``GET /api/v3/historicalTrades`` (ids match the ``trade`` stream)."""

    id: int
    price: Decimal
    qty: Decimal
    time: int
    isBuyerMaker: bool


class RestAggTradeMsg(_Wire):
    """One entry of ``GET /api/v3/aggTrades`` (ids match the ``aggTrade`` stream)."""

    a: int
    p: Decimal
    q: Decimal
    T: int
    m: bool


class ErrorMsg(_Wire):
    """An error frame: ``{"code": 2, "msg": "Invalid request", "id": 1}``."""

    code: int
    msg: str


def combined(data_type: type) -> type[msgspec.Struct]:
    """The combined-stream envelope ``{"stream": ..., "data": <data_type>}``; the parser
    reads the stream name off the frame's prefix, so only ``data`` is decoded."""
    return msgspec.defstruct(f"Combined{data_type.__name__}", [("data", data_type)], gc=False)


# Raw (single-stream) frames carry their type in "e"; bookTicker has none.
RAW_EVENT_TYPES = {
    b"trade": TradeMsg,
    b"aggTrade": AggTradeMsg,
    b"depthUpdate": DepthMsg,
    b"kline": KlineMsg,
    b"bookTicker": BookTickerMsg,
}
