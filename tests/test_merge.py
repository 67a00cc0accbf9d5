"""Backtests over several recordings: one stream merged by receive time, flat in memory,
with each venue's counters, and the good events before a bad line delivered."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import botkit
from botkit.protocol.coinbase._encode import encode_trade as coinbase_trade
from botkit.sources import RecordingWriter

from .helpers import MS, T0, cli, trade, write_recording

pytestmark = pytest.mark.anyio


def coinbase_recording(path: Path, times: list[int], *, bad_at: int | None = None) -> Path:
    """Coinbase ``match`` frames of BTC-USD trades 1.. at ``times`` (a corrupt line at
    index ``bad_at``)."""
    with RecordingWriter(path, {"venue": "coinbase"}) as out:
        for i, ts in enumerate(times, start=1):
            event = botkit.Trade("coinbase", "BTC-USD", Decimal("100.5"), Decimal(1), botkit.Side.SELL, i,
                                 ts // 1000 * 1000, ts, "BTC-USD")
            out.write(ts, coinbase_trade(event).encode())
    if bad_at is not None:
        lines = path.read_bytes().splitlines(keepends=True)
        lines[1 + bad_at] = b"not a recording line\n"
        path.write_bytes(b"".join(lines))
    return path


class Collector(botkit.Strategy):
    channels = ("trades",)

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, int]] = []

    def on_trade(self, trade: botkit.Trade) -> None:
        self.seen.append((trade.venue, trade.trade_id, trade.ts_recv))


async def _merged(*paths: Path) -> tuple[Collector, botkit.RunSummary]:
    strategy = Collector()
    source = botkit.MergedSource([botkit.ReplaySource(p) for p in paths])
    with anyio.fail_after(20):
        summary = await botkit.Engine(strategy, source).run()
    return strategy, summary


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=300), st.lists(st.integers(0, 40), min_size=1,
                                                                         max_size=300))
async def test_events_of_two_recordings_arrive_merged_by_receive_time(tmp_path_factory: pytest.TempPathFactory,
                                                                      steps_a: list[int], steps_b: list[int]) -> None:
    # Bursts, ties and long runs of either side: the order is by time, the earlier file
    # first on a tie, and each file's own order is kept.
    tmp = tmp_path_factory.mktemp("merge")
    times_a = [T0 + sum(steps_a[: i + 1]) * MS for i in range(len(steps_a))]
    times_b = [T0 + sum(steps_b[: i + 1]) * MS for i in range(len(steps_b))]
    a = write_recording(tmp / "a.txt", [trade(i + 1, ts=ts) for i, ts in enumerate(times_a)])
    b = coinbase_recording(tmp / "b.txt", times_b)
    strategy, summary = await _merged(a, b)
    expected = sorted([(ts, 0, i + 1) for i, ts in enumerate(times_a)] + [(ts, 1, i + 1) for i, ts in enumerate(times_b)])
    assert [(ts, 0 if venue == "binance" else 1, tid) for venue, tid, ts in strategy.seen] == expected
    assert summary.feeds["binance"]["frames"] == len(times_a) and summary.feeds["coinbase"]["frames"] == len(times_b)
    assert summary.frames == len(times_a) + len(times_b) and summary.gaps == 0


async def test_a_bad_line_in_one_recording_stops_the_merge_after_every_event_before_it(tmp_path: Path) -> None:
    a = write_recording(tmp_path / "a.txt", [trade(i, ts=T0 + 2 * i * MS) for i in range(1, 101)])
    b = coinbase_recording(tmp_path / "b.txt", [T0 + (2 * i + 1) * MS for i in range(1, 101)], bad_at=50)
    strategy = Collector()
    source = botkit.MergedSource([botkit.ReplaySource(a), botkit.ReplaySource(b)])
    with anyio.fail_after(20), pytest.raises(botkit.DataError, match=r"b\.txt:52"):
        await botkit.Engine(strategy, source).run()
    # b's trades 1..50 and a's up to b's last good time (trade 50 at 100 ms < 101 ms).
    assert [s[1] for s in strategy.seen if s[0] == "coinbase"] == list(range(1, 51))
    assert max(s[1] for s in strategy.seen if s[0] == "binance") >= 50


def test_backtest_takes_data_twice_and_reports_each_venue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(7)
    times = sorted(T0 + rng.randrange(10**9) for _ in range(2_000))
    a = write_recording(tmp_path / "a.txt", [trade(i, ts=ts) for i, ts in enumerate(times[::2], start=1)])
    b = coinbase_recording(tmp_path / "b.txt", times[1::2])
    strategy = tmp_path / "count.py"
    strategy.write_text("import botkit\n\nclass Count(botkit.Strategy):\n    channels = ('trades',)\n")
    code, out, err = cli(capsys, "backtest", strategy, "--data", a, "--data", b, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["events_by_type"] == {"Trade": 2_000}
    assert {v: f["frames"] for v, f in summary["feeds"].items()} == {"binance": 1_000, "coinbase": 1_000}
    assert summary["source"].startswith("merge of replay of")
    code, out, err = cli(capsys, "backtest", strategy, "--data", a, "--data", tmp_path / "missing.txt")
    assert code == 2 and "missing.txt" in err and len(err.strip().splitlines()) == 1  # as with one file


def test_a_two_venue_backtest_trades_on_each_account_from_flags_and_config(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    times = [T0 + i * 10 * MS for i in range(40)]
    a = write_recording(tmp_path / "a.txt", [trade(i, ts=ts) for i, ts in enumerate(times[::2], start=1)])
    b = coinbase_recording(tmp_path / "b.txt", times[1::2])
    strategy = tmp_path / "both.py"
    strategy.write_text(
        "import botkit\n\n"
        "class Both(botkit.Strategy):\n"
        "    feeds = (botkit.Feed('binance', 'BTC-USDT'), botkit.Feed('coinbase', 'BTC-USD'))\n"
        "    def on_trade(self, trade):\n"
        "        if not self.position(trade.symbol, venue=trade.venue) and not self.open_orders(trade.venue):\n"
        "            self.buy('1', symbol=trade.symbol, venue=trade.venue)\n")
    config = tmp_path / "botkit.toml"
    config.write_text("[venues.coinbase]\ntaker_bps = '50'\nmax_open_orders = 1\n[venues.binance]\n"
                      "starting_cash = { USDT = '300' }\n")
    code, out, err = cli(capsys, "backtest", strategy, "--data", a, "--data", b, "--config", config,
                         "--cash", "coinbase:USD=1000", "--json")
    assert code == 0, err
    venues = json.loads(out)["trading"]["venues"]
    assert {v: (t["starting_equity"], t["positions"]) for v, t in venues.items()} == {
        "binance": ("300", {"BTC-USDT": "1"}), "coinbase": ("1000", {"BTC-USD": "1"})}
    assert Decimal(venues["coinbase"]["fees"]) == Decimal("100.5") * 50 / 10_000
    assert Decimal(venues["binance"]["fees"]) == Decimal("100.00") * 10 / 10_000  # the run's fee
    code, out, err = cli(capsys, "backtest", strategy, "--data", a, "--data", b)
    assert code == 0, err
    assert "  coinbase (USD)" in out and "1 fills, 1 BTC-USD" in out
    code, _, err = cli(capsys, "backtest", strategy, "--data", a, "--cash", "kraken:USD=5")
    assert code == 2 and "accounts: Both trades on no venue 'kraken'" in err and len(err.strip().splitlines()) == 1
