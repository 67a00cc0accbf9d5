"""A synthetic two-venue market: the same pair on Binance and OKX, with the lead-lag
that cross-exchange arbitrage lives on (the shipped two-venue sample, tests).

The model:

* **leader** (Binance): the mid walks in ticks with calm and busy regimes, and now and
  then jumps (a large order sweeping the book, news) by 25-60 basis points;
* **follower** (OKX): its mid chases the leader's with a lag (exponential catch-up,
  time constant 0.3-1.2 s, drawn afresh at each jump) plus a small mean-reverting basis,
  so after a jump the two venues' quotes are apart for a second or so;
* each venue sends quotes (Binance ``bookTicker``, OKX ``tickers``) a few times a second
  and trades in bursts at its touch, with its own tick, spread and network latency
  (Binance 1-4 ms, OKX 3-12 ms from here): receive times are in order per venue, and the
  file is the two streams merged by receive time.

Each venue's frames are in its own protocol, in a recording of several venues
(``<ns> <venue> <frame>`` lines, docs/recording-format.md). One seeded
:class:`random.Random` drives it all: the same seed gives the same bytes.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from .._events import Quote, Side, Trade
from ..protocol.binance._encode import encode_quote, encode_trade
from ..protocol.okx._encode import encode_quote as okx_quote
from ..protocol.okx._encode import encode_trade as okx_trade
from ..sources import RecordingWriter

__all__ = ["PAIR_SAMPLE_NAME", "PAIR_VENUES", "generate_pair", "pair_frames"]

PAIR_SAMPLE_NAME = "binance-okx-btcusdt-sample.txt.gz"
#: The venues of the two-venue sample, leader first.
PAIR_VENUES = ("binance", "okx")
_START_NS = 1_723_161_600_000_000_000  # 2024-08-09T00:00:00Z
_LOT = Decimal("0.00001")
_TICKS = {"binance": Decimal("0.01"), "okx": Decimal("0.1")}
_LATENCY_NS = {"binance": (1_000_000, 4_000_000), "okx": (3_000_000, 12_000_000)}


def generate_pair(path: str | Path, *, seconds: float = 600.0, seed: int = 5,
                  start_price: float = 61_000.0) -> dict[str, int]:
    """Write a two-venue recording of ``seconds``; returns the frames per venue."""
    meta = {"venues": {venue: {"venue": venue, "symbols": ["BTC-USDT"], "backfill": False}
                       for venue in PAIR_VENUES},
            "generator": f"botkit._pair_sample seed={seed}"}
    counts = dict.fromkeys(PAIR_VENUES, 0)
    with RecordingWriter(path, meta) as out:
        for recv, venue, frame in pair_frames(seconds=seconds, seed=seed, start_price=start_price):
            out.write(recv, venue.encode() + b" " + frame)
            counts[venue] += 1
    return counts


def pair_frames(*, seconds: float = 600.0, seed: int = 5,
                start_price: float = 61_000.0) -> Iterator[tuple[int, str, bytes]]:
    """``(receive ns, venue, frame)`` of both venues, merged by receive time."""
    streams: dict[str, list[tuple[int, bytes]]] = {venue: [] for venue in PAIR_VENUES}
    for venue, recv, frame in _events(seconds, seed, start_price):
        streams[venue].append((recv, frame))
    merged = heapq.merge(*([(recv, i, venue, frame) for i, (recv, frame) in enumerate(stream)]
                           for venue, stream in streams.items()))
    for recv, _, venue, frame in merged:
        yield recv, venue, frame


def _events(seconds: float, seed: int, start_price: float) -> Iterator[tuple[str, int, bytes]]:
    rng = random.Random(seed)
    t_ns = _START_NS
    end_ns = _START_NS + int(seconds * 1e9)
    leader = start_price
    follower = start_price
    basis = 0.0
    tau_s = 0.6
    busy = False
    last_recv = dict.fromkeys(PAIR_VENUES, t_ns)
    trade_ids = {"binance": 3_735_683_259, "okx": 521_930_112}
    quote_ids = {"binance": 50_093_239_212, "okx": 0}
    sides = {"binance": Side.BUY, "okx": Side.BUY}

    def received(venue: str, sent_ns: int) -> int:
        low, high = _LATENCY_NS[venue]
        last_recv[venue] = max(last_recv[venue] + 1_000, sent_ns + rng.randint(low, high))
        return last_recv[venue]

    while t_ns < end_ns:
        step_ns = max(1_000, int(rng.expovariate(14.0) * 1e9))
        t_ns += step_ns
        dt = step_ns / 1e9
        if rng.random() < 0.002:
            busy = not busy
        leader *= math.exp(rng.gauss(0, (0.00012 if busy else 0.00004) * math.sqrt(dt * 14)))
        if rng.random() < dt / 30:  # a jump on the leader: the follower is behind for a while
            leader *= 1 + rng.choice((-1, 1)) * rng.uniform(0.0025, 0.006)
            tau_s = rng.uniform(0.3, 1.2)
        basis += -basis * min(1.0, dt / 20) + rng.gauss(0, 0.00002 * math.sqrt(dt * 14))
        follower += (leader * (1 + basis) - follower) * (1 - math.exp(-dt / tau_s))
        venue = "binance" if rng.random() < 0.6 else "okx"
        mid = leader if venue == "binance" else follower
        tick = _TICKS[venue]
        ticks = round(mid / float(tick))
        spread = 1 if rng.random() < 0.85 else rng.randint(2, 5)
        bid, ask = (ticks - spread // 2) * tick, (ticks - spread // 2 + spread) * tick
        symbol = "BTC-USDT"
        if rng.random() < 0.3:  # a burst of trades at the touch, the aggressor side persistent
            if rng.random() < 0.3:
                sides[venue] = Side.SELL if sides[venue] is Side.BUY else Side.BUY
            side = sides[venue]
            for _ in range(1 + int(rng.expovariate(0.8)) if rng.random() < 0.3 else 1):
                trade_ids[venue] += 1
                size = Decimal(round(rng.lognormvariate(-5.0, 1.3), 5)).quantize(_LOT) or _LOT
                recv = received(venue, t_ns)
                trade = Trade(venue, symbol, ask if side is Side.BUY else bid, size, side, trade_ids[venue],
                              t_ns // 1_000_000 * 1_000_000, recv, "BTCUSDT" if venue == "binance" else symbol)
                yield venue, recv, encode_trade(trade) if venue == "binance" else okx_trade(trade).encode()
        quote_ids[venue] += rng.randint(1, 6)
        recv = received(venue, t_ns)
        quote = Quote(venue, symbol, bid, _size(rng), ask, _size(rng), quote_ids[venue] if venue == "binance" else -1,
                      0 if venue == "binance" else t_ns // 1_000_000 * 1_000_000, recv,
                      "BTCUSDT" if venue == "binance" else symbol)
        yield venue, recv, encode_quote(quote) if venue == "binance" else okx_quote(quote).encode()


def _size(rng: random.Random) -> Decimal:
    return Decimal(round(rng.lognormvariate(-1.0, 1.0), 5)).quantize(_LOT) or _LOT
