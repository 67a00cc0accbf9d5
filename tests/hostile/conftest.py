"""Variants of the shipped sample with one hostile change, for the hostile-input tests."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from ..helpers import cli as cli
from ..test_cli import ROOT

SAMPLE = ROOT / "examples" / "data" / "binance-btcusdt-sample.txt.gz"
SAMPLE_TRADES = 7996

COUNTER = """
import botkit

class Counter(botkit.Strategy):
    symbols = ("BTCUSDT",)
    channels = ("trades",)

    def on_start(self):
        self.ids = []

    def on_trade(self, trade):
        self.ids.append(trade.trade_id)

    def on_stop(self):
        self.log.warning("delivered %d trades, in order: %s", len(self.ids), self.ids == sorted(set(self.ids)))
"""


def sample_lines() -> list[str]:
    with gzip.open(SAMPLE, "rt") as fh:
        return fh.readlines()


def trade_line_index(lines: list[str], nth: int) -> int:
    """Index of the ``nth`` trade line of the sample."""
    seen = 0
    for index, line in enumerate(lines):
        if "@trade" in line:
            seen += 1
            if seen == nth:
                return index
    raise AssertionError("the sample has fewer trades")


@pytest.fixture
def variant(tmp_path: Path) -> Callable[[str, Callable[[list[str]], list[str]]], Path]:
    """``variant(name, change)``: the sample's lines through ``change``, as a file."""

    def make(name: str, change: Callable[[list[str]], list[str]]) -> Path:
        path = tmp_path / name
        path.write_text("".join(change(sample_lines())))
        return path

    return make


@pytest.fixture
def counter(tmp_path: Path) -> Path:
    path = tmp_path / "counter.py"
    path.write_text(COUNTER)
    return path


