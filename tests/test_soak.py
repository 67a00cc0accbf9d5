"""The lossless-feed soak, short version: 50 faults of every kind, on loopback."""

from __future__ import annotations

import anyio
import pytest

from botkit.cli._soak import KINDS, format_report, run_soak, verdict

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


async def test_fifty_faults_lose_nothing() -> None:
    with anyio.fail_after(120):
        report = await run_soak(50, seed=3, every=300, speed=40)
    text = format_report(report)
    assert verdict(report) == [], text
    assert report["faults injected"] == 50, text
    assert set(report["faults by kind"]) == set(KINDS)
    assert report["missing"] == report["duplicates"] == report["out-of-order"] == 0
    assert report["trades delivered"] == report["trades sent"] > 1_000
    assert report["trades backfilled"] > 0  # the market went on during outages
    assert report["reconnects"] >= report["faults by kind"]["drop"] + report["faults by kind"]["close"]
    assert report["stale detections"] >= report["faults by kind"]["stall"]
    assert report["rest over the limit"] == 0
    assert report["book updates checked"] > 1_000 and report["book mismatches"] == 0
    assert "missing: 0" in text.splitlines()



def test_rate_limiter_budget_retry_after_and_ban() -> None:
    from botkit.protocol._ratelimit import RestLimiter

    s = 1_000_000_000
    limiter = RestLimiter(100, ban_s=120)
    assert limiter.reserve(60, 0) == 0.0
    assert limiter.reserve(40, 1 * s) == 0.0
    wait = limiter.reserve(1, 2 * s)
    assert 57.9 < wait <= 58.0  # until the first request leaves the 60 s window
    assert limiter.reserve(1, 61 * s) == 0.0
    limiter.on_response(429, {"retry-after": "7"}, 61 * s)
    assert limiter.reserve(1, 62 * s) == pytest.approx(6.0)
    limiter.on_response(418, {}, 70 * s)
    assert limiter.reserve(1, 71 * s) == pytest.approx(119.0)
    limiter.on_response(418, {"retry-after": "10"}, 200 * s)
    assert limiter.reserve(1, 201 * s) == pytest.approx(239.0)  # repeated bans double
    limiter.on_response(200, {"x-mbx-used-weight-1m": "100"}, 500 * s)
    assert limiter.reserve(1, 500 * s) > 0  # the venue's own count is respected
