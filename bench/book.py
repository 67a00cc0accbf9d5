"""Order book micro-benchmarks at Binance's full snapshot depth (5,000 levels per side):
botkit's ``OrderBook`` beside what a user would reach for, on the same book and the
same changes, in one run.

- best bid and ask: the best level, ``(price, size)``, one call per side;
- top 10: the best 10 levels of BOTH sides, as ``(price, size)`` pairs;
- one level update: a stream of changes shaped like the real 2024 Binance BTCUSDT diffs
  (about half removals, the rest new sizes and new levels within 50 ticks of the top),
  timed per level. botkit takes them as the deltas it receives (36 levels each, the
  real mean); the others level by level through their own API;
- delta, then read: each 36-level delta followed by a read of the best bid and ask,
  what a strategy quoting off the book does, per delta. A book that sorts lazily on
  the next read (cryptofeed's) pays for its cheap updates here.

The rivals: the plain dict book botkit had before (``max``/``sorted`` on every read),
``sortedcontainers.SortedDict``, cryptofeed's C ``order-book`` package, and
NautilusTrader's ``OrderBook`` (L2, its own ``Price``/``Quantity`` built beforehand).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botkit import BookDelta, BookSnapshot, OrderBook

LEVELS = 5_000
_MID = Decimal("61000.00")
_TICK = Decimal("0.01")


def _best_of(fn: Callable[[], Any], repeats: int = 5) -> float:
    """Microseconds per call: the best of ``repeats`` timings of enough calls to take
    about 50 ms (a micro-benchmark: the best run is the one the machine did not disturb)."""
    calls = 10
    while _timed_calls(fn, calls) < 0.05 and calls < 1_000_000:
        calls *= 4
    return min(_timed_calls(fn, calls) for _ in range(repeats)) / calls * 1e6


def _timed_calls(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls // 10):
        fn(); fn(); fn(); fn(); fn(); fn(); fn(); fn(); fn(); fn()  # noqa: E702
    return time.perf_counter() - start


def _snapshot() -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    size = Decimal("1.25000")
    return ([(_MID - i * _TICK, size) for i in range(1, LEVELS + 1)],
            [(_MID + i * _TICK, size) for i in range(1, LEVELS + 1)])


def _changes(n: int, seed: int = 7) -> list[tuple[bool, Decimal, Decimal]]:
    """``(is_bid, price, size)``, size 0 removes; the book keeps its depth on average."""
    rng = random.Random(seed)
    sizes = [Decimal(f"{rng.lognormvariate(-1, 1.2):.5f}") or Decimal("0.00001") for _ in range(64)]
    out = []
    for _ in range(n):
        bid = rng.random() < 0.5
        offset = rng.randint(1, 50) * _TICK
        price = _MID - offset if bid else _MID + offset
        out.append((bid, price, Decimal(0) if rng.random() < 0.48 else rng.choice(sizes)))
    return out


def _botkit(bids: list, asks: list, changes: list) -> dict[str, Callable[[], Any]]:
    book = OrderBook()
    book.reset(BookSnapshot("binance", "BTC-USDT", tuple(bids), tuple(asks), 1, 0, 0))
    deltas = [BookDelta("binance", "BTC-USDT", tuple((p, s) for b, p, s in chunk if b),
                        tuple((p, s) for b, p, s in chunk if not b), 0, 0, 0, 0) for chunk in _chunks(changes)]
    return {"best": lambda: (book.best_bid(), book.best_ask()), "top": lambda: book.levels(10),
            "apply": book.apply, "deltas": deltas}


def _chunks(changes: list) -> list[list]:
    return [changes[start:start + 36] for start in range(0, len(changes), 36)]


def _mapping_apply(b: Any, a: Any) -> Callable[[list], None]:
    """Level by level into two mappings with ``dict``'s API (a dict, a SortedDict)."""
    def apply(chunk: list) -> None:
        for bid, price, size in chunk:
            side = b if bid else a
            if size:
                side[price] = size
            else:
                side.pop(price, None)
    return apply


def _dict_book(bids: list, asks: list, changes: list) -> dict[str, Callable[[], Any]]:
    b, a = dict(bids), dict(asks)
    apply = _mapping_apply(b, a)

    def best() -> Any:
        return (max(b), b[max(b)]), (min(a), a[min(a)])
    return {"best": best, "top": lambda: (sorted(b.items(), reverse=True)[:10], sorted(a.items())[:10]),
            "apply": apply, "deltas": _chunks(changes)}


def _sorted_containers(bids: list, asks: list, changes: list) -> dict[str, Callable[[], Any]] | str:
    try:
        from sortedcontainers import SortedDict
    except ImportError:
        return "sortedcontainers not installed"
    b, a = SortedDict(bids), SortedDict(asks)
    apply = _mapping_apply(b, a)
    return {"best": lambda: (b.peekitem(-1), a.peekitem(0)),
            "top": lambda: (b.items()[-1:-11:-1], a.items()[:10]), "apply": apply, "deltas": _chunks(changes)}


def _cryptofeed(bids: list, asks: list, changes: list) -> dict[str, Callable[[], Any]] | str:
    try:
        from order_book import OrderBook as CBook
    except ImportError:
        return "order-book not installed"
    book = CBook()
    for price, size in bids:
        book.bids[price] = size
    for price, size in asks:
        book.asks[price] = size
    b, a = book.bids, book.asks

    def apply(chunk: list) -> None:
        for bid, price, size in chunk:
            side = b if bid else a
            if size:
                side[price] = size
            elif price in side:
                del side[price]
    ten = range(10)
    return {"best": lambda: (b.index(0), a.index(0)),
            "top": lambda: ([b.index(i) for i in ten], [a.index(i) for i in ten]), "apply": apply, "deltas": _chunks(changes)}


def _nautilus(bids: list, asks: list, changes: list) -> dict[str, Callable[[], Any]] | str:
    try:
        from nautilus_trader.model.book import OrderBook as NBook
        from nautilus_trader.model.data import BookOrder
        from nautilus_trader.model.enums import BookType, OrderSide
        from nautilus_trader.model.identifiers import InstrumentId
        from nautilus_trader.model.objects import Price, Quantity
    except ImportError:
        return "nautilus-trader not installed"
    book = NBook(InstrumentId.from_str("BTCUSDT.BINANCE"), BookType.L2_MBP)

    def order(bid: bool, price: Decimal, size: Decimal) -> Any:
        return BookOrder(OrderSide.BUY if bid else OrderSide.SELL, Price.from_str(str(price)),
                         Quantity.from_str(f"{size:.5f}"), 0)
    for bid, levels in ((True, bids), (False, asks)):
        for price, size in levels:
            book.add(order(bid, price, size), 0)
    orders = [[(order(bid, price, size), bool(size)) for bid, price, size in chunk] for chunk in _chunks(changes)]

    def apply(chunk: list) -> None:
        for o, keep in chunk:
            if keep:
                book.update(o, 0)
            else:
                book.delete(o, 0)

    def best() -> Any:
        return (book.best_bid_price(), book.best_bid_size()), (book.best_ask_price(), book.best_ask_size())
    return {"best": best, "top": lambda: (book.bids()[:10], book.asks()[:10]), "apply": apply, "deltas": orders}


def run(changes: int = 36_000) -> list[tuple[str, float, str]]:
    bids, asks = _snapshot()
    stream = _changes(changes)
    rows: list[tuple[str, float, str]] = []
    for name, make in (("botkit OrderBook", _botkit), ("dict book (botkit before)", _dict_book),
                       ("sortedcontainers SortedDict", _sorted_containers), ("cryptofeed order-book (C)", _cryptofeed),
                       ("NautilusTrader OrderBook (L2)", _nautilus)):
        ops = make(bids, asks, stream)
        if isinstance(ops, str):
            rows.append((f"book 5k levels: {name}", float("nan"), ops))
            continue
        best = _best_of(ops["best"]) / 2
        top = _best_of(ops["top"])
        # Each library replays the stream on a fresh book, a few times: the best run.
        update = min(_replay(make(bids, asks, stream), read=False) for _ in range(5)) / len(stream)
        read_after = min(_replay(make(bids, asks, stream), read=True) for _ in range(5)) / len(ops["deltas"])
        target = " (targets <= 0.15 / 3.0 / 1.0)" if name.startswith("botkit") else ""
        rows.append((f"book 5k levels: {name}: best bid or ask", best, "us per side" + target))
        rows.append((f"book 5k levels: {name}: top 10 of both sides", top, "us"))
        rows.append((f"book 5k levels: {name}: one level update", update, "us"))
        rows.append((f"book 5k levels: {name}: 36-level delta, then best bid and ask", read_after, "us"))
    return rows


def _replay(ops: dict[str, Any] | str, *, read: bool) -> float:
    """Microseconds to apply every delta of ``ops`` (reading the best levels after each)."""
    assert not isinstance(ops, str)
    apply, best, deltas = ops["apply"], ops["best"], ops["deltas"]
    start = time.perf_counter()
    if read:
        for delta in deltas:
            apply(delta)
            best()
    else:
        for delta in deltas:
            apply(delta)
    return (time.perf_counter() - start) * 1e6


if __name__ == "__main__":
    for row in run():
        print(f"{row[0]:<72} {row[1]:>10.3f}  {row[2]}")
