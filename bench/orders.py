"""Order latency, live against the trading simulator in another process (loopback).

The strategy sends an IOC buy far below the market every few trades (it expires at
once: no balance moves), stamping the time just before ``buy()``. Two figures per key:

* ``buy() -> write``: until the signed, framed order is handed to the socket (the
  broker's ``on_write`` hook): botkit's own added latency;
* ``buy() -> read by the venue``: until the simulator reads it (it stamps each
  ``order.place``; ``time.perf_counter_ns()`` is the same monotonic clock across
  processes on Linux): adds the send system call, the loopback hop and the
  simulator's scheduling, an upper bound.

HMAC signs every request; an Ed25519 key logs the session on, so requests go unsigned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

API_KEY = "bench" + "k" * 59
SECRET = "bench" + "s" * 59


# The simulator, with a stamp per order as it is read; prints them as JSON when stopped.
SIM = r"""
import json, os, signal, sys, time
import anyio
from decimal import Decimal
from botkit.live._keys import load_credentials
from botkit.sim import ExchangeSimulator
from botkit.sim._trading import SimAccount, TradingVenue

stamps = {}

class Stamped(TradingVenue):
    async def _request(self, session, raw):
        if b'"order.place"' in raw:
            start = raw.find(b'"newClientOrderId":"') + 20
            stamps[raw[start:raw.find(b'"', start)].decode()] = time.perf_counter_ns()
        await super()._request(session, raw)

account = SimAccount.from_credentials(load_credentials(os.environ), {"USDT": Decimal(10**9)})
venue = Stamped([account], orders_per_10s=10**9)
sim = ExchangeSimulator(sys.argv[1], speed=float(sys.argv[2]), trading=venue, end_when_done=False)

async def main():
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:
            print(await tg.start(sim.serve), flush=True)
            async for _ in signals:
                tg.cancel_scope.cancel()

anyio.run(main, backend="trio")
print(json.dumps(stamps), flush=True)
"""


def _strategy(stamps: dict[str, int], every: int, total: int):
    import botkit

    class Sender(botkit.Strategy):
        symbols = ("BTCUSDT",)

        def __init__(self) -> None:
            self.n = 0

        def on_trade(self, trade: botkit.Trade) -> None:
            self.n += 1
            if self.n % every == 0 and len(stamps) < total:
                sent = time.perf_counter_ns()
                stamps[self.buy("0.001", trade.price / 2, ioc=True)] = sent

    return Sender()


async def _session(url: str, env: dict[str, str], total: int, journal: str | None) -> tuple[dict[str, int], list[int]]:
    import botkit
    from botkit._clock import LiveClock
    from botkit.live._broker import BinanceBroker
    from botkit.live._keys import load_credentials
    from botkit.sources._websocket import WebSocketSource

    stamps: dict[str, int] = {}
    writes: list[int] = []
    clock = LiveClock()

    def on_write() -> None:
        writes.append(time.perf_counter_ns())

    broker = BinanceBroker(load_credentials(env), url.replace("/stream", "/ws-api/v3"), ["BTC-USDT"], clock,
                           on_write=on_write)
    strategy = _strategy(stamps, 3, total)
    engine = botkit.Engine(strategy, WebSocketSource(url, venue="binance", end_on_normal_close=True),
                           broker=broker, clock=clock, risk=botkit.RiskLimits(max_orders_per_second=100_000),
                           journal=None if journal is None else botkit.Journal(journal))
    async with anyio.create_task_group() as tg:
        async def enough() -> None:
            while len(stamps) < total:
                await anyio.sleep(0.2)
            await anyio.sleep(0.5)  # the last answers
            engine.stop("enough orders")

        tg.start_soon(enough)
        with anyio.move_on_after(120):
            await engine.run()
        tg.cancel_scope.cancel()
    return stamps, writes


def _measure(env: dict[str, str], data: str, total: int, speed: float,
             journal: str | None = None) -> tuple[list[float], list[float]]:
    """Sorted latencies in us: (buy() -> write, buy() -> read by the venue); with a
    journal at ``journal`` when given (its intent is committed before each write)."""
    sim = subprocess.Popen([sys.executable, "-c", SIM, data, str(speed)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, env={**os.environ, **env})
    assert sim.stdout is not None
    try:
        url = sim.stdout.readline().strip()
        sent, writes = anyio.run(_session, url, env, total, journal, backend="trio")
    finally:
        sim.terminate()
    read = json.loads(sim.communicate(timeout=20)[0].strip().splitlines()[-1])
    # Each order's write: the first one after its buy() (orders go out one per hook).
    starts = sorted(sent.values())
    written, i = [], 0
    for t in starts:
        while i < len(writes) and writes[i] < t:
            i += 1
        if i < len(writes):
            written.append((writes[i] - t) / 1000)
    return sorted(written), sorted((read[cid] - t) / 1000 for cid, t in sent.items() if cid in read)


def run(total: int = 2_000, speed: float = 50.0) -> list[tuple[str, float, str]]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from botkit._gc import fewer_gc_passes
    from botkit.sim import sample_path

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pem = Path(tmp) / "bench.pem"
        pem.write_bytes(Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                                     NoEncryption()))
        keys = {"hmac": {"BOTKIT_BINANCE_API_KEY": API_KEY, "BOTKIT_BINANCE_API_SECRET": SECRET},
                "ed25519 session": {"BOTKIT_BINANCE_API_KEY": API_KEY, "BOTKIT_BINANCE_PRIVATE_KEY": str(pem)}}
        for name, env in keys.items():
            with fewer_gc_passes():  # what `botkit run` does
                written, read = _measure(env, str(sample_path()), total, speed)
            for what, lat, note in (("write", written, "target p99 < 200"), ("read by the venue", read, "upper bound")):
                if not lat:
                    rows.append((f"orders: buy() -> {what} ({name})", float("nan"), "no order measured"))
                    continue
                p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
                rows.append((f"orders: buy() -> {what} ({name})", p99,
                             f"us p99 (p50 {p50:.0f} us, {len(lat)} orders; {note})"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(*row)
