"""``self.state`` is saved at least after ``on_start``, with each fill, at each timer tick
and at the stop, each save holding what the strategy had then; a value JSON cannot hold
fails the run in one line."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

import botkit
from botkit.journal import Journal

from ..helpers import MS, T0

pytestmark = pytest.mark.anyio


class Recording(Journal):
    """A journal that keeps a copy of every state save (the file keeps the latest only)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.saves: list[tuple[str, dict[str, Any]]] = []

    def state(self, state: Any, reason: str, ts_ns: int) -> None:
        super().state(state, reason, ts_ns)
        self.saves.append((reason, json.loads(json.dumps(state))))


class Saver(botkit.Strategy):
    symbols = ("BTCUSDT",)

    def on_start(self) -> None:
        self.state["started"] = True
        self.set_timer("tick", 1.0, repeat=True)

    def on_trade(self, trade: botkit.Trade) -> None:
        self.state["trades"] = self.state.get("trades", 0) + 1
        if self.state["trades"] == 2:
            self.buy("0.1", "101")  # fills on the next trade, through its price

    def on_timer(self, timer: botkit.Timer) -> None:
        self.state["ticks"] = self.state.get("ticks", 0) + 1

    def on_fill(self, fill: botkit.Fill) -> None:
        self.state["filled"] = str(fill.size)


def _trades(n: int, every_ms: int) -> list[botkit.Trade]:
    return [botkit.Trade("binance", "BTC-USDT", Decimal("100"), Decimal("1"), botkit.Side.SELL, i, 0,
                         T0 + i * every_ms * MS) for i in range(1, n + 1)]


async def test_state_is_saved_after_start_with_each_fill_at_each_tick_and_at_the_stop(tmp_path: Path) -> None:
    journal = Recording(tmp_path / "s.journal")
    engine = botkit.Engine(Saver(), botkit.MemorySource(_trades(8, 500)), journal=journal,
                           paper=botkit.PaperConfig(latency_ms=0))
    with anyio.fail_after(10):
        await engine.run()
    reasons = [reason for reason, _ in journal.saves]
    assert reasons[0] == "start" and reasons[-1] == "stop"
    assert reasons.count("fill") == 1 and reasons.count("timer") == 3  # 3.5 s of trades, a 1 s timer
    fill = next(state for reason, state in journal.saves if reason == "fill")
    assert fill["filled"] == "0.1" and fill["trades"] >= 2  # what on_fill left, saved with it
    ticks = [state["ticks"] for reason, state in journal.saves if reason == "timer"]
    assert ticks == [1, 2, 3]  # each tick's save holds that tick
    conn = sqlite3.connect(tmp_path / "s.journal")
    reason, saved = conn.execute("SELECT reason, state FROM strategy_state").fetchone()
    assert (reason, json.loads(saved)) == journal.saves[-1]
    assert conn.execute("SELECT size FROM fills").fetchall() == [("0.1",)]


class Bad(botkit.Strategy):
    symbols = ("BTCUSDT",)

    def on_trade(self, trade: botkit.Trade) -> None:
        self.state["price"] = trade.price  # a Decimal: JSON cannot hold it
        self.buy("0.1", "101")


async def test_a_state_json_cannot_hold_fails_the_run_in_one_line(tmp_path: Path) -> None:
    engine = botkit.Engine(Bad(), botkit.MemorySource(_trades(3, 10)), journal=Journal(tmp_path / "b.journal"),
                           paper=botkit.PaperConfig(latency_ms=0))
    with anyio.fail_after(10), pytest.raises(botkit.UsageError, match="self.state must hold JSON values only"):
        await engine.run()
