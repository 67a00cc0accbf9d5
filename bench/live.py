"""Live path: frames/s from the simulator over loopback WebSocket, and added latency.

Each client gets a fresh ``botkit exchange-sim --speed 0 --batch-bytes 32768``
subprocess serving the same recording flat out, in writes of about 32 KB: one write per
frame would make the simulator, not the client, the bottleneck (it then capped every
client near 44k frames/s). The clients: botkit's full live path into a counting
strategy; botkit's bare WebSocket connection (its transport limit); a bare
trio-websocket client (the transport botkit used first); the ``websockets`` asyncio
client.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

BOTKIT_CLIENT = """
import gc, json, time, botkit

class Count(botkit.Strategy):
    channels = ("trades",)
    n = 0
    first = last = 0
    lat = []
    pauses = []
    total = TOTAL

    def on_start(self):
        started = [0]

        def timing(phase, info):  # every collection's pause, to tell GC from the rest
            if phase == "start":
                started[0] = time.perf_counter_ns()
            else:
                self.pauses.append((info["generation"], time.perf_counter_ns() - started[0]))
        gc.callbacks.append(timing)

    def on_trade(self, trade):
        now = time.time_ns()
        self.n += 1
        self.first = self.first or trade.ts_recv
        self.last = now
        self.lat.append(now - trade.ts_recv)
        if self.n == self.total:
            self.stop("all trades received")

    def on_stop(self):
        lat = sorted(self.lat)
        pauses = [ns for _, ns in self.pauses]
        print(json.dumps({"n": self.n - 1, "s": (self.last - self.first) / 1e9,
                          "p50": lat[len(lat) // 2] / 1e3, "p99": lat[int(len(lat) * 0.99)] / 1e3,
                          "p999": lat[int(len(lat) * 0.999)] / 1e3, "max": lat[-1] / 1e3,
                          "gc": len(pauses), "gc_full": sum(g == 2 for g, _ in self.pauses),
                          "gc_max_us": max(pauses, default=0) / 1e3}), flush=True)
"""

BARE_BOTKIT_CLIENT = """
import sys, time, json, trio
from botkit.sources._wsconn import connect
async def main(url, n):
    ws = await connect(url)
    got = len(await ws.receive())
    start = time.perf_counter()
    while got < n:
        got += len(await ws.receive())
    print(json.dumps({"n": got - 1, "s": time.perf_counter() - start}))
trio.run(main, sys.argv[1], int(sys.argv[2]))
"""

TRIO_CLIENT = """
import sys, time, json, trio, trio_websocket
async def main(url, n):
    async with trio_websocket.open_websocket_url(url) as ws:
        await ws.get_message()
        start = time.perf_counter()
        for _ in range(n - 1):
            await ws.get_message()
        print(json.dumps({"n": n - 1, "s": time.perf_counter() - start}))
trio.run(main, sys.argv[1], int(sys.argv[2]))
"""

WEBSOCKETS_CLIENT = """
import sys, time, json, asyncio, websockets
async def main(url, n):
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()
        start = time.perf_counter()
        for _ in range(n - 1):
            await ws.recv()
        print(json.dumps({"n": n - 1, "s": time.perf_counter() - start}))
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def _with_sim(data: Path, client: list[str], repeat: int = 3) -> dict:
    """The run with the median rate of ``repeat`` runs, each against a fresh simulator."""
    runs = sorted((_once(data, client) for _ in range(repeat)), key=lambda r: r["n"] / r["s"])
    return runs[len(runs) // 2]


def _pinned(cpu: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` pinning a child to ``cpu``, where the machine has more than one
    (simulator and client on different cores: neither steals the other's)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return None
    chosen = {cpus[cpu % len(cpus)]}
    return lambda: os.sched_setaffinity(0, chosen)


def start_simulator(data: Path) -> tuple[subprocess.Popen[str], str]:
    """``exchange-sim`` serving ``data`` flat out in 32 KB writes, on the first core, and its URL."""
    sim = subprocess.Popen([sys.executable, "-m", "botkit", "exchange-sim", "--port", "0", "--data", str(data),
                            "--speed", "0", "--loop", "--batch-bytes", "32768"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=_pinned(0))
    assert sim.stdout is not None
    return sim, sim.stdout.readline().strip()


def _once(data: Path, client: list[str]) -> dict:
    sim, url = start_simulator(data)
    try:
        out = subprocess.run([c.replace("URL", url) for c in client], capture_output=True, text=True, timeout=600,
                             preexec_fn=_pinned(1))
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][0]
        return json.loads(line)
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def run(trades: int = 200_000, runs_each: int = 5) -> list[tuple[str, float, str]]:
    from .backtest import make_recording

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "live.txt.gz"
        make_recording(data, trades)
        strategy = Path(tmp) / "count.py"
        strategy.write_text(BOTKIT_CLIENT.replace("TOTAL", str(trades)))
        # Five runs each of botkit's live path and the websockets client, taking turns;
        # every run's tail is reported, as the target is for every run.
        botkit_client = [sys.executable, "-m", "botkit", "run", str(strategy), "--url", "URL", "--duration", "120",
                         "-q", "--json"]
        have_websockets = importlib.util.find_spec("websockets") is not None
        runs, theirs = [], []
        for _ in range(runs_each):
            runs.append(_once(data, botkit_client))
            if have_websockets:
                theirs.append(_once(data, [sys.executable, "-c", WEBSOCKETS_CLIENT, "URL", str(trades)]))
        ours = sorted(runs, key=lambda r: r["n"] / r["s"])[len(runs) // 2]
        rows.append(("live: botkit sim -> WebSocketSource -> on_trade", ours["n"] / ours["s"],
                     f"frames/s (median of {len(runs)} runs, pinned: {_pinned(0) is not None})"))
        for i, run in enumerate(runs, 1):
            rows.append((f"live: run {i}: added latency p50 / p99 / p99.9 / max", run["p99"],
                         f"us p99; p50 {run['p50']:.0f}, p99.9 {run['p999']:.0f}, max {run['max']:.0f} us; "
                         f"{run['gc']} collections ({run['gc_full']} full), longest {run['gc_max_us']:.0f} us "
                         "(targets p99 < 200, p99.9 < 1000)"))
        mine = _with_sim(data, [sys.executable, "-c", BARE_BOTKIT_CLIENT, "URL", str(trades)])
        rows.append(("live: bare botkit WebSocket connection (its transport limit)", mine["n"] / mine["s"],
                     "frames/s"))
        if importlib.util.find_spec("trio_websocket") is None:
            rows.append(("live: bare trio-websocket client", float("nan"), "trio-websocket not installed"))
        else:
            bare = _with_sim(data, [sys.executable, "-c", TRIO_CLIENT, "URL", str(trades)])
            rows.append(("live: bare trio-websocket client", bare["n"] / bare["s"], "frames/s"))
        if not have_websockets:
            rows.append(("live: websockets asyncio client", float("nan"), "websockets not installed"))
        else:
            other = sorted(theirs, key=lambda r: r["n"] / r["s"])[len(theirs) // 2]
            rows.append(("live: websockets asyncio client", other["n"] / other["s"], "frames/s (median)"))
            ratios = [(a["n"] / a["s"]) / (b["n"] / b["s"]) for a, b in zip(runs, theirs)]
            rows.append(("live: botkit / websockets client, lowest of the runs side by side", min(ratios),
                         "ratio (target >= 1 in every run): " + ", ".join(f"{r:.2f}" for r in ratios)))
    return rows
