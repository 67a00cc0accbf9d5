"""Synthetic but realistic Binance market data, for the shipped sample and tests.

The model, deliberately simple but with the features strategies trip over:

* mid price: a random walk in ticks with volatility regimes (calm / busy);
* spread: usually one tick, sometimes several (thin book moments);
* trades: self-exciting arrivals (one trade makes the next more likely: bursts), sizes
  log-normal, aggressor side persistent within a burst (order-flow momentum), each at
  the touch; a burst of buys pushes the mid up a little (impact);
* quotes: a bookTicker after every trade and between trades, with random sizes;
* receive time = exchange time + 1-4 ms of network latency, so ``ts_recv > ts_exchange``.

Everything is drawn from one seeded :class:`random.Random`: the same seed gives the
same bytes.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from .._events import Quote, Side, Trade
from ..protocol.binance import encode_quote, encode_trade
from ..sources import RecordingWriter

__all__ = ["SAMPLE_NAME", "generate", "market_frames", "sample_path"]

SAMPLE_NAME = "binance-btcusdt-sample.txt.gz"
_TICK = Decimal("0.01")
_LOT = Decimal("0.00001")
_START_NS = 1_723_161_600_000_000_000  # 2024-08-09T00:00:00Z


def sample_path(name: str = SAMPLE_NAME) -> Path | None:
    """A shipped sample recording (default: Binance's): in the installed package, or in a
    source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_data" / name, package.parent / "examples" / "data" / name):
        if candidate.is_file():
            return candidate
    return None


def generate(
    path: str | Path,
    *,
    seconds: float = 900.0,
    seed: int = 7,
    symbol: str = "BTCUSDT",
    start_price: float = 61_000.0,
    depth: bool = False,
) -> tuple[int, int]:
    """Write a recording of ``seconds`` of market data; returns ``(trades, quotes)``.

    With ``depth``, a ``depth@100ms``-style diff stream (10 levels a side around the
    touch, contiguous ``U``/``u`` from 1, starting from an empty book) is added.
    """
    trades = quotes = 0
    meta = {"venue": "binance", "symbols": [symbol], "generator": f"botkit._sample seed={seed}"}
    with RecordingWriter(path, meta) as out:
        for recv, frame in market_frames(seconds=seconds, seed=seed, symbol=symbol, start_price=start_price,
                                         depth=depth):
            out.write(recv, frame)
            trades += b"@trade" in frame[:40]
            quotes += b"@bookTicker" in frame[:40]
    return trades, quotes


def market_frames(
    *,
    seconds: float = math.inf,
    seed: int = 7,
    symbol: str = "BTCUSDT",
    start_price: float = 61_000.0,
    depth: bool = False,
) -> Iterator[tuple[int, bytes]]:
    """The generator behind :func:`generate`: ``(receive ns, Binance frame)`` in order,
    endless by default (the simulator's live market for soaks)."""
    rng = random.Random(seed)
    mid_ticks = round(start_price / float(_TICK))
    t_ns = _START_NS
    end_ns = _START_NS + seconds * 1e9
    trade_id = 3_735_683_259
    update_id = 50_093_239_212
    intensity = 2.0  # trades per second, excited by each trade
    base_intensity = 2.0
    side = Side.BUY
    busy = False
    book: dict[str, dict[int, Decimal]] = {"b": {}, "a": {}}
    depth_id = 0
    last_recv = t_ns

    def received(sent_ns: int) -> int:
        # Frames arrive in order over one connection: receive times never go backwards.
        nonlocal last_recv
        last_recv = max(last_recv + 1_000, sent_ns + rng.randint(1_000_000, 4_000_000))
        return last_recv

    while t_ns < end_ns:
        if rng.random() < 0.002:
            busy = not busy
        vol = 3.0 if busy else 1.0
        # Next arrival: trade (Hawkes-like intensity) or a quote refresh (~4/s).
        rate = intensity + 4.0
        t_ns += max(1_000, int(rng.expovariate(rate) * 1e9))
        intensity = base_intensity + (intensity - base_intensity) * math.exp(-0.8 * 0.25)
        mid_ticks += round(rng.gauss(0, 45.0 * vol))
        spread = 1 if rng.random() < 0.85 else rng.randint(2, 8)
        bid = mid_ticks - spread // 2
        ask = bid + spread
        update_id += rng.randint(1, 6)
        if rng.random() < intensity / rate:
            if rng.random() < 0.25:
                side = Side.SELL if side is Side.BUY else Side.BUY
            burst = 1 + int(rng.expovariate(0.6)) if rng.random() < 0.3 else 1
            for _ in range(burst):
                size = Decimal(round(rng.lognormvariate(-5.0, 1.3), 5)).quantize(_LOT) or _LOT
                price = (ask if side is Side.BUY else bid) * _TICK
                trade_id += 1
                recv = received(t_ns)
                trade = Trade("binance", symbol, price, size, side, trade_id, t_ns // 1_000_000 * 1_000_000, recv)
                yield recv, encode_trade(trade)
                t_ns += rng.randint(0, 2_000_000)
            intensity += 1.5 * burst
            mid_ticks += (1 if side is Side.BUY else -1) * 15 * burst
        quote = Quote("binance", symbol, bid * _TICK, _size(rng), ask * _TICK, _size(rng), update_id, 0, 0)
        yield received(t_ns), encode_quote(quote)
        if depth:
            frame, depth_id = _depth_frame(rng, symbol, bid, ask, book, depth_id, received(t_ns))
            yield last_recv, frame


def _depth_frame(
    rng: random.Random, symbol: str, bid: int, ask: int,
    book: dict[str, dict[int, Decimal]], last_id: int, recv: int,
) -> tuple[bytes, int]:
    """Move the 10-level book to the new touch; returns the diff frame and the new ``u``."""
    target = {"b": {bid - k: _size(rng) for k in range(10)}, "a": {ask + k: _size(rng) for k in range(10)}}
    diff: dict[str, list[list[str]]] = {"b": [], "a": []}
    for side in ("b", "a"):
        for tick in set(book[side]) | set(target[side]):
            new = target[side].get(tick, Decimal(0))
            if book[side].get(tick) != new and (new or tick in book[side]):
                diff[side].append([str(tick * _TICK), str(new)])
        book[side] = target[side]
    first = last_id + 1
    last = first + rng.randint(0, 3)
    data = {"e": "depthUpdate", "E": recv // 1_000_000, "s": symbol, "U": first, "u": last,
            "b": sorted(diff["b"], key=lambda lv: -Decimal(lv[0])),
            "a": sorted(diff["a"], key=lambda lv: Decimal(lv[0]))}
    return json.dumps({"stream": f"{symbol.lower()}@depth@100ms", "data": data}, separators=(",", ":")).encode(), last


def _size(rng: random.Random) -> Decimal:
    return Decimal(round(rng.lognormvariate(-1.0, 1.0), 5)).quantize(_LOT) or _LOT
