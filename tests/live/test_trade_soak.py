"""The trading soak, short versions: execution faults of every kind, then orders, fills,
position and balances compared with the venue's."""

from __future__ import annotations

import subprocess
import sys

import anyio
import pytest

from botkit.cli._trade_soak import MISMATCH_KEYS, run_trade_soak
from botkit.sim._trading import EXECUTION_FAULTS


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
@pytest.mark.parametrize("seed", [2, 5])
async def test_every_counter_is_zero_after_faults_of_every_kind(seed: int) -> None:
    with anyio.fail_after(120):
        report = await run_trade_soak(240, 60, seed=seed)
    assert {k: report[k] for k in MISMATCH_KEYS} == dict.fromkeys(MISMATCH_KEYS, 0)
    assert report["execution_faults_injected"] == 60
    assert set(report["execution_faults_by_kind"]) == set(EXECUTION_FAULTS)
    # The faults did their damage, and it was repaired: not a quiet run.
    assert report["reconnects"] >= 10 and report["fills_recovered_by_reconciliation"] > 0
    assert report["unknown_orders_resolved"] > 0 and report["fill_size_mismatch"] == 0
    assert report["orders_sent"] >= 240 and report["fills_at_venue"] == report["fills_delivered"]


def test_the_soak_command_prints_its_contract_and_exits_0() -> None:
    done = subprocess.run([sys.executable, "-m", "botkit", "soak", "--orders", "60", "--faults", "12", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    for key in ("orders_sent", *MISMATCH_KEYS):
        assert key in lines
    assert all(lines[key] == "0" for key in MISMATCH_KEYS)
