"""Point 11: a hook that raises on every event gives one halt and a few log lines, with
counts, however many errors are tolerated."""

from __future__ import annotations

import json

from .conftest import SAMPLE, SAMPLE_TRADES, cli

RAISER = """
import botkit

class R(botkit.Strategy):
    symbols = ("BTCUSDT",)

    def on_trade(self, trade):
        if trade.trade_id % 2:
            raise ValueError(f"bad trade {trade.trade_id}")
        raise KeyError(trade.trade_id)
"""


def test_repeated_errors_are_grouped(capsys, tmp_path) -> None:
    path = tmp_path / "r.py"
    path.write_text(RAISER)
    code, out, err = cli(capsys, "backtest", path, "--data", SAMPLE, "--max-errors", "100000", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["strategy_errors"] == SAMPLE_TRADES
    halts = summary["halts"]
    kinds = sorted(h["reason"].split(": ")[1] for h in halts)
    assert kinds == ["KeyError", "ValueError"] and all(h["reason"].startswith("strategy error in on_trade") for h in halts)
    assert sum(h["count"] for h in halts) == SAMPLE_TRADES
    assert err.count("Traceback") == 2  # the first of each kind in full
    assert len(err.splitlines()) < 60  # not one per event (was 64k lines)
    assert "raised ValueError again: 1000 times so far" in err
