"""The kill soak, small: a live bot on a journal SIGKILLed at each kind of moment and
restarted; nothing lost, nothing done twice (``botkit soak --kills N`` at scale)."""

from __future__ import annotations

import anyio
import pytest

from botkit.cli._kill_soak import KILL_KEYS, run_kill_soak
from botkit.cli._main import main

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_kills_at_every_kind_of_moment_lose_nothing_and_do_nothing_twice(tmp_path) -> None:
    with anyio.fail_after(120):
        report = await run_kill_soak(4, seed=5, workdir=str(tmp_path))
    assert {key: report[key] for key in KILL_KEYS} == dict.fromkeys(KILL_KEYS, 0), report["first_errors"]
    # Every kind of kill happened: each crash point was reached, and one by the timer.
    assert report["kills_by_kind"] == {"after-write": 1, "before-write": 1, "fill": 1, "timer": 1}
    assert report["failpoints_reached"] == 3
    # The restarts had something to resolve: an order placed and never answered, fills
    # journaled by a later run than the one that sent their order.
    assert report["orders_unanswered_at_a_kill"] >= 1 and report["fills_recovered_after_a_kill"] >= 1
    assert report["runs_checked_after_ready"] >= 3 and report["fills_at_venue"] > 0


def test_the_command_needs_one_kind_of_soak(capsys) -> None:
    assert main(["soak", "--kills", "2", "--orders", "5"]) == 2
    assert "--kills runs on its own" in capsys.readouterr().err
    assert main(["soak"]) == 2
    assert "botkit soak needs --faults N" in capsys.readouterr().err
