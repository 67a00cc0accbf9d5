"""The dashboard's cost: a live run's event rate with the page open and streaming, against
the same run without ``--dashboard``, taking turns; the page's load to first full render;
one update's work (what the bot spends 4 times a second).

Simulator and bot are pinned to different cores (as in ``bench.live``); the page is a
headless Chromium (Playwright) where one is installed, else a bare stream reader.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .live import _pinned

STRATEGY = """
import time, botkit

class CountAndTrade(botkit.Strategy):
    symbols = ("BTCUSDT",)
    channels = ("trades",)
    n = 0
    total = TOTAL
    started = 0.0

    def on_trade(self, trade):
        self.n += 1
        if self.n == self.total // 10:  # the rate over the last 90%: the page is open by then
            self.started = time.perf_counter()
        if self.n % 20_000 == 0:  # fills and a position for the page's tables
            (self.sell if self.position() > 0 else self.buy)("0.001")
        if self.n == self.total:
            import json
            print(json.dumps({"n": self.total - self.total // 10, "s": time.perf_counter() - self.started}),
                  flush=True)
            self.stop("all trades received")
"""

_START = re.compile(r"botkit: dashboard on (http://\S+?)/\?token=(\S+)")
_CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _once(data: Path, strategy: Path, dashboard: bool, browser: Any) -> dict[str, Any]:
    sim = subprocess.Popen([sys.executable, "-m", "botkit", "exchange-sim", "--port", "0", "--data", str(data),
                            "--speed", "0", "--loop", "--batch-bytes", "32768"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=_pinned(0))
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().strip()
        args = [sys.executable, "-m", "botkit", "run", str(strategy), "--url", url, "--duration", "300", "-q"]
        if dashboard:
            args += ["--dashboard", "127.0.0.1:0"]
        bot = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_pinned(1))
        assert bot.stdout is not None and bot.stderr is not None
        result: dict[str, Any] = {}
        if dashboard:
            found = None
            while found is None:
                line = bot.stderr.readline()
                if not line:
                    raise RuntimeError("the bot ended before its dashboard started")
                found = _START.search(line)
            threading.Thread(target=bot.stderr.read, daemon=True).start()
            result.update(_watch(found.group(1), found.group(2), browser))
        out = bot.stdout.read()
        bot.wait(timeout=300)
        page = result.pop("page", None)
        if page is not None:
            page.close()
        result.update(json.loads(next(ln for ln in out.splitlines() if ln.startswith("{"))))
        return result
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def _watch(base: str, token: str, browser: Any) -> dict[str, Any]:
    """Open the page (or a bare stream reader) and keep it streaming until the run ends."""
    if browser is None:
        import httpx

        def read() -> None:
            try:
                with httpx.stream("GET", base + "/api/stream", params={"token": token}, timeout=300) as answer:
                    for _ in answer.iter_lines():
                        pass
            except httpx.HTTPError:
                pass  # the run ended

        threading.Thread(target=read, daemon=True).start()
        return {"viewer": "stream reader"}
    page = browser.new_page()
    page.goto(f"{base}/?token={token}")
    start = time.monotonic()
    while not page.evaluate("window.botkit && window.botkit.rendered"):
        page.wait_for_timeout(20)
        if time.monotonic() - start > 30:
            raise RuntimeError("the page never rendered")
    return {"viewer": "headless Chromium", "render_ms": page.evaluate("window.botkit.firstRenderMs"), "page": page}


def _update_cost() -> float:
    """One update (sample, snapshot, JSON) after the scalper's run on the sample, in us."""
    import anyio
    import msgspec

    from botkit import RunConfig, build_run
    from botkit.dashboard._state import StateView

    engine = build_run(RunConfig("strategies/scalper.py", "backtest", handle_signals=False)).engine
    anyio.run(engine.run)
    view = StateView(engine)
    times = []
    for _ in range(200):
        start = time.perf_counter()
        view.sample()
        msgspec.json.encode(view.snapshot())
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1e6


def run(trades: int = 2_000_000, runs_each: int = 3) -> list[tuple[str, float, str]]:
    from .backtest import make_recording

    rows: list[tuple[str, float, str]] = []
    chromium = _chromium()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "live.txt.gz"
        make_recording(data, trades)
        strategy = Path(tmp) / "count.py"
        strategy.write_text(STRATEGY.replace("TOTAL", str(trades)))
        without, with_board = [], []
        if chromium is not None:
            from playwright.sync_api import sync_playwright

            driver = sync_playwright().start()
            browser = driver.chromium.launch(executable_path=chromium, args=_CHROMIUM_ARGS)
        else:
            driver = browser = None
        try:
            for _ in range(runs_each):  # taking turns: the machine's drift hits both alike
                without.append(_once(data, strategy, False, None))
                with_board.append(_once(data, strategy, True, browser))
        finally:
            if browser is not None:
                browser.close()
                driver.stop()
    rates = [(a["n"] / a["s"], b["n"] / b["s"]) for a, b in zip(without, with_board, strict=True)]
    viewer = with_board[0]["viewer"]
    median = sorted(b / a for a, b in rates)[len(rates) // 2]
    rows.append(("dashboard: live events/s with the page open / without", median,
                 f"ratio, median of {len(rates)} (target >= 0.95; viewer: {viewer}; each run: "
                 + ", ".join(f"{b:,.0f} / {a:,.0f}" for a, b in rates) + ")"))
    renders = [r["render_ms"] for r in with_board if "render_ms" in r]
    if renders:
        rows.append(("dashboard: page load to first full render (loopback, mid-run)", max(renders),
                     "ms, the slowest of the runs (target < 1000): " + ", ".join(f"{r:.0f}" for r in renders)))
    rows.append(("dashboard: one update (sample, snapshot, JSON) after the scalper's sample run", _update_cost(),
                 "us, 4 a second"))
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for name, value, unit in run():
        print(f"{name:<70}  {value:>12,.2f}  {unit}")
