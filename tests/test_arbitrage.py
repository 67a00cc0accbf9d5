"""Two venues out of the box: the shipped two-venue sample (a generator with lead-lag),
the arbitrage example on it in a backtest and live through one embedded simulator per
venue, `botkit exchange-sim` serving each venue of a recording, and a journal of a run on
two venues restored per venue."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
import trio

import botkit
from botkit.protocol import venue_for
from botkit.sim import PAIR_SAMPLE_NAME, sample_path, venue_simulators
from botkit.sim._pair_sample import generate_pair
from botkit.sim._venues import venue_market
from botkit.sources import RecordingWriter
from botkit.sources._recording import read_meta
from botkit.sources._websocket import WebSocketSource

from .helpers import MS, T0, cli

ROOT = Path(__file__).resolve().parents[1]
ARBITRAGE = ROOT / "strategies" / "arbitrage.py"
BOTKIT = [sys.executable, "-m", "botkit"]


def _quotes(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Each venue's best bid and ask in the file's order, read with its own parser."""
    parsers = {venue: venue_for(venue).parser() for venue in ("binance", "okx")}
    seen: dict[str, list[tuple[str, str]]] = {"binance": [], "okx": []}
    for line in gzip.open(path).read().splitlines()[1:]:
        ts, venue, frame = line.split(b" ", 2)
        for event in parsers[venue.decode()].parse(frame, int(ts)):
            if isinstance(event, botkit.Quote):
                seen[venue.decode()].append((str(event.bid_price), str(event.ask_price)))
    return seen


def test_the_shipped_two_venue_sample_is_the_generators_and_lags_between_venues(tmp_path: Path) -> None:
    shipped = sample_path(PAIR_SAMPLE_NAME)
    assert shipped is not None
    again = tmp_path / "again.txt.gz"
    generate_pair(again)
    assert gzip.open(again).read() == gzip.open(shipped).read()  # same seed, same market
    quotes = _quotes(shipped)
    assert len(quotes["binance"]) > 3_000 and len(quotes["okx"]) > 2_000
    # Mostly the venues agree (within a few bps); after the leader's jumps, they are apart.
    gaps = []
    latest: dict[str, tuple[Decimal, Decimal]] = {}
    parsers = {venue: venue_for(venue).parser() for venue in ("binance", "okx")}
    for line in gzip.open(shipped).read().splitlines()[1:]:
        ts, venue, frame = line.split(b" ", 2)
        for event in parsers[venue.decode()].parse(frame, int(ts)):
            if isinstance(event, botkit.Quote):
                latest[event.venue] = ((event.bid_price + event.ask_price) / 2, event.ask_price)
        if len(latest) == 2:
            gaps.append(abs(latest["binance"][0] / latest["okx"][0] - 1) * 10_000)
    gaps.sort()
    assert gaps[len(gaps) // 2] < 5 and gaps[-len(gaps) // 100] > 25


def test_the_arbitrage_example_backtests_the_shipped_sample_with_no_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "backtest", ARBITRAGE, "--json")
    assert code == 0, err
    assert "no --data: backtesting the shipped two-venue sample recording" in err
    summary = json.loads(out)
    assert set(summary["feeds"]) == {"binance", "okx"} and summary["parse_errors"] == 0
    trading = summary["trading"]
    venues = trading["venues"]
    assert trading["fills"] > 20 and trading["rejected"] == 0
    # Sells on one venue, buys on the other: the BTC held in total stays what it bought.
    held = sum(Decimal(v["positions"].get("BTC-USDT", "0")) for v in venues.values())
    assert held == Decimal("0.1") and trading["positions"] == {"BTC-USDT": "0.10"}
    assert all(Decimal(v["positions"].get("BTC-USDT", "0")) <= Decimal("0.1") for v in venues.values())
    assert Decimal(trading["total_return"]) > 0  # the edge beat both venues' fees
    assert "arbitrage: 29 pairs" in err


def test_the_arbitrage_example_runs_live_on_an_embedded_simulator_per_venue(tmp_path: Path) -> None:
    journal = tmp_path / "arb.journal"
    out = subprocess.run([*BOTKIT, "run", str(ARBITRAGE), "--json", "--journal", str(journal)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "one embedded exchange simulator per venue" in out.stderr
    summary = json.loads(out.stdout)
    assert summary["stopped_by"] == "end of data" and summary["parse_errors"] == 0 == summary["gaps"]
    # Every quote of each venue arrived, OKX's re-encoded twice on the way (OKX -> the
    # simulator's Binance market -> OKX): as many as the backtest replays.
    quotes = _quotes(sample_path(PAIR_SAMPLE_NAME))  # type: ignore[arg-type]
    assert summary["events_by_type"]["Quote"] == len(quotes["binance"]) + len(quotes["okx"])
    assert summary["source"].startswith("merge of live binance feed ws://127.0.0.1:")
    assert set(summary["trading"]["venues"]) == {"binance", "okx"}
    # The journal keeps each venue's account: a second run goes on from both.
    again = subprocess.run([*BOTKIT, "run", str(ARBITRAGE), "--json", "--journal", str(journal), "-q"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    restored = json.loads(again.stdout)["trading"]
    assert {v: t["starting_equity"] for v, t in restored["venues"].items()} == {"binance": "10000", "okx": "10000"}
    assert restored["fills"] >= summary["trading"]["fills"]  # the first run's, and this one's
    held = sum(Decimal(t["positions"].get("BTC-USDT", "0")) for t in restored["venues"].values())
    assert held == Decimal("0.1")  # stocked once, in the first run (self.state keeps it)
    shown = subprocess.run([*BOTKIT, "journal", str(journal), "--json"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert [r["venue"] for r in view["runs"]] == ["binance+okx", "binance+okx"]
    assert set(view["trading"]["venues"]) == {"binance", "okx"}
    # Each venue's account as the second run ended it, rebuilt from the journal alone.
    assert {v: t["positions"] for v, t in view["trading"]["venues"].items()} == {
        v: t["positions"] for v, t in restored["venues"].items()}
    assert {v: t["cash"] for v, t in view["trading"]["venues"].items()} == {
        v: t["cash"] for v, t in restored["venues"].items()}


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_each_venues_share_reaches_its_client_as_recorded(tmp_path: Path, anyio_backend: str) -> None:
    """A venue's trades, quotes and book (a snapshot, diffs, a later snapshot that drops
    levels) go through its simulator and arrive as the recording holds them."""
    okx = venue_for("okx").encoder()
    path = tmp_path / "two.txt"
    meta = {"venues": {"binance": {"venue": "binance"}, "okx": {"venue": "okx"}}}
    snap = botkit.BookSnapshot("okx", "BTC-USDT", ((Decimal(100), Decimal(1)), (Decimal(99), Decimal(2))),
                               ((Decimal(101), Decimal(1)),), 1, T0, T0, "BTC-USDT")
    later = botkit.BookSnapshot("okx", "BTC-USDT", ((Decimal("99.5"), Decimal(3)),), ((Decimal(102), Decimal(4)),),
                                9, T0 + 5 * MS, T0 + 5 * MS, "BTC-USDT")
    with RecordingWriter(path, meta) as out:
        out.write(T0, b"okx " + okx.encode_book(snap).encode())
        for i in range(1, 4):
            trade = botkit.Trade("okx", "BTC-USDT", Decimal(100 + i), Decimal("0.5"), botkit.Side.BUY, i,
                                 T0 + i * MS, T0 + i * MS, "BTC-USDT")
            out.write(T0 + i * MS, b"okx " + okx.encode_trade(trade).encode())
        quote = botkit.Quote("okx", "BTC-USDT", Decimal("99.5"), Decimal(3), Decimal(102), Decimal(4), -1,
                             T0 + 4 * MS, T0 + 4 * MS, "BTC-USDT")
        out.write(T0 + 4 * MS, b"okx " + okx.encode_quote(quote).encode())
        out.write(T0 + 5 * MS, b"okx " + okx.encode_book(later).encode())
    frames = [frame async for _, frame in venue_market(path, "okx")]
    assert [json.loads(f)["stream"].split("@", 1)[1] for f in frames] == ["depth@100ms", "trade", "trade", "trade",
                                                                           "bookTicker", "depth@100ms"]

    class Seen(botkit.Strategy):
        feeds = (botkit.Feed("okx", "BTC-USDT", ("trades", "quotes", "books")),)

        def __init__(self) -> None:
            self.trades: list[int] = []
            self.quotes: list[botkit.Quote] = []

        def on_trade(self, trade: botkit.Trade) -> None:
            self.trades.append(trade.trade_id)

        def on_quote(self, quote: botkit.Quote) -> None:
            self.quotes.append(quote)

        def on_stop(self) -> None:
            book = self.order_book()
            self.final = book.levels() if book is not None else None

    sims = venue_simulators(path, ["okx"], read_meta(path), speed=0)
    strategy = Seen()
    with anyio.fail_after(20):
        async with trio.open_nursery() as nursery:
            url = await nursery.start(sims["okx"].serve)
            source = WebSocketSource.for_venue("okx", ["BTC-USDT"], ["trades", "quotes", "books"], url=url,
                                               end_on_normal_close=True)
            await botkit.Engine(strategy, source).run()
            nursery.cancel_scope.cancel()
    assert strategy.trades == [1, 2, 3]
    assert [(q.bid_price, q.ask_price) for q in strategy.quotes] == [(Decimal("99.5"), Decimal(102))]
    assert strategy.final == (later.bids, later.asks)  # the levels the later snapshot dropped are gone


def test_exchange_sim_serves_each_venue_of_a_recording_on_its_port(capsys: pytest.CaptureFixture[str]) -> None:
    sample = str(sample_path(PAIR_SAMPLE_NAME))
    proc = subprocess.Popen([*BOTKIT, "exchange-sim", "--data", sample, "--speed", "0", "--fault", "okx:drop@500"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(2)]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert [line.split("=", 1)[0] for line in lines] == ["binance", "okx"]
    assert all(line.split("=", 1)[1].startswith("ws://127.0.0.1:") for line in lines)
    assert "botkit run STRATEGY --url binance=ws://" in err
    for flags, message in ((["--fault", "kraken:drop@5"], "'kraken' is not a venue served here (binance, okx)"),
                           (["--port", "9999"], "one port each"), (["--trading"], "--trading serves one venue")):
        code, _, err = cli(capsys, "exchange-sim", "--data", sample, *flags)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_a_strategy_no_sample_fits_is_told_to_pass_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    strategy = tmp_path / "two.py"
    strategy.write_text("import botkit\n\nclass Two(botkit.Strategy):\n"
                        "    feeds = (botkit.Feed('binance', 'BTC-USDT'), botkit.Feed('kraken', 'BTC-USD'))\n")
    for command in ("backtest", "run"):
        code, _, err = cli(capsys, command, strategy)
        assert code == 2 and "Two trades on binance, kraken: pass --data FILE" in err, err
    code, _, err = cli(capsys, "run", strategy, "--data", sample_path())
    assert code == 2 and "has no kraken to serve" in err, err
