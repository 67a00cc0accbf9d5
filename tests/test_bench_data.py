"""The bench's real-mix recordings are what a venue sends: every id chains, the book
syncs from the snapshot and never crosses, and the mix is the one asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.mix import BOOK_READER, make_mix_recording
from botkit.cli._main import main


@pytest.mark.parametrize(("kind", "depth_share"), [("spot", 0.08), ("futures", 0.70)])
def test_a_mix_recording_replays_without_a_gap(kind: str, depth_share: float, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / f"{kind}.txt.gz"
    counts = make_mix_recording(data, 4_000, kind)
    assert abs(counts["depth"] / 4_000 - depth_share) < 0.03, counts
    strategy = tmp_path / "reader.py"
    strategy.write_text(BOOK_READER + """
    def on_stop(self):
        book = self.order_book("BTC-USDT")
        assert not book.crossed() and book.depth() > (4_000, 4_000)
        print("LEANING", self.leaning)
""")
    assert main(["backtest", str(strategy), "--data", str(data), "--json", "-q"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{"):])
    assert summary["gaps"] == 0 and summary["parse_errors"] == 0 and summary["strategy_errors"] == 0
    assert summary["events_by_type"] == {"BookSnapshot": 1, "BookDelta": counts["depth"],
                                         "Quote": counts["quote"], "Trade": counts["trade"]}
    assert int(out.split("LEANING ")[1].split()[0]) > 0  # the book was read on the deltas
