"""Point 8: an async hook that never returns is cancelled, named, halts trading and ends
the run (also a timed live run); a plain hook that blocks the loop is named in a warning."""

from __future__ import annotations

import subprocess
import sys
import time

import anyio
import pytest

import botkit

from ..test_execution import tr
from .conftest import SAMPLE, cli

STUCK = """
import anyio, botkit

class Stuck(botkit.Strategy):
    symbols = ("BTCUSDT",)

    async def on_trade(self, trade):
        if trade.trade_id % 1000 == 0:
            await anyio.sleep_forever()
"""


@pytest.fixture
def stuck(tmp_path):
    path = tmp_path / "stuck.py"
    path.write_text(STUCK)
    return path


def test_a_stuck_async_hook_fails_the_backtest_naming_it(capsys, stuck) -> None:
    code, out, err = cli(capsys, "backtest", stuck, "--data", SAMPLE, "--hook-timeout", "0.5", "--json")
    assert code == 1
    assert "strategy Stuck.on_trade did not return within" in err.splitlines()[-1]
    assert "(hook timeout 0.5 s): cancelled, trading halted" in err.splitlines()[-1]
    assert '"reason":"hook stuck: on_trade did not return' in out


def test_a_timed_live_run_with_a_stuck_hook_stops_after_its_duration(stuck) -> None:
    # A subprocess: the embedded simulator, signals and the watchdog thread as a user has them.
    done = subprocess.run([sys.executable, "-m", "botkit", "run", str(stuck), "--duration", "1", "-q"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Stuck.on_trade did not return within" in done.stderr and "(after the stop)" in done.stderr


def test_a_plain_hook_that_blocks_the_loop_is_named() -> None:
    class Sleeper(botkit.Strategy):
        symbols = ("BTCUSDT",)

        def on_trade(self, trade: botkit.Trade) -> None:
            if trade.trade_id == 2:
                time.sleep(0.6)  # the trap the watchdog makes visible

    async def main() -> botkit.RunSummary:
        with anyio.fail_after(20):
            source = botkit.MemorySource([tr(i, "100", i) for i in range(1, 5)])
            return await botkit.Engine(Sleeper(), source, block_warn_s=0.2).run()

    summary = anyio.run(main)
    assert [w for w in summary.warnings if "on_trade blocked the event loop" in w]


def test_a_busy_backtest_of_quick_hooks_is_not_blamed(capsys, counter) -> None:
    code, _out, err = cli(capsys, "backtest", counter, "--data", SAMPLE, "--json")
    assert code == 0 and "blocked the event loop" not in err
