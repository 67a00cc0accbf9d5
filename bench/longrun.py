"""A long live run: ``botkit run`` against ``botkit exchange-sim`` at about 10k frames/s
with reconnect faults (a close every 100k frames, a stall every 1M: the client sees
the silence, reconnects and backfills), reporting the
client's RSS at start, after the first minute (the warm-up) and at the end.

``python -m bench.longrun [--minutes 30]``; ``python -m bench --long`` includes it. The
target: less than 5 MB of growth after the first minute of a 30-minute run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

RSS_CLIENT = """
import json, botkit

def rss_mb():
    with open("/proc/self/status") as status:
        return int([l for l in status if l.startswith("VmRSS")][0].split()[1]) / 1024

class LongRun(botkit.Strategy):
    channels = ("trades", "quotes")
    n = 0

    def on_start(self):
        self.samples = [(0, rss_mb())]
        self.set_timer("rss", 10, repeat=True)

    def on_timer(self, name):
        self.samples.append((len(self.samples) * 10, rss_mb()))

    def on_trade(self, trade):
        self.n += 1

    def on_quote(self, quote):
        self.n += 1

    def on_stop(self):
        self.samples.append((len(self.samples) * 10, rss_mb()))
        print(json.dumps({"events": self.n, "samples": self.samples}), flush=True)
"""


def run(minutes: float = 30, speed: int = 3_000) -> list[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        strategy = Path(tmp) / "long_run.py"
        strategy.write_text(RSS_CLIENT)
        # The endless generated market, about 4 frames/s at its own pace: x3,000 is
        # about 10k frames/s (trades and quotes), for as long as the run lasts.
        sim = subprocess.Popen([sys.executable, "-m", "botkit", "exchange-sim", "--port", "0", "--market",
                                "--speed", str(speed), "--fault", "close@100000", "--fault", "stall@1000000",
                                "-q"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert sim.stdout is not None
            url = sim.stdout.readline().strip()
            out = subprocess.run([sys.executable, "-m", "botkit", "run", str(strategy), "--url", url, "--duration",
                                  str(int(minutes * 60)), "-q", "--json"], capture_output=True, text=True,
                                 timeout=minutes * 60 + 300)
        finally:
            sim.terminate()
            sim.wait(timeout=10)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    result, summary = json.loads(lines[0]), json.loads(lines[-1])
    samples = result["samples"]
    start = samples[0][1]
    warm = next((mb for s, mb in samples if s >= 60), samples[-1][1])
    end = samples[-1][1]
    peak = max(mb for _, mb in samples)
    reconnects = summary.get("reconnects", summary.get("feed", {}).get("reconnects", "?"))
    return [(f"long run {minutes:g} min, ~10k frames/s, reconnect faults: RSS growth after the first minute",
             end - warm, f"MB (start {start:.1f}, after 1 min {warm:.1f}, end {end:.1f}, peak {peak:.1f} MB; "
             f"{result['events']:,} events ({result['events'] / (minutes * 60):,.0f}/s), reconnects {reconnects}; "
             "target < 5)")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.longrun", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30)
    args = parser.parse_args()
    for name, value, unit in run(args.minutes):
        print(f"{name}  {value:.2f}  {unit}")
