"""The dashboard's API on a running bot: the token on every request, actions by POST only
and journaled, the stream, and the refusals at start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from botkit.journal import Journal

from .conftest import MAKER, bot, botkit_env, maker_run

SECTIONS = ("status", "portfolio", "orders", "fills", "risk", "equity", "snapshot")


def test_every_request_needs_the_token() -> None:
    with bot(maker_run()) as run:
        assert run.start_line == f"botkit: dashboard on {run.base}/?token={run.token}"
        paths = ["/", "/api/", *(f"/api/{name}" for name in SECTIONS), "/api/stream", "/api/no-such-thing",
                 "/favicon.ico"]
        for path in paths:
            for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": run.token}):
                answer = httpx.get(run.base + path, headers=headers, timeout=10)
                assert answer.status_code == 401, (path, headers)
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert run.token not in answer.text
            assert httpx.get(run.base + path, params={"token": "x" + run.token}, timeout=10).status_code == 401
        for action in ("pause", "kill", "cancel-all"):
            assert httpx.post(f"{run.base}/api/actions/{action}", timeout=10).status_code == 401
        status = run.get("/api/status").json()
        assert status["paused"] is False and status["killed"] == ""
        # The token as a header or in the query; the page takes it in the query (a link).
        assert run.get("/api/status").status_code == 200
        assert httpx.get(run.base + "/api/status", params={"token": run.token}, timeout=10).status_code == 200
        page = httpx.get(run.base + "/", params={"token": run.token}, timeout=10)
        assert page.status_code == 200 and "<title>botkit dashboard</title>" in page.text
        assert run.token not in page.text  # the page reads it from its own address
        assert "script-src 'sha256-" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
        assert "Running on" not in "".join(run.stderr)  # no server banner, no request lines with ?token=


def test_get_cannot_act() -> None:
    with bot(maker_run()) as run:
        before = run.until(lambda s: len(s["orders"]) >= 1)
        for action in ("pause", "resume", "cancel-all", "kill"):
            assert run.get(f"/api/actions/{action}").status_code == 405
        assert run.post("/api/actions/explode").status_code == 404
        status = run.get("/api/status").json()
        risk = run.get("/api/risk").json()
        assert status["paused"] is False and status["killed"] == "" and risk["active_halts"] == []
        after = run.get("/api/orders").json()
        assert {o["client_id"] for o in before["orders"]} <= {o["client_id"] for o in after}  # none cancelled


def test_sections_say_what_the_run_holds() -> None:
    with bot(maker_run()) as run:
        state = run.until(lambda s: s["status"]["fills"] >= 3 and len(s["orders"]) >= 1)
        status = run.get("/api/status").json()
        assert (status["mode"], status["strategy"], status["venues"]) == ("paper", "RestingMaker", ["binance"])
        assert status["events"] > 0 and status["events_by_type"]["Trade"] > 0 and status["uptime_s"] > 0
        feed = status["feeds"][0]
        assert feed["venue"] == "binance" and feed["state"] == "live" and feed["connected"] is True
        assert feed["frames"] > 0 and 0 <= feed["last_message_age_s"] < 30
        portfolio = run.get("/api/portfolio").json()
        assert portfolio["quote_asset"] == "USDT" and portfolio["starting_equity"] == "10000"
        assert set(portfolio["cash"]["binance"]) >= {"USDT"}
        fills = run.get("/api/fills", params={"limit": 2}).json()
        assert len(fills) == 2 and fills[0]["ts"] <= fills[1]["ts"] and fills[0]["symbol"] == "BTC-USDT"
        assert run.get("/api/fills", params={"limit": "0"}).status_code == 400
        orders = run.get("/api/orders").json()
        assert orders and all(o["type"] == "limit" and o["side"] == "buy" for o in orders)
        equity = run.get("/api/equity").json()
        assert equity["symbol"] == "BTC-USDT" and len(equity["equity"]) >= 1 and len(equity["equity"][0]) == 2
        assert set(run.get("/api/snapshot").json()) == {"status", "portfolio", "orders", "fills", "risk"}
        assert set(run.get("/api/").json()["endpoints"]) >= {"GET /api/status", "POST /api/actions/kill"}
        assert state["risk"]["limits"]["max_open_orders"] == 200


def test_the_stream_sends_the_series_once_then_what_is_new() -> None:
    with bot(maker_run()) as run, httpx.stream("GET", run.base + "/api/stream", headers=run.auth,
                                                timeout=30) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        messages = []
        lines = answer.iter_lines()
        for line in lines:
            if line.startswith("event: "):
                assert line == "event: state"
            if line.startswith("data: "):
                messages.append(json.loads(line[6:]))
                if len(messages) == 6:
                    break
    first, *rest = messages
    assert first["series"]["reset"] is True and set(first["state"]) >= {"status", "orders", "risk"}
    numbers = [m["update"] for m in messages]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    for earlier, later in zip(messages, rest, strict=False):
        if later["update"] == earlier["update"] + 1:
            assert later["series"]["reset"] is False and len(later["series"]["equity"]) == 1


def test_the_stream_ends_with_the_runs_final_state() -> None:
    with bot(maker_run("--duration", "3")) as run:
        with httpx.stream("GET", run.base + "/api/stream", headers=run.auth, timeout=30) as answer:
            messages = [json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: ")]
        assert run.proc.wait(timeout=30) == 0
    assert [m["final"] for m in messages] == [False] * (len(messages) - 1) + [True]
    assert messages[-1]["state"]["status"]["stopping"] == "duration 3 s reached"


def test_actions_do_what_they_say_and_are_journaled(tmp_path: Path) -> None:
    journal = tmp_path / "maker.journal"
    with bot(maker_run("--journal", str(journal))) as run:
        run.until(lambda s: len(s["orders"]) >= 2)
        assert run.post("/api/actions/pause").json() == {"action": "pause", "paused": True}
        paused = run.until(lambda s: s["status"]["rejections"].get("trading halted", 0) >= 2)
        assert paused["status"]["paused"] is True and "paused" in paused["risk"]["active_halts"]
        open_now = {o["client_id"] for o in run.get("/api/orders").json()}  # paused: no new ones
        cancelled = run.post("/api/actions/cancel-all").json()
        assert cancelled["action"] == "cancel-all" and cancelled["cancelled"] == len(open_now) >= 2
        run.until(lambda s: s["orders"] == [])
        assert run.post("/api/actions/resume").json() == {"action": "resume", "paused": False}
        run.until(lambda s: len(s["orders"]) >= 1)  # trading goes on after a cancel-all
        killed = run.post("/api/actions/kill").json()
        assert killed == {"action": "kill", "killed": "manual (dashboard)"}
        final = run.until(lambda s: s["orders"] == [] and s["status"]["killed"] != "")
        assert final["risk"]["halted"] is True and final["status"]["paused"] is False
        output = run.stop()
    assert "kill switch (manual (dashboard))" in output
    events = Journal(journal).read().risk_events
    seen = [(e["kind"], e["reason"]) for e in events]
    assert ("halt", "paused") in seen and ("lifted", "paused") in seen
    assert ("cancel_all", f"dashboard: {len(open_now)} orders") in seen
    assert ("kill", "manual (dashboard)") in seen
    assert [kind for kind, _ in seen].index("halt") < [kind for kind, _ in seen].index("kill")


def _refused(*args: str, env: dict[str, str] | None = None, config: str = "", tmp: Path | None = None) -> str:
    argv = [sys.executable, "-m", "botkit", "run", MAKER, *args]
    if config:
        assert tmp is not None
        (tmp / "botkit.toml").write_text(config)
        argv += ["--config", str(tmp / "botkit.toml")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env or botkit_env())
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("botkit: error: "), lines
    return lines[0]


def test_beyond_loopback_without_a_token_is_refused_at_start(tmp_path: Path) -> None:
    line = _refused("--dashboard", "0.0.0.0:0")
    assert "needs a token you set" in line and "--dashboard-token-env" in line
    assert "needs a token you set" in _refused(config='[dashboard]\nlisten = "0.0.0.0:0"\n', tmp=tmp_path)
    assert "is not set" in _refused("--dashboard", "0.0.0.0:0", "--dashboard-token-env", "BOTKIT_NO_SUCH_VAR")
    short = _refused("--dashboard", "0.0.0.0:0", "--dashboard-token-env", "BOTKIT_T",
                     env=botkit_env(BOTKIT_T="tiny-tok"))
    assert "at least 16" in short and "tiny-tok" not in short
    assert "never goes in the config file" in _refused(config='[dashboard]\nlisten = "0"\ntoken = "abc"\n',
                                                         tmp=tmp_path)
    assert "expected [HOST:]PORT" in _refused("--dashboard", "localhost:http")
    assert "add --dashboard" in _refused("--dashboard-token-env", "X")


def test_a_busy_port_is_one_line() -> None:
    with bot(maker_run()) as run:
        port = run.base.rsplit(":", 1)[1]
        assert "cannot listen there" in _refused("--dashboard", f"127.0.0.1:{port}")


def test_a_token_the_operator_set_is_never_printed() -> None:
    token = "operator-token-0123456789"
    env = botkit_env(BOTKIT_DASHBOARD_TOKEN=token)
    with bot(maker_run("--dashboard", "0.0.0.0:0", "--dashboard-token-env", "BOTKIT_DASHBOARD_TOKEN"), env) as run:
        assert run.token == "$BOTKIT_DASHBOARD_TOKEN"
        assert httpx.get(run.base.replace("0.0.0.0", "127.0.0.1") + "/api/status",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
        output = run.stop()
    assert token not in output


def test_a_backtest_refuses_the_dashboard_flag_but_not_the_config(tmp_path: Path) -> None:
    (tmp_path / "botkit.toml").write_text('[dashboard]\nlisten = "127.0.0.1:0"\n')
    done = subprocess.run([sys.executable, "-m", "botkit", "backtest", MAKER, "--config",
                           str(tmp_path / "botkit.toml"), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "dashboard on" not in done.stderr


@pytest.mark.parametrize("kind", ["hmac"])
def test_live_answers_hold_no_key_or_token(tmp_path: Path, kind: str) -> None:
    from tests.live.conftest import API_KEY, HMAC_SECRET

    env = botkit_env(BOTKIT_BINANCE_API_KEY=API_KEY, BOTKIT_BINANCE_API_SECRET=HMAC_SECRET)
    sim = subprocess.Popen([sys.executable, "-m", "botkit", "exchange-sim", "--trading", "--loop", "--speed", "5",
                            "--balance", "USDT=5000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().decode().strip()
        api = url.replace("/stream", "/ws-api/v3")
        args = [MAKER, "--live", "--url", url, "--api-url", api, "--journal", str(tmp_path / "live.journal"),
                "--dashboard", "127.0.0.1:0", "-q"]
        with bot(args, env) as run:
            state = run.until(lambda s: len(s["orders"]) >= 1 and s["status"]["fills"] >= 1)
            assert state["status"]["mode"] == "live"
            answers = [run.get(p).content for p in ("/", "/api/", *(f"/api/{n}" for n in SECTIONS))]
            with httpx.stream("GET", run.base + "/api/stream", headers=run.auth, timeout=30) as stream:
                answers.append(next(line for line in stream.iter_lines() if line.startswith("data: ")).encode())
            assert run.post("/api/actions/kill").json()["killed"] == "manual (dashboard)"
            run.until(lambda s: s["orders"] == [])
            for blob in answers:
                for secret in (API_KEY, HMAC_SECRET, run.token):
                    assert secret.encode() not in blob and secret[:16].encode() not in blob
    finally:
        sim.terminate()
        sim.communicate(timeout=20)
