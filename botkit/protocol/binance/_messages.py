"""Binance spot stream payloads as msgspec structs (wire field names, typed decode).

msgspec decodes the price/size strings straight into ``Decimal`` in C, which is what
keeps parsing under a microsecond per frame; unknown fields are ignored, so Binance
adding a field never breaks the parser.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

# Decimal levels as Binance sends them: [["price", "size"], ...]
_Levels = list[tuple[Decimal, Decimal]]


class TradeMsg(msgspec.Struct):
    s: str
    t: int
    p: Decimal
    q: Decimal
    T: int
    m: bool


class AggTradeMsg(msgspec.Struct):
    s: str
    a: int
    p: Decimal
    q: Decimal
    T: int
    m: bool


class BookTickerMsg(msgspec.Struct):
    s: str
    u: int
    b: Decimal
    B: Decimal
    a: Decimal
    A: Decimal
    T: int = 0  # futures only: transaction time


class DepthMsg(msgspec.Struct):
    s: str
    E: int
    U: int
    u: int
    b: _Levels
    a: _Levels
    pu: int = -1


class KlineData(msgspec.Struct):
    t: int
    T: int
    i: str
    o: Decimal
    c: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - Binance's field name
    v: Decimal
    x: bool


class KlineMsg(msgspec.Struct):
    s: str
    k: KlineData


class DepthSnapshotMsg(msgspec.Struct):
    lastUpdateId: int
    bids: _Levels
    asks: _Levels


class RestTradeMsg(msgspec.Struct):
    """One entry of ``GET /api/v3/historicalTrades`` (ids match the ``trade`` stream)."""

    id: int
    price: Decimal
    qty: Decimal
    time: int
    isBuyerMaker: bool


class RestAggTradeMsg(msgspec.Struct):
    """One entry of ``GET /api/v3/aggTrades`` (ids match the ``aggTrade`` stream)."""

    a: int
    p: Decimal
    q: Decimal
    T: int
    m: bool


class ErrorMsg(msgspec.Struct):
    """An error frame: ``{"code": 2, "msg": "Invalid request", "id": 1}``."""

    code: int
    msg: str


def combined(data_type: type) -> type[msgspec.Struct]:
    """The combined-stream envelope ``{"stream": ..., "data": <data_type>}``."""
    return msgspec.defstruct(f"Combined{data_type.__name__}", [("stream", str), ("data", data_type)])


# Raw (single-stream) frames carry their type in "e"; bookTicker has none.
RAW_EVENT_TYPES = {
    b"trade": TradeMsg,
    b"aggTrade": AggTradeMsg,
    b"depthUpdate": DepthMsg,
    b"kline": KlineMsg,
    b"bookTicker": BookTickerMsg,
}
