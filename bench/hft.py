"""hftbacktest (PyPI ``hftbacktest``, Rust core, driven from a numba-compiled loop) on
the events of a real-mix recording: the speed reference of tick-level backtesting.

The events are botkit's, decoded once beforehand and laid out as hftbacktest's event
rows (one row per book level, trade or best-level side; a snapshot as a clear and its
levels); the loop wakes on every feed and reads the best bid and ask, as the botkit and
NautilusTrader book readers do. The rate is botkit events (frames) per second, so the
row reads beside theirs.
"""

from __future__ import annotations

import time
from typing import Any


def run_mix(path: str) -> list[tuple[str, float, str]]:
    try:
        import hftbacktest as h
        import numpy as np
        from numba import njit
    except ImportError:
        return [("real mix: hftbacktest", float("nan"), "hftbacktest not installed")]
    import botkit

    from .nautilus import events_of

    events = events_of(path)
    both = h.EXCH_EVENT | h.LOCAL_EVENT
    rows: list[tuple[int, int, float, float]] = []
    for e in events:
        ts = e.ts_recv
        if isinstance(e, botkit.Trade):
            side = h.BUY_EVENT if e.side is botkit.Side.BUY else h.SELL_EVENT
            rows.append((both | h.TRADE_EVENT | side, ts, float(e.price), float(e.size)))
        elif isinstance(e, botkit.Quote):
            rows.append((both | h.DEPTH_BBO_EVENT | h.BUY_EVENT, ts, float(e.bid_price), float(e.bid_size)))
            rows.append((both | h.DEPTH_BBO_EVENT | h.SELL_EVENT, ts, float(e.ask_price), float(e.ask_size)))
        elif isinstance(e, botkit.BookSnapshot | botkit.BookDelta):
            kind = h.DEPTH_SNAPSHOT_EVENT if isinstance(e, botkit.BookSnapshot) else h.DEPTH_EVENT
            if kind == h.DEPTH_SNAPSHOT_EVENT:
                rows.append((both | h.DEPTH_CLEAR_EVENT | h.BUY_EVENT, ts, 0.0, 0.0))
                rows.append((both | h.DEPTH_CLEAR_EVENT | h.SELL_EVENT, ts, 0.0, 0.0))
            rows += [(both | kind | h.BUY_EVENT, ts, float(p), float(q)) for p, q in e.bids]
            rows += [(both | kind | h.SELL_EVENT, ts, float(p), float(q)) for p, q in e.asks]
    data = np.zeros(len(rows), h.event_dtype)
    for i, (ev, ts, px, qty) in enumerate(rows):
        data[i] = (ev, ts, ts, px, qty, 0, 0, 0.0)
    futures = any(getattr(e, "venue", "") == "binance-futures" for e in events[:10])

    def backtest_of(rows: Any) -> Any:
        return h.HashMapMarketDepthBacktest([
            h.BacktestAsset().data([rows]).linear_asset(1.0).constant_latency(0, 0).risk_adverse_queue_model()
            .no_partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
            .tick_size(0.1 if futures else 0.01).lot_size(0.001 if futures else 0.00000001)])

    loop: Any = njit(_loop)
    warm = backtest_of(data[:1000].copy())
    loop(warm)  # numba compiles on the first call: not part of the timing
    warm.close()
    backtest = backtest_of(data)
    start = time.perf_counter()
    feeds, sound = loop(backtest)
    elapsed = time.perf_counter() - start
    backtest.close()
    assert sound > 0, (feeds, sound)
    return [("real mix: hftbacktest (Rust core, numba loop), best bid/ask on every feed", len(events) / elapsed,
             f"events/s ({feeds:,} feeds, {len(rows):,} rows; the reference row)")]


def _loop(backtest: Any) -> tuple[int, int]:
    feeds = sound = 0
    while backtest.wait_next_feed(False, 1_000_000_000_000) != 1:
        depth = backtest.depth(0)
        feeds += 1
        sound += depth.best_bid < depth.best_ask
    return feeds, sound
