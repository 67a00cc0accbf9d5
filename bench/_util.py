"""Timing helpers: medians of repeated runs, and trade frames with varying fields."""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable


def median_rate(fn: Callable[[], int], repeats: int = 5) -> float:
    """Items per second of ``fn`` (which returns how many it processed), median of runs."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def trade_frames(n: int, seed: int = 1, *, distinct: bool = False) -> list[bytes]:
    """Binance combined-stream trade frames with distinct ids, and prices and sizes as a
    market trades them: a random walk in cents, lot sizes of 5 decimals (so they repeat,
    as real ones do). ``distinct``: every price and size text differs (the frame's index in
    their last 6 decimals), so nothing decoded once is met again."""
    rng = random.Random(seed)
    frames = []
    price = 61_000.0
    for i in range(n):
        price += rng.gauss(0, 0.5)
        size = rng.lognormvariate(-5, 1.3)
        tail = f"{i % 1_000_000:06d}" if distinct else "000000"
        data = {"e": "trade", "E": 1723161255343 + i, "s": "BTCUSDT", "t": 3735683259 + i,
                "p": f"{price:.2f}{tail}", "q": f"{size:.2f}{tail}" if distinct else f"{size:.5f}000",
                "T": 1723161255342 + i, "m": rng.random() < 0.5, "M": True}
        frames.append(json.dumps({"stream": "btcusdt@trade", "data": data}, separators=(",", ":")).encode())
    return frames
