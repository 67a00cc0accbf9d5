"""``botkit soak``: the live path against the simulator under N injected faults.

Everything runs in one event loop on loopback: the simulator (market going on while the
client is away, REST with request-weight limits), the WebSocket source with backfill,
the engine and a counting strategy. It prints one ``name: value`` per line and says
whether the lossless guarantee held.
"""

from __future__ import annotations

import random
import resource
import time
from collections import deque
from typing import Any

import anyio

from .._engine import Engine
from .._events import BookDelta, BookSnapshot, ConnectionState, FeedStatus, Trade
from .._strategy import Strategy
from ..protocol._book import OrderBook
from ..protocol._ratelimit import RestLimiter
from ..protocol._reconnect import ReconnectPolicy
from ..sim import market_frames

__all__ = ["KINDS", "run_soak"]

KINDS = ("drop", "stall", "garbage", "gap", "refuse", "429", "close")
_S = 1_000_000_000


class _Counter(Strategy):
    """Records every trade id, checks the engine's book against the venue's, times the
    outages."""

    channels = ("trades", "books")

    def __init__(self, venue_books: dict[tuple[str, int], int]) -> None:
        self.ids: list[int] = []
        self.book: OrderBook | None = None
        self.venue_books = venue_books
        self.book_checks = 0
        self.book_mismatches = 0
        self.down_at: int | None = None
        self.recoveries: list[float] = []
        self.backfilled = 0

    def on_trade(self, trade: Trade) -> None:
        self.ids.append(trade.trade_id)

    def on_book(self, book: BookSnapshot | BookDelta) -> None:
        # The engine's book (what strategies read) against the venue's at the same update
        # id: every resync and every diff after it must reproduce it exactly.
        self.book = self.order_book(book.symbol)
        if self.book is None:
            return
        expected = self.venue_books.get((book.symbol, self.book.last_update_id))
        if expected is not None:
            self.book_checks += 1
            self.book_mismatches += hash(self.book.levels()) != expected

    def on_status(self, status: FeedStatus) -> None:
        self.backfilled += status.backfilled
        now = time.monotonic_ns()
        if status.state is ConnectionState.DOWN and self.down_at is None:
            self.down_at = now
        elif status.state is ConnectionState.LIVE and self.down_at is not None and not status.backfilled:
            self.recoveries.append((now - self.down_at) / _S)
            self.down_at = None


async def run_soak(faults: int, *, seed: int = 1, every: int = 500, speed: float = 40.0) -> dict[str, Any]:
    """Run the soak and return its figures (see :func:`format_report`)."""
    from ..sim import ExchangeSimulator
    from ..sources._websocket import WebSocketSource

    # The market is generated as it goes, endlessly; it ends a quiet tail after the
    # last planned fault, so everything can catch up before the books are compared.
    market = market_frames(seed=seed, depth=True)
    plan = [KINDS[i % len(KINDS)] for i in range(faults)]
    random.Random(seed).shuffle(plan)
    policy = ReconnectPolicy(
        backoff_base_s=0.02, backoff_cap_s=0.5, healthy_after_s=2.0, idle_timeout_s=0.25,
        pong_timeout_s=0.25, connect_timeout_s=3.0, max_attempts_per_minute=600,
    )
    sim = ExchangeSimulator(market, speed=speed, plan=plan, plan_every=every, pause_when_idle=False,
                            stall_timeout_s=2.0,
                            rest_weight_limit=6_000, refuse_count=2, storm_size=3)
    source = WebSocketSource(sim.listen(), venue="binance", policy=policy, end_on_normal_close=True,
                             snapshot_limit=100, limiter=RestLimiter(5_000), rng=random.Random(seed),
                             drain_timeout_s=60.0)
    sim.book_history = {}
    strategy = _Counter(sim.book_history)
    started = time.monotonic()
    async with anyio.create_task_group() as nursery:
        await nursery.start(sim.serve)
        summary = await Engine(strategy, source).run()
        nursery.cancel_scope.cancel()
    elapsed = time.monotonic() - started
    sent = [row[0] for row in sim.trade_history]
    got = strategy.ids
    delivered = set(got)
    venue_book = sim.books.get("BTC-USDT")
    return {
        "faults planned": faults,
        "faults injected": sum(sim.stats.faults.values()),
        "faults by kind": dict(sorted(sim.stats.faults.items())),
        "reconnects": summary.reconnects,
        "connection attempts": source.attempts,
        "max attempts in any minute": _max_per_minute(source.attempt_times),
        # The soak's policy is compressed (20 ms back-off, 600 attempts a minute) so that N
        # faults fit in minutes; a run's default is 20 a minute (docs/live-feed.md).
        "attempts allowed per minute (soak policy)": policy.max_attempts_per_minute,
        "trades sent": len(sent),
        "trades delivered": len(got),
        "trades backfilled": strategy.backfilled,
        "duplicates": len(got) - len(delivered),
        "missing": len(set(sent) - delivered),
        "out-of-order": sum(1 for a, b in zip(got, got[1:], strict=False) if b <= a),
        # Trade-id gaps backfill fills are not gaps; what is left here was lost for good.
        "trade gaps left unfilled": source.decoder.trades.gaps,
        # Depth diffs the `gap` fault withheld: each makes the book resync from a snapshot.
        "book gaps resynced": source.decoder.book_gaps,
        "parse errors": summary.parse_errors,
        "stale detections": summary.stale_detections,
        "book equal to simulator": (venue_book is not None and strategy.book is not None
                                    and strategy.book.levels() == venue_book.levels()),
        "book updates checked": strategy.book_checks,
        "book mismatches": strategy.book_mismatches,
        "rest requests": sim.stats.rest_requests,
        "rest 429 from storms": sim.stats.storm_429,
        "rest over the limit": sim.stats.limit_exceeded,
        "rest max weight per minute": sim.stats.max_weight_per_minute,
        "rest weight limit": sim.rest_weight_limit,
        "max recovery s": round(max(strategy.recoveries, default=0.0), 3),
        "crashes": 0,
        "peak memory MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "elapsed s": round(elapsed, 1),
    }


def verdict(report: dict[str, Any]) -> list[str]:
    """The targets that did not hold (empty: the guarantee held)."""
    failures = [key for key in ("missing", "duplicates", "out-of-order", "rest over the limit", "book mismatches")
                if report[key]]
    if report["faults injected"] < report["faults planned"]:
        failures.append("faults injected (the data ran out first)")
    if not report["book equal to simulator"]:
        failures.append("book equal to simulator")
    if report["max attempts in any minute"] > report["attempts allowed per minute (soak policy)"]:
        failures.append("max attempts in any minute")
    return failures


def format_report(report: dict[str, Any]) -> str:
    """One ``name: value`` per line."""
    return "\n".join(f"{key}: {value}" for key, value in report.items())


def _max_per_minute(times: list[int]) -> int:
    window: deque[int] = deque()
    best = 0
    for t in times:
        window.append(t)
        while window[0] <= t - 60 * _S:
            window.popleft()
        best = max(best, len(window))
    return best
