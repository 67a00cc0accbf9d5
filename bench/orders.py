"""Order latency: ``self.buy()`` in a strategy hook -> the order frame written on the
trading socket, live against ``botkit exchange-sim --trading`` (another process, loopback).

The strategy sends an IOC buy far below the market every few trades (it expires at
once: no balance moves), stamping the time just before ``buy()``; the broker's
``on_written`` hook stamps the write. HMAC signs every request; an Ed25519 key logs
the session on, so requests go unsigned.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

API_KEY = "bench" + "k" * 59
SECRET = "bench" + "s" * 59


def _strategy(stamps: list[int], written: list[int], every: int, total: int):
    import botkit

    class Sender(botkit.Strategy):
        symbols = ("BTCUSDT",)

        def __init__(self) -> None:
            self.n = 0

        def on_trade(self, trade: botkit.Trade) -> None:
            self.n += 1
            if self.n % every == 0 and len(stamps) < total and len(stamps) == len(written):
                stamps.append(time.perf_counter_ns())
                self.buy("0.001", trade.price / 2, ioc=True)

    return Sender()


async def _session(url: str, env: dict[str, str], total: int) -> list[float]:
    import botkit
    from botkit._clock import LiveClock
    from botkit.live._broker import BinanceBroker
    from botkit.live._keys import load_credentials
    from botkit.sources._websocket import WebSocketSource

    stamps: list[int] = []
    written: list[int] = []

    def on_written() -> None:
        if len(written) < len(stamps):
            written.append(time.perf_counter_ns())

    clock = LiveClock()
    broker = BinanceBroker(load_credentials(env), url.replace("/stream", "/ws-api/v3"), ["BTC-USDT"], clock,
                           on_written=on_written)
    strategy = _strategy(stamps, written, 3, total)
    engine = botkit.Engine(strategy, WebSocketSource(url, venue="binance", end_on_normal_close=True),
                           broker=broker, clock=clock, risk=botkit.RiskLimits(max_orders_per_second=100_000))
    with anyio.move_on_after(120):
        await engine.run()
    return sorted((w - s) / 1000 for s, w in zip(stamps, written, strict=False))


def _measure(env: dict[str, str], data: str, total: int) -> list[float]:
    sim = subprocess.Popen([sys.executable, "-m", "botkit", "exchange-sim", "--trading", "--data", data,
                            "--speed", "0", "--balance", "USDT=100000000", "--orders-per-10s", "1000000"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, env={**os.environ, **env})
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().strip()
        return anyio.run(_session, url, env, total, backend="trio")
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def run(total: int = 2_000) -> list[tuple[str, float, str]]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from botkit.sim import sample_path

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pem = Path(tmp) / "bench.pem"
        pem.write_bytes(Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                                     NoEncryption()))
        keys = {"hmac": {"BOTKIT_BINANCE_API_KEY": API_KEY, "BOTKIT_BINANCE_API_SECRET": SECRET},
                "ed25519 session": {"BOTKIT_BINANCE_API_KEY": API_KEY, "BOTKIT_BINANCE_PRIVATE_KEY": str(pem)}}
        for name, env in keys.items():
            lat = _measure(env, str(sample_path()), total)
            if not lat:
                rows.append((f"orders: buy() -> frame written ({name})", float("nan"), "no order measured"))
                continue
            p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            rows.append((f"orders: buy() -> frame written ({name})", p99,
                         f"us p99 (p50 {p50:.0f} us, {len(lat)} orders; target p99 < 200)"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(*row)
