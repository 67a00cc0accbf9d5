"""Bus + engine: events/s from a source through the bus to a counting strategy."""

from __future__ import annotations

import time
from decimal import Decimal

import anyio

import botkit

from ._util import median_rate


def _trades(n: int) -> list[botkit.Trade]:
    return [botkit.Trade("binance", "BTCUSDT", Decimal("61000.5"), Decimal("0.01"), botkit.Side.BUY, i, i, i)
            for i in range(1, n + 1)]


class _Sync(botkit.Strategy):
    channels = ("trades",)
    n = 0

    def on_trade(self, trade: botkit.Trade) -> None:
        self.n += 1


class _Async(botkit.Strategy):
    channels = ("trades",)
    n = 0

    async def on_trade(self, trade: botkit.Trade) -> None:
        self.n += 1


def run(n: int = 500_000) -> list[tuple[str, float, str]]:
    events = _trades(n)
    rows = []
    for backend in ("trio", "asyncio"):
        for cls in (_Sync, _Async):
            def once(cls: type = cls, backend: str = backend) -> int:
                strategy = cls()
                anyio.run(botkit.Engine(strategy, botkit.MemorySource(events, batch_size=1024)).run, backend=backend)
                assert strategy.n == n
                return n

            rate = median_rate(once, repeats=3)
            kind = "async def" if cls is _Async else "def"
            rows.append((f"bus: memory source -> {kind} on_trade ({backend})", rate, f"events/s ({1e9 / rate:.0f} ns/event)"))
    return rows


if __name__ == "__main__":
    start = time.perf_counter()
    for row in run():
        print(row)
