"""Recordings with a real feed's mix of messages, generated at any size from the shape of
the real captures, and the book-reading strategy the real-mix rows run.

- ``spot``: the real 2024 Binance BTCUSDT capture's mix (``../shared/data/
  hftbacktest-binance-2024``): bookTicker 68%, trade 24%, depth@100ms 8%, a diff
  carrying 1-71 levels (36 on average), about half of them removals, most within 100
  ticks of the top; a REST snapshot of 5,000 levels per side after the first diff.
- ``futures``: a USD-M depth@0ms feed, where deltas dominate: depthUpdate 70% (1-6
  levels each, linked by ``pu``), bookTicker 20%, aggTrade 10%.

Every frame is what the venue sends (combined-stream envelopes, the venue's decimals),
the book never crosses, and every id chains, so the replay's sequencing and book sync
take their normal path.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from botkit.sources import RecordingWriter

BOOK_READER = """
import botkit


class BookReader(botkit.Strategy):
    \"\"\"Reads the engine's book on every delta (best levels, imbalance over 5 levels);
    reads every quote; counts every trade.\"\"\"

    channels = ("quotes", "trades", "books")
    n = 0
    leaning = 0

    def on_book(self, event):
        book = self.order_book(event.symbol)
        if book.best_bid() and book.best_ask():
            self.leaning += book.imbalance(5) > 0

    def on_quote(self, quote):
        self.n += quote.ask_price > quote.bid_price

    def on_trade(self, trade):
        self.n += 1
"""

#: (share of bookTicker, share of trades, levels per diff: low, high), the rest depth.
_MIXES = {"spot": (0.68, 0.24, 1, 71), "futures": (0.20, 0.10, 1, 6)}
_DEPTH = 5_000


class _Feed:
    """The venue's true book (integer ticks -> size text) and its ids."""

    def __init__(self, kind: str, seed: int) -> None:
        self.kind = kind
        self.rng = random.Random(seed)
        self.spot = kind == "spot"
        self.tick = 0.01 if self.spot else 0.1
        self.mid = 6_100_000 if self.spot else 610_000  # BTC at 61,000, in ticks
        self.zero = "0.00000000" if self.spot else "0.000"
        self.bids = {self.mid - i: self._size() for i in range(1, _DEPTH + 1)}
        self.asks = {self.mid + i: self._size() for i in range(1, _DEPTH + 1)}
        self.update_id = 50_093_239_189
        self.depth_u = self.update_id
        self.trade_id = 3_735_683_259
        self.ms = 1_723_161_255_208
        self.stream = "btcusdt@depth@100ms" if self.spot else "btcusdt@depth@0ms"

    def _size(self) -> str:
        size = self.rng.lognormvariate(-2, 1.5)
        return f"{size:.8f}" if self.spot else f"{max(size, 0.001):.3f}"

    def _price(self, ticks: int) -> str:
        return f"{ticks / 100:.8f}" if self.spot else f"{ticks / 10:.1f}"

    def depth(self, low: int, high: int) -> bytes:
        rng = self.rng
        changes: tuple[list[list[str]], list[list[str]]] = ([], [])
        if rng.random() < 0.3:  # the price moves: the levels it crosses go
            step = rng.choice((-1, 1))
            self.mid += step
            side, gone = (self.asks, 1) if step > 0 else (self.bids, 0)
            if side.pop(self.mid, None) is not None:  # the one level the move can cross
                changes[gone].append([self._price(self.mid), self.zero])
        for _ in range(rng.randint(low, high)):
            bid = rng.random() < 0.5
            ticks = self.mid - rng.randint(1, 100) if bid else self.mid + rng.randint(1, 100)
            side = self.bids if bid else self.asks
            if rng.random() < 0.48 and ticks in side:
                del side[ticks]
                size = self.zero
            else:
                size = side[ticks] = self._size()
            changes[0 if bid else 1].append([self._price(ticks), size])
        self.update_id += rng.randint(1, 4)
        data: dict[str, object] = {"e": "depthUpdate", "E": self.ms, "s": "BTCUSDT"}
        if not self.spot:
            data["T"] = self.ms
        data.update({"U": self.depth_u + 1, "u": self.update_id})
        if not self.spot:
            data["pu"] = self.depth_u
        data.update({"b": changes[0], "a": changes[1]})
        self.depth_u = self.update_id
        return self._frame(self.stream, data)

    def quote(self) -> bytes:
        self.update_id += 1
        bid, ask = self.mid - 1, self.mid + 1
        while bid not in self.bids:
            bid -= 1
        while ask not in self.asks:
            ask += 1
        data: dict[str, object] = {"u": self.update_id, "s": "BTCUSDT", "b": self._price(bid), "B": self.bids[bid],
                                   "a": self._price(ask), "A": self.asks[ask]}
        if not self.spot:
            data = {"e": "bookTicker", **data, "T": self.ms, "E": self.ms}
        return self._frame("btcusdt@bookTicker", data)

    def trade(self) -> bytes:
        self.trade_id += 1
        buyer_maker = self.rng.random() < 0.5
        price = self._price(self.mid - 1 if buyer_maker else self.mid + 1)
        if self.spot:
            return self._frame("btcusdt@trade", {"e": "trade", "E": self.ms, "s": "BTCUSDT", "t": self.trade_id,
                                                 "p": price, "q": self._size(), "T": self.ms, "m": buyer_maker,
                                                 "M": True})
        return self._frame("btcusdt@aggTrade", {"e": "aggTrade", "E": self.ms, "a": self.trade_id, "s": "BTCUSDT",
                                                "p": price, "q": self._size(), "f": self.trade_id * 2,
                                                "l": self.trade_id * 2 + 1, "T": self.ms, "m": buyer_maker})

    def snapshot(self, last_update_id: int) -> bytes:
        body: dict[str, object] = {"lastUpdateId": last_update_id}
        if not self.spot:
            body.update({"E": self.ms, "T": self.ms})
        body["bids"] = [[self._price(t), self.bids[t]] for t in sorted(self.bids, reverse=True)]
        body["asks"] = [[self._price(t), self.asks[t]] for t in sorted(self.asks)]
        return json.dumps(body, separators=(",", ":")).encode()

    @staticmethod
    def _frame(stream: str, data: dict[str, object]) -> bytes:
        return json.dumps({"stream": stream, "data": data}, separators=(",", ":")).encode()


def make_mix_recording(path: Path, n: int, kind: str = "spot", seed: int = 1) -> dict[str, int]:
    """A recording of ``n`` frames (plus one snapshot line) with the ``kind`` mix;
    returns the frames written per kind."""
    quotes, trades, low, high = _MIXES[kind]
    feed = _Feed(kind, seed)
    rng = random.Random(seed + 1)
    counts = {"depth": 0, "quote": 0, "trade": 0}
    ts = 1_723_161_253_937_085_768
    with RecordingWriter(path, {"venue": "binance" if kind == "spot" else "binance-futures"}) as out:
        # The first diff, then the REST snapshot it straddles (the documented sync order).
        before = feed.snapshot(feed.depth_u)
        out.write(ts, feed.depth(low, high))
        out.write(ts + 1, before)
        counts["depth"] += 1
        for _ in range(n - 1):
            ts += rng.randint(20_000, 2_000_000)
            feed.ms = ts // 1_000_000 + 1_271
            draw = rng.random()
            if draw < quotes:
                out.write(ts, feed.quote())
                counts["quote"] += 1
            elif draw < quotes + trades:
                out.write(ts, feed.trade())
                counts["trade"] += 1
            else:
                out.write(ts, feed.depth(low, high))
                counts["depth"] += 1
    return counts
