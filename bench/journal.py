"""What the journal costs: per order live, and a backtest with ``--journal``.

* Orders: the order latency run of :mod:`bench.orders` (HMAC key) without and with a
  journal, taking turns; with one, each order's intent is committed to SQLite before its
  frame is written, so the commit is inside ``buy() -> write``. The added p99 is the
  difference of the two runs' p99 (target < 1 ms), beside the commit's own cost.
* Backtest: the scalper on 1M generated trades without and with ``--journal`` (every
  order, update and fill written), taking turns; the ratio of the two rates (target:
  within 10%).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from . import backtest, orders


def _order_rows(total: int, speed: float, repeat: int) -> list[tuple[str, float, str]]:
    from botkit._gc import fewer_gc_passes
    from botkit.journal import open_for_reading, read_journal
    from botkit.sim import sample_path

    env = {"BOTKIT_BINANCE_API_KEY": orders.API_KEY, "BOTKIT_BINANCE_API_SECRET": orders.SECRET}
    without, with_journal, commits = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            path = str(Path(tmp) / f"orders-{i}.journal")
            with fewer_gc_passes():
                plain = orders._measure(env, str(sample_path()), total, speed)[0]
                journaled = orders._measure(env, str(sample_path()), total, speed, journal=path)[0]
            if not plain or not journaled:
                return [("journal: orders measured", float("nan"), "no order measured")]
            without.append((_p99(plain), plain[len(plain) // 2]))
            with_journal.append((_p99(journaled), journaled[len(journaled) // 2]))
            conn = open_for_reading(path)
            commits.append(read_journal(conn).orders)
            conn.close()
    p99_without, p99_with = (statistics.median(p99 for p99, _ in runs) for runs in (without, with_journal))
    p50_without, p50_with = (statistics.median(p50 for _, p50 in runs) for runs in (without, with_journal))
    return [
        ("orders: buy() -> write (hmac), no journal", p99_without,
         f"us p99 (p50 {p50_without:.0f} us), medians of {repeat} runs"),
        ("orders: buy() -> write (hmac), journal", p99_with,
         f"us p99 (p50 {p50_with:.0f} us), medians of {repeat} runs, {statistics.median(commits):.0f} intents "
         "journaled a run"),
        ("journal: added per order, p99", p99_with - p99_without,
         f"us (p50 {p50_with - p50_without:+.0f} us; target p99 < 1,000)"),
    ]


def _commit_row(n: int = 2_000) -> tuple[str, float, str]:
    """One intent committed alone (what happens before each order frame), in-process."""
    import time
    from decimal import Decimal

    from botkit import Side
    from botkit._orders import Order, OrderType, TimeInForce
    from botkit.journal import Journal

    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "commit.journal")
        journal.start_run(mode="live", strategy="Bench", venue="binance", endpoint="-", id_prefix="bk-",
                          restored=False, starting_cash={}, ts_ns=0)
        times = []
        for i in range(n):
            order = Order(f"bk-{i}", "binance", "BTC-USDT", Side.BUY, OrderType.LIMIT, Decimal("0.001"),
                          Decimal("30000"), TimeInForce.GTC, False, i)
            started = time.perf_counter_ns()
            journal.intent(order)
            journal.sent(order.client_id, i)
            journal.flush()
            times.append((time.perf_counter_ns() - started) / 1000)
        journal.close()
    times.sort()
    return ("journal: one order intent committed (synchronous=NORMAL, WAL)", _p99(times),
            f"us p99 (p50 {times[len(times) // 2]:.0f} us, {n} commits)")


def _backtest_rows(n: int, repeat: int) -> list[tuple[str, float, str]]:
    root = Path(__file__).resolve().parent.parent
    scalper = root / "strategies" / "scalper.py"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / f"trades-{n}.txt.gz"
        backtest.make_recording(data, n)
        plain, journaled = [], []
        for i in range(repeat):  # taking turns: a slow spell of the machine falls on both
            plain.append(backtest._backtest_once(scalper, data))
            journaled.append(backtest._backtest_once(scalper, data, ["--journal", str(Path(tmp) / f"{i}.journal")]))
    rate, _, fills = backtest._median(plain)
    rate_journal, _, _ = backtest._median(journaled)
    return [
        (f"backtest {n:,} trades, scalper, no journal", rate, f"trades/s, {fills:,} fills"),
        (f"backtest {n:,} trades, scalper, --journal", rate_journal, "trades/s (every order, update, fill written)"),
        ("backtest: --journal / no journal", rate_journal / rate, "ratio (target >= 0.90)"),
    ]


def _p99(sorted_values: list[float]) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * 0.99))]


def run(total: int = 1_000, speed: float = 50.0, repeat: int = 5, trades: int = 1_000_000) -> list[tuple[str, float, str]]:
    return [_commit_row(), *_order_rows(total, speed, repeat), *_backtest_rows(trades, 5)]


if __name__ == "__main__":
    for row in run():
        print(*row)
