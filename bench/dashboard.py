"""The dashboard's cost: a live run's event rate with the page open and streaming, against
the same run without ``--dashboard``, taking turns; the page's load to first full render;
one update's work (what the bot spends 4 times a second).

Simulator and bot are pinned to different cores (as in ``bench.live``). Two viewers: a
reader of the stream (the bytes a page gets: what any viewer costs the bot), and, where
Chromium is installed, the page itself, headless, on the simulator's core. On a 2-core
machine the browser's own drawing competes with simulator and bot, so the first is the
bot's cost and the second what a browser on the same machine adds.
"""

from __future__ import annotations

import argparse
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

from .live import _pinned, start_simulator

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
            self.cpu = time.process_time()
        if self.n % 20_000 == 0:  # fills and a position for the page's tables
            (self.sell if self.position() > 0 else self.buy)("0.001")
        if self.n == self.total:
            import json
            print(json.dumps({"n": self.total - self.total // 10, "s": time.perf_counter() - self.started,
                              "cpu": time.process_time() - self.cpu}), flush=True)
            self.stop("all trades received")
"""

_START = re.compile(r"botkit: dashboard on (http://\S+?)/\?token=(\S+)")
_CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium(tmp: Path | None) -> str | None:
    """The browser to open the page in: the system's Chromium, with ``tmp`` a wrapper in
    it that runs it on the simulator's core."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    taskset = shutil.which("taskset")
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if found is None or taskset is None or len(cpus) < 2 or tmp is None:
        return found
    wrapper = tmp / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec {taskset} -c {cpus[0]} {found} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def _once(data: Path, strategy: Path, dashboard: bool, browser: Any) -> dict[str, Any]:
    sim, url = start_simulator(data)
    try:
        args = [sys.executable, "-m", "botkit", "run", str(strategy), "--url", url, "--duration", "300", "-q"]
        if dashboard:
            args += ["--dashboard", "127.0.0.1:0"]
        bot = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_pinned(1))
        assert bot.stdout is not None and bot.stderr is not None
        result: dict[str, Any] = {}
        if dashboard:
            result.update(_watch(*_dashboard_of(bot), browser))
        browser_cpu = _chromium_cpu()
        started = time.monotonic()
        out = bot.stdout.read()
        bot.wait(timeout=300)
        if browser is not None and dashboard:
            result["browser_cpu"] = (_chromium_cpu() - browser_cpu) / (time.monotonic() - started)
        page = result.pop("page", None)
        if page is not None:
            page.close()
        result.update(json.loads(next(ln for ln in out.splitlines() if ln.startswith("{"))))
        return result
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def _dashboard_of(bot: subprocess.Popen[str]) -> tuple[str, str]:
    """The base URL and token of ``bot``'s start line (the rest of its stderr is drained)."""
    assert bot.stderr is not None
    found = None
    while found is None:
        line = bot.stderr.readline()
        if not line:
            raise RuntimeError("the bot ended before its dashboard started")
        found = _START.search(line)
    threading.Thread(target=bot.stderr.read, daemon=True).start()
    return found.group(1), found.group(2)


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


def _chromium_cpu() -> float:
    """CPU seconds of every Chromium process so far (0 where psutil is missing)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if "chrom" in (proc.info["name"] or ""):
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1]
                                                                 + ordered[len(ordered) // 2]) / 2


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


def _pairs(data: Path, strategy: Path, browser: Any, pairs: int) -> tuple[list[dict], list[dict]]:
    """``pairs`` runs without and with the dashboard, taking turns (ABBA: the machine's
    drift hits both alike)."""
    without: list[dict] = []
    with_board: list[dict] = []
    for i in range(pairs):
        for board in ((False, True) if i % 2 == 0 else (True, False)):
            (with_board if board else without).append(_once(data, strategy, board, browser))
    return without, with_board


def _rows(viewer: str, without: list[dict], with_board: list[dict]) -> list[tuple[str, float, str]]:
    rates = [(a["n"] / a["s"], b["n"] / b["s"]) for a, b in zip(without, with_board, strict=True)]
    cpu = [(a["cpu"] / a["n"], b["cpu"] / b["n"]) for a, b in zip(without, with_board, strict=True)]
    return [
        (f"dashboard ({viewer}): live events/s with it / without", _median([b / a for a, b in rates]),
         f"ratio, median of {len(rates)} pairs (target >= 0.95; each pair: "
         + ", ".join(f"{b:,.0f} / {a:,.0f}" for a, b in rates) + ")"),
        (f"dashboard ({viewer}): the bot's CPU per event, without / with it", _median([a / b for a, b in cpu]),
         "ratio, median of the pairs (1: no cost; ns/event: "
         + ", ".join(f"{a * 1e9:,.0f} / {b * 1e9:,.0f}" for a, b in cpu) + ")"),
    ]


def run(trades: int = 1_500_000, pairs: int = 4, browser_view: bool = True) -> list[tuple[str, float, str]]:
    """Rows for a stream reader (what any viewer costs the bot: the bytes a page gets)
    and, where Chromium is installed, the page itself in a browser on this machine."""
    from .backtest import make_recording

    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        chromium = _chromium(Path(tmp))
        data = Path(tmp) / "live.txt.gz"
        make_recording(data, trades)
        strategy = Path(tmp) / "count.py"
        strategy.write_text(STRATEGY.replace("TOTAL", str(trades)))
        rows += _rows("stream reader", *_pairs(data, strategy, None, pairs))
        if browser_view and chromium is None:
            rows.append(("dashboard (headless Chromium): page open", float("nan"),
                         "no Chromium or playwright here: apt-get install chromium; pip install playwright"))
        elif browser_view:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=chromium, args=_CHROMIUM_ARGS)
                without, with_board = _pairs(data, strategy, browser, pairs)
                browser.close()
            rows += _rows("page in headless Chromium on the simulator's core", without, with_board)
            renders = [r["render_ms"] for r in with_board]
            rows.append(("dashboard: page load to first full render (loopback, mid-run)", max(renders),
                         "ms, the slowest of the runs (target < 1000): " + ", ".join(f"{r:.0f}" for r in renders)))
            rows.append(("dashboard: the page's own CPU in headless Chromium (software rendering)",
                         _median([r["browser_cpu"] for r in with_board]) * 100,
                         "% of a core while it streams, median of the runs"))
    rows.append(("dashboard: one update (sample, snapshot, JSON) after the scalper's sample run", _update_cost(),
                 "us, 4 a second"))
    return rows


def long_page(minutes: float = 30.0, every_s: float = 60.0) -> list[tuple[str, float, str]]:
    """The page open through a long paper run (the shipped sample at half its recorded
    pace: 30 minutes): the page's DOM size and JS heap, and the bot's RSS, every minute."""
    chromium = _chromium(None)
    if chromium is None:
        return [("dashboard: the page through a long run", float("nan"), "no Chromium or playwright here")]
    import psutil
    from playwright.sync_api import sync_playwright

    strategy = Path(__file__).resolve().parents[1] / "tests" / "dashboard" / "maker.py"
    bot = subprocess.Popen([sys.executable, "-m", "botkit", "run", str(strategy), "--speed", f"{15 / minutes:g}",
                            "--duration", str(minutes * 60), "--dashboard", "127.0.0.1:0", "-q"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base, token = _dashboard_of(bot)
    samples = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=_CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/?token={token}")
        started = time.monotonic()
        while bot.poll() is None:
            page.wait_for_timeout(every_s * 1000)
            if bot.poll() is not None:
                break
            try:
                rss = psutil.Process(bot.pid).memory_info().rss / 2**20
            except psutil.Error:
                break
            sample = page.evaluate("""() => ({nodes: document.getElementsByTagName('*').length,
                heap: performance.memory.usedJSHeapSize / 1048576, updates: window.botkit.updates,
                points: window.botkit.charts.equity.points(), render: window.botkit.renderMs})""")
            clicked = time.perf_counter()  # responsive: the confirm step opens at once, then backs out
            page.click("#cancel-all")
            page.wait_for_selector("#confirm[open]")
            sample["click_ms"] = (time.perf_counter() - clicked) * 1000
            page.click("#confirm-cancel")
            sample.update(minute=(time.monotonic() - started) / 60, rss=rss)
            samples.append(sample)
            print(f"  minute {sample['minute']:.1f}: {sample['updates']} updates, DOM {sample['nodes']} nodes, "
                  f"JS heap {sample['heap']:.1f} MB, chart points {sample['points']}, render {sample['render']:.1f} "
                  f"ms, click to dialog {sample['click_ms']:.0f} ms, bot RSS {rss:.1f} MB", flush=True)
        browser.close()
    bot.wait(timeout=60)
    first, last = samples[0], samples[-1]
    first_half, second = samples[: len(samples) // 2], samples[len(samples) // 2:]
    return [
        ("dashboard: the page's DOM after the first minute / at the end", last["nodes"] - first["nodes"],
         f"nodes more ({first['nodes']} -> {last['nodes']}, most {max(s['nodes'] for s in samples)}; "
         f"{last['updates']} updates over {last['minute']:.0f} min)"),
        ("dashboard: the page's JS heap, highest in the run's second half", max(s["heap"] for s in second),
         f"MB (first half {max(s['heap'] for s in first_half):.1f}: the collector's sawtooth, no trend); chart "
         f"points at most {max(s['points'] for s in samples)}"),
        ("dashboard: the page's work per update, first minute / end", last["render"],
         f"ms at the end ({first['render']:.1f} after the first minute); a click on a button to its confirm "
         f"step: at most {max(s['click_ms'] for s in samples):.0f} ms"),
        ("dashboard: the bot's RSS, first minute -> end", last["rss"] - first["rss"],
         f"MB more ({first['rss']:.1f} -> {last['rss']:.1f}; the embedded simulator keeps every trade it sent, for "
         "REST backfill: a run without the dashboard grows as fast)"),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--long", action="store_true", help="the page through a 30-minute run instead")
    parser.add_argument("--pairs", type=int, default=4, help="runs without and with the dashboard, each")
    parser.add_argument("--no-browser", action="store_true", help="the stream reader only")
    args = parser.parse_args()
    rows = long_page() if args.long else run(pairs=args.pairs, browser_view=not args.no_browser)
    for name, value, unit in rows:
        print(f"{name:<70}  {value:>12,.2f}  {unit}")
