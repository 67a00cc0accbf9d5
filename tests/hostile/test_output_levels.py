"""Point 15: -q prints only warnings and errors; a reconnect logs why the connection
closed (close code and reason, or the error)."""

from __future__ import annotations

import logging

import anyio
import pytest
import trio

import botkit
from botkit.sim import ExchangeSimulator, Fault
from botkit.sources._websocket import WebSocketSource

from ..test_live import FAST, Collect, market  # noqa: F401 - the fixture
from .conftest import SAMPLE, cli


def test_quiet_runs_print_nothing_but_the_summary(capsys, counter) -> None:
    code, out, err = cli(capsys, "run", counter, "--json", "-q")
    assert code == 0 and out.startswith("{")
    assert [line for line in err.splitlines() if "delivered" not in line] == []  # the strategy's own warning
    code, out, err = cli(capsys, "backtest", counter, "--data", SAMPLE, "-q", "--json")
    assert code == 0 and [line for line in err.splitlines() if "delivered" not in line] == []


def test_without_quiet_the_embedded_run_says_what_it_serves(capsys, counter) -> None:
    code, _, err = cli(capsys, "run", counter, "--json")
    assert code == 0 and "through the embedded exchange simulator" in err


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_a_reconnect_logs_why_the_connection_closed(market, caplog) -> None:  # noqa: F811
    sim = ExchangeSimulator(market, speed=0, faults=[Fault("close", 500), Fault("drop", 900)], stall_timeout_s=1)
    source = WebSocketSource(sim.listen(), venue="binance", policy=FAST, end_on_normal_close=True)
    caplog.set_level(logging.INFO, logger="botkit")
    with anyio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(sim.serve)
            summary = await botkit.Engine(Collect(), source).run()
            nursery.cancel_scope.cancel()
    assert summary.reconnects >= 2
    why = [r.getMessage() for r in caplog.records if "reconnecting" in r.getMessage()]
    assert any("closed by peer (" in line and ")" in line for line in why), why
    assert any("connection lost" in line for line in why), why
