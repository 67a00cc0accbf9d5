"""Hypothesis strategies generating valid botkit events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from .._events import Bar, BookDelta, BookSnapshot, ConnectionState, Event, FeedStatus, Quote, Side, Timer, Trade

__all__ = ["book_deltas", "events", "quotes", "trades"]

_symbols = st.sampled_from(["BTC-USDT", "ETH-USDT", "NKN-USDT", "BLZ-ETH"])


def _binance_spelling(event: Any) -> Any:
    """Give a generated event the venue symbol a Binance frame would carry."""
    return attrs.evolve(event, venue_symbol=event.symbol.replace("-", ""))

_ts = st.integers(min_value=0, max_value=4_102_444_800_000_000_000)  # up to 2100
_ts_ms = _ts.map(lambda ns: ns // 1_000_000 * 1_000_000)
_ids = st.integers(min_value=0, max_value=2**62)


def _decimals(places: int, max_value: int, *, min_value: str = "0") -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(min_value), max_value=Decimal(max_value), places=places, allow_nan=False, allow_infinity=False
    )


prices = _decimals(8, 10_000_000, min_value="0.00000001")
sizes = _decimals(8, 1_000_000)
_levels = st.lists(st.tuples(prices, sizes), max_size=5).map(tuple)


def trades(*, ms_timestamps: bool = False) -> st.SearchStrategy[Trade]:
    """Valid trades; ``ms_timestamps`` limits exchange time to whole ms (as Binance sends)."""
    return st.builds(
        Trade,
        venue=st.just("binance"),
        symbol=_symbols,
        price=prices,
        size=sizes,
        side=st.sampled_from(Side),
        trade_id=_ids,
        ts_exchange=_ts_ms if ms_timestamps else _ts,
        ts_recv=_ts,
    ).map(_binance_spelling)


def quotes(*, exchange_time: bool = True) -> st.SearchStrategy[Quote]:
    """Valid quotes; ``exchange_time=False`` gives ``ts_exchange=0`` (Binance spot)."""
    return st.builds(
        Quote,
        venue=st.just("binance"),
        symbol=_symbols,
        bid_price=prices,
        bid_size=sizes,
        ask_price=prices,
        ask_size=sizes,
        update_id=_ids,
        ts_exchange=_ts if exchange_time else st.just(0),
        ts_recv=_ts,
    ).map(_binance_spelling)


def book_deltas() -> st.SearchStrategy[BookDelta]:
    """Valid book deltas (``first_update_id <= last_update_id``)."""
    return st.builds(
        lambda first, span, **kw: BookDelta(first_update_id=first, last_update_id=first + span, **kw),
        first=_ids,
        span=st.integers(0, 1000),
        venue=st.just("binance"),
        symbol=_symbols,
        bids=_levels,
        asks=_levels,
        ts_exchange=_ts,
        ts_recv=_ts,
        prev_update_id=st.integers(-1, 2**62),
    ).map(_binance_spelling)


def events() -> st.SearchStrategy[Event]:
    """Any event type botkit defines."""
    return st.one_of(
        trades(),
        quotes(),
        book_deltas(),
        st.builds(BookSnapshot, venue=st.just("binance"), symbol=_symbols, bids=_levels, asks=_levels,
                  last_update_id=_ids, ts_exchange=_ts, ts_recv=_ts),
        st.builds(Bar, venue=st.just("binance"), symbol=_symbols, interval=st.sampled_from(["1m", "1h"]),
                  open=prices, high=prices, low=prices, close=prices, volume=sizes,
                  ts_open=_ts, ts_close=_ts, closed=st.booleans(), ts_recv=_ts),
        st.builds(Timer, name=st.text(max_size=20), ts_recv=_ts),
        st.builds(FeedStatus, venue=st.just("binance"), state=st.sampled_from(ConnectionState),
                  reason=st.text(max_size=40), ts_recv=_ts, attempt=st.integers(0, 1000)),
    )
