"""The page in a real browser: Playwright driving Debian's Chromium, headless, against a
bot running on the shipped sample. The page loads, the charts draw, the tables fill, the
pause button stops new orders, the kill switch cancels the open ones, and the page stays
the same size as updates go by.

A screenshot of the page during the run goes to ``$BOTKIT_SCREENSHOT`` when set (the
closing note's), else into the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import BotRun, bot, maker_run

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e '.[test]'")
CHROMIUM = os.environ.get("BOTKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no Chromium on this machine (.ci/run installs Debian's: apt-get install chromium)",
                allow_module_level=True)

# The flags a closed network and a root user need (no sandbox, no calls home).
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _page(browser: Any, run: BotRun) -> Any:
    # The page's CSP forbids eval; Playwright's waits evaluate their predicates, so the
    # test's own context lifts it (the page itself is served with it, checked below).
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(f"{run.base}/?token={run.token}")
    return page


def _confirm(page: Any, button: str) -> None:
    page.click(f"#{button}")
    page.wait_for_selector("#confirm[open]")
    page.click("#confirm-ok")


def test_the_page_shows_the_run_and_its_buttons_act(browser: Any, tmp_path: Path) -> None:
    with bot(maker_run()) as run:
        page = _page(browser, run)
        assert "token=" not in page.url  # taken out of the address bar and the history
        page.wait_for_function("window.botkit.rendered && window.botkit.last.status.fills >= 3"
                               " && window.botkit.last.orders.length >= 1", timeout=60_000)
        # The charts drew: uPlot canvases with the series' points.
        page.wait_for_function("window.botkit.charts.equity.points() >= 3 && window.botkit.charts.price.points() >= 3",
                               timeout=30_000)
        assert page.locator("#equity-chart canvas").count() == 1 and page.locator("#price-chart canvas").count() == 1
        drawn = page.evaluate("""() => {
            const c = document.querySelector('#equity-chart canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let lit = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) lit++;
            return lit; }""")
        assert drawn > 500
        # The tables filled from the run.
        assert page.locator("#orders tbody tr td.buy").count() >= 1
        assert page.locator("#fills tbody tr").count() >= 3
        assert page.locator("#feeds tbody tr td.ok").inner_text() == "live"
        assert "RestingMaker on binance" in page.inner_text("#who")
        # No growth: once the fills table holds its 20 rows, the DOM stays the same size
        # however many updates go by (a few rows of orders, positions and halts come and go).
        page.wait_for_function("window.botkit.last.status.fills >= 25", timeout=60_000)
        nodes = page.evaluate("document.getElementsByTagName('*').length")
        start = page.evaluate("window.botkit.updates")
        page.wait_for_function(f"window.botkit.updates >= {start + 12}")
        assert abs(page.evaluate("document.getElementsByTagName('*').length") - nodes) <= 40
        shot = Path(os.environ.get("BOTKIT_SCREENSHOT") or tmp_path / "dashboard.png")
        page.screenshot(path=str(shot), full_page=True)  # mid-run, the tables full
        assert shot.stat().st_size > 10_000

        # Pause: a confirm step, then the API says paused and the strategy's orders are refused.
        page.click("#pause")
        page.wait_for_selector("#confirm[open]")
        page.click("#confirm-cancel")  # backing out changes nothing
        assert run.get("/api/status").json()["paused"] is False
        _confirm(page, "pause")
        page.wait_for_selector("#paused", state="visible")
        status = run.get("/api/status").json()
        assert status["paused"] is True
        accepted = status["orders"] - status["rejected"]
        page.wait_for_function("(window.botkit.last.status.rejections['trading halted'] || 0) >= 2"
                               " && window.botkit.last.status.events > %d" % (status["events"] + 50),
                               timeout=60_000)
        after = run.get("/api/status").json()
        assert after["orders"] - after["rejected"] == accepted  # not one new order went out
        assert page.is_disabled("#pause") and page.is_enabled("#resume")

        # The kill switch cancels the open orders, and the page says so.
        assert run.get("/api/orders").json()
        _confirm(page, "kill")
        page.wait_for_selector("#killed", state="visible")
        page.wait_for_function("window.botkit.last.orders.length === 0", timeout=60_000)
        assert page.locator("#orders tbody td.empty").count() == 1
        assert run.get("/api/orders").json() == []
        assert run.get("/api/risk").json()["killed"] == "manual (dashboard)"
        assert page.is_disabled("#kill")
        assert page.errors == []
        page.context.close()


def test_the_page_needs_the_token(browser: Any) -> None:
    with bot(maker_run()) as run:
        context = browser.new_context()
        page = context.new_page()
        answer = page.goto(run.base + "/")
        assert answer.status == 401
        page.goto(f"{run.base}/?token={run.token}")
        policy = page.evaluate("() => document.querySelectorAll('script').length")
        assert policy == 3  # uPlot, the charts, the page: inline, allowed by hash alone
        page.wait_for_selector("#link.on", timeout=30_000)  # the stream connected under the page's own CSP
        context.close()


def test_the_page_keeps_the_last_state_when_the_run_ends(browser: Any) -> None:
    with bot(maker_run("--duration", "4")) as run:
        page = _page(browser, run)
        page.wait_for_function("window.botkit.rendered")
        page.wait_for_selector("#link:text('run ended')", timeout=30_000)
        assert run.proc.wait(timeout=30) == 0
        assert page.is_disabled("#kill") and page.is_disabled("#pause")
        assert "duration 4 s reached" in page.inner_text("#who")
        assert page.errors == []
        page.context.close()


def test_the_report_draws_with_the_same_chart_code(browser: Any, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "report"
    scalper = Path(__file__).resolve().parents[2] / "strategies" / "scalper.py"
    done = subprocess.run([sys.executable, "-m", "botkit", "backtest", str(scalper), "--report", str(out),
                           "--json", "-q"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    fills = json.loads(done.stdout)["trading"]["fills"]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((out / "report.html").as_uri())
    page.wait_for_selector("#price-chart canvas")
    drawn = page.evaluate("""() => [...document.querySelectorAll('.chart canvas')].map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lit = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) lit++;
        return lit; })""")
    assert len(drawn) == 2 and min(drawn) > 500 and errors == []
    assert fills > 0 and page.locator("img[alt='equity, drawdown and fills']").count() == 1  # the PNG stays
    page.close()
