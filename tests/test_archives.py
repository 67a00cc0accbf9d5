"""Binance's public data archives: rows to events (both timestamp units, with and
without header rows), replay of files, directories and globs in time order, bad input
as one line, and `botkit download` against a local server in the site's layout
(checksums, a refetch, resume, the cache, missing days)."""

from __future__ import annotations

import contextlib
import json
import threading
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import botkit
from botkit.protocol import _compiled
from botkit.protocol.binance._archive import ArchiveRows, archive_name
from botkit.sim._archives import write_archive
from botkit.sources._archive import archive_sources

from .helpers import cli

COLLECTOR = """
import botkit

class Collect(botkit.Strategy):
    channels = ("trades", "bars")

    def on_start(self):
        self.times, self.kinds = [], {}

    def on_trade(self, trade):
        self.times.append(trade.ts_recv)
        self.kinds[trade.symbol] = self.kinds.get(trade.symbol, 0) + 1

    def on_bar(self, bar):
        self.times.append(bar.ts_recv)
        self.kinds["bars"] = self.kinds.get("bars", 0) + 1

    def on_stop(self):
        assert self.times == sorted(self.times), "out of time order"
        self.log.warning("seen %s", sorted(self.kinds.items()))
"""


@pytest.fixture
def collector(tmp_path: Path) -> Path:
    path = tmp_path / "collect.py"
    path.write_text(COLLECTOR)
    return path


def test_rows_become_events_in_either_time_unit_with_or_without_a_header() -> None:
    spot = ArchiveRows("binance", archive_name("BTCUSDT-trades-2025-01-01.zip"))  # type: ignore[arg-type]
    trade = spot.parse(b"51175358,17.80180000,5.69000000,101.29224200,1735689600010866,True,True")
    assert trade == botkit.Trade("binance", "BTC-USDT", Decimal("17.80180000"), Decimal("5.69000000"),
                                 botkit.Side.SELL, 51175358, 1735689600010866000, 1735689600010866000, "BTCUSDT")
    older = spot.parse(b"1,100.5,2,201,1499865549590,false,True\r")  # milliseconds, a CRLF file
    assert older is not None and older.ts_exchange == 1499865549590 * 1_000_000 and older.side is botkit.Side.BUY
    futures = ArchiveRows("binance-futures", archive_name("BTCUSDT-trades-2024-06-01.zip"))  # type: ignore[arg-type]
    assert futures.parse(b"id,price,qty,quote_qty,time,is_buyer_maker", first=True) is None  # the header row
    assert futures.parse(b"28457,4.00000100,12.00000000,48.00,1499865549590,true").trade_id == 28457  # type: ignore[union-attr]
    agg = ArchiveRows("binance", archive_name("BTCUSDT-aggTrades-2025-01.zip"))  # type: ignore[arg-type]
    event = agg.parse(b"0,0.20000000,50.00000000,0,0,1735689600010866,False,True")
    assert event is not None and event.trade_id == 0 and event.price == Decimal("0.2")
    kline = ArchiveRows("binance", archive_name("BTCUSDT-1h-2025-01-01.zip"))  # type: ignore[arg-type]
    bar = kline.parse(b"1735689600000000,4.15070000,4.15870000,4.15060000,4.15540000,539.23000000,1735693199999999,"
                      b"2240.39860900,13,401.82000000,1669.98121300,0")
    assert isinstance(bar, botkit.Bar) and bar.interval == "1h" and bar.closed
    assert (bar.ts_open, bar.ts_close, bar.ts_recv) == (1735689600000000000, 1735693199999999000, 1735693199999999000)
    for row, message in ((b"1,2,3", "expected 6 or 7 columns of trades"), (b"1,abc,3,4,5,true", "a malformed trades row"),
                         (b"id,price,qty,quote_qty,time,is_buyer_maker", "not a number: 'id'"),
                         (b"1,-5,1,1,1499865549590,true", "out of range"), (b"-1,2,3,4,5,true", "not a number")):
        with pytest.raises(botkit.ParseError, match=message):
            spot.parse(row)
    assert archive_name("BTCUSDT-trades-2025-01-01.zip.CHECKSUM") is None and archive_name("notes.txt") is None


def _days(root: Path) -> list[Path]:
    return [write_archive(root, "trades", "BTCUSDT", day, rows=300, first_id=1 + 300 * i)
            for i, day in enumerate(("2024-12-31", "2025-01-01", "2025-01-02"))]


def test_a_directory_of_archives_replays_in_time_order_across_units_and_kinds(
        tmp_path: Path, collector: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "cache"
    files = _days(root)
    write_archive(root, "klines-1m", "BTCUSDT", "2025-01-01")
    write_archive(root, "trades", "ETHUSDT", "2025-01-01", rows=100, market="futures/um", header=True,
                  start_price=3000.0)
    code, out, err = cli(capsys, "backtest", collector, "--data", root, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["events_by_type"] == {"Bar": 1440, "Trade": 1000}
    assert "seen [('BTC-USDT', 900), ('ETH-USDT', 100), ('bars', 1440)]" in err  # and in time order
    assert summary["parse_errors"] == 0 and summary["source"].startswith("merge of archives")
    assert set(summary["feeds"]) == {"binance", "binance-futures"}
    # A glob, and a single file, work as well; the 2024 file's times are milliseconds.
    code, out, err = cli(capsys, "backtest", collector, "--data", str(root / "data/spot/daily/trades/*/*.zip"),
                         "--json")
    assert code == 0 and json.loads(out)["events_by_type"] == {"Trade": 900}, err
    code, out, err = cli(capsys, "backtest", collector, "--data", files[0], "--json")
    summary = json.loads(out)
    assert code == 0 and summary["first_event_ns"] // 10**9 == 1735603200  # 2024-12-31T00:00:00Z


def test_bad_archives_are_one_line_naming_the_file_and_row(tmp_path: Path, collector: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    good = write_archive(tmp_path / "a", "trades", "BTCUSDT", "2025-01-01", rows=50)
    bad_row = tmp_path / "b" / good.name
    bad_row.parent.mkdir()
    text = zipfile.ZipFile(good).read(good.with_suffix(".csv").name).decode().splitlines()
    text[9] = "11,100.5,oops,1,1735689600000000,True,True"
    text[19] = "21,100.5"
    with zipfile.ZipFile(bad_row, "w") as out:
        out.writestr("BTCUSDT-trades-2025-01-01.csv", "\n".join(text) + "\n")
    code, out, err = cli(capsys, "backtest", collector, "--data", bad_row)
    errors = [line for line in err.splitlines() if line.startswith("botkit: error:")]
    assert code == 1 and errors == [f"botkit: error: {bad_row}:10: a malformed trades row (--skip-bad-rows counts "
                                    "such rows and goes on)"]
    assert "seen [('BTC-USDT', 9)]" in err  # the rows before it still arrived
    code, out, err = cli(capsys, "backtest", collector, "--data", bad_row, "--skip-bad-rows", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["parse_errors"] == 2 and summary["events_by_type"] == {"Trade": 48}
    assert f"{bad_row}:20: expected 6 or 7 columns of trades" in err
    truncated = tmp_path / "c" / good.name
    truncated.parent.mkdir()
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    code, _, err = cli(capsys, "backtest", collector, "--data", truncated)
    errors = [line for line in err.splitlines() if line.startswith("botkit: error:")]
    assert code == 1 and len(errors) == 1 and f"{truncated}: not a readable zip archive" in errors[0]
    code, _, err = cli(capsys, "backtest", collector, "--data", tmp_path / "a" / "nothing-*.zip")
    assert code == 2 and "a path naming no Binance archive" in err


class _Site(BaseHTTPRequestHandler):
    """Files under ``root`` as data.binance.vision serves them (ranges too); a path in
    ``corrupt`` answers that many wrong copies first."""

    root: Path
    corrupt: dict[str, int]
    requests: list[tuple[str, str]]

    def do_GET(self) -> None:
        path = self.path.lstrip("/")
        self.requests.append((path, self.headers.get("Range", "")))
        file = self.root / path
        if not file.is_file():
            self.send_error(404)
            return
        body = file.read_bytes()
        if self.corrupt.get(path, 0) > 0:
            self.corrupt[path] -= 1
            body = body[:-1] + bytes([body[-1] ^ 1])
        start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
        if start >= len(body) and start:
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def site(root: Path, corrupt: dict[str, int] | None = None) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    requests: list[tuple[str, str]] = []
    handler = type("Site", (_Site,), {"root": root, "corrupt": corrupt or {}, "requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_download_verifies_caches_resumes_and_names_missing_days(tmp_path: Path, collector: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    published = tmp_path / "site"
    files = _days(published)  # 2024-12-31 .. 2025-01-02; 2025-01-03 is not published
    cache = tmp_path / "cache"
    first = files[1].relative_to(published).as_posix()
    with site(published, corrupt={first: 1}) as (url, requests):
        args = ("download", "BTCUSDT", "--kind", "trades", "--from", "2024-12-31", "--to", "2025-01-03",
                "--dir", cache, "--base-url", url, "--json")
        code, out, err = cli(capsys, *args)
        assert code == 0, err
        result = json.loads(out)
        assert (result["fetched"], result["cached"]) == (3, 0)
        assert result["missing"] == ["data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2025-01-03.zip"]
        assert "BTCUSDT-trades-2025-01-03.zip: the venue has no such archive" in err
        assert [p for p, _ in requests].count(first) == 2  # the bad copy was fetched again, once
        for file in files:
            assert (cache / file.relative_to(published)).read_bytes() == file.read_bytes()
        # Again: nothing fetched twice, only the unpublished day asked for.
        requests.clear()
        code, out, err = cli(capsys, *args)
        assert code == 0 and json.loads(out)["cached"] == 3, err
        assert all(path.endswith("2025-01-03.zip.CHECKSUM") for path, _ in requests)
        # A cut-off download continues where it stopped.
        target = cache / files[2].relative_to(published)
        target.unlink()
        part = target.with_name(target.name + ".part")
        part.write_bytes(files[2].read_bytes()[:1000])
        requests.clear()
        code, out, err = cli(capsys, *args)
        assert code == 0 and json.loads(out)["fetched"] == 1, err
        assert (files[2].relative_to(published).as_posix(), "bytes=1000-") in requests
        assert target.read_bytes() == files[2].read_bytes() and not part.exists()
    code, out, err = cli(capsys, "backtest", collector, "--data", cache, "--json")
    assert code == 0 and json.loads(out)["events_by_type"] == {"Trade": 900}, err


def test_a_checksum_that_never_matches_is_one_line_and_exit_1(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    published = tmp_path / "site"
    (file,) = [write_archive(published, "aggTrades", "BTCUSDT", "2025-01-05", rows=20)]
    path = file.relative_to(published).as_posix()
    with site(published, corrupt={path: 2}) as (url, _):
        code, _, err = cli(capsys, "download", "BTCUSDT", "--kind", "aggTrades", "--from", "2025-01-05",
                           "--dir", tmp_path / "cache", "--base-url", url)
    errors = [line for line in err.splitlines() if line.startswith("botkit: error:")]
    assert code == 1 and len(errors) == 1 and "checksum mismatch: fetching it again" in err, err
    assert "does not match its published checksum" in err and "BTCUSDT-aggTrades-2025-01-05.zip" in err
    for flags, message in ((["--kind", "klines-7m"], "--kind klines-7m: one of trades"),
                           (["--from", "2025-02-01", "--to", "2025-01-01"], "is after --to"),
                           (["--from", "yesterday"], "expected two days"),
                           (["--base-url", "ftp://x"], "expected an http:// or https:// URL")):
        code, _, err = cli(capsys, "download", "BTCUSDT", *(flags if "--from" in flags else [*flags, "--from",
                                                                                              "2025-01-05"]))
        assert code == 2 and message in err, err


_ROW_PARTS = st.sampled_from([b"1", b"0", b"12345678901234567890", b"-3", b"100.5", b"0.00000001", b"0", b"1e5",
                              b"abc", b"", b"True", b"False", b"true", b"TRUE", b"1735689600010866",
                              b"1499865549590", b"99999999999999999", b"61000.10", b"0.00100\r"])


@pytest.mark.skipif(_compiled.RowDecoder is None, reason="the compiled row decoder is not built")
@pytest.mark.parametrize("kind", ["trades", "aggTrades"])
@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.one_of(
    st.builds(lambda i, p, q, t, m: b"%d,%s,%s,1,%d,%s,True" % (i, p, q, t, m),
              st.integers(0, 10**12), st.sampled_from([b"100.5", b"61000.10", b"0.2"]),
              st.sampled_from([b"1", b"0.001", b"0", b"5.00000000"]),
              st.sampled_from([1499865549590, 1735689600010866]), st.sampled_from([b"True", b"false"])),
    st.lists(_ROW_PARTS, min_size=5, max_size=9).map(b",".join)), max_size=30))
def test_the_compiled_rows_are_the_python_paths(kind: str, rows: list[bytes]) -> None:
    name = archive_name(f"BTCUSDT-{kind}-2025-01-01.zip")
    assert name is not None
    block = b"".join(row + b"\n" for row in rows)

    def decode(compiled: bool) -> list[object]:
        decoder = ArchiveRows("binance", name, compiled=compiled)
        seen: list[object] = []
        batch: list[Any] = []
        pos = 0
        while pos < len(block):
            pos, done = decoder.run(block, pos, len(block), batch, 7)  # small batches: runs cut often
            seen.append(("run", done))
            if pos < len(block) and len(batch) < 7:
                end = block.index(b"\n", pos)
                try:
                    batch.append(decoder.parse(block[pos:end]))
                except botkit.ParseError as exc:
                    seen.append(("error", exc.reason))
                pos = end + 1
            if len(batch) >= 7:
                seen += batch
                batch = []
        return seen + batch

    assert decode(True) == decode(False)


def test_a_files_decoder_is_freed_when_the_file_is_done() -> None:
    """No reference cycle through a file's decoder: with the collector rarely running (as
    the command line sets it), each day's decimal cache would otherwise stay until a
    full collection, and memory would grow with the number of days."""
    import gc
    import weakref

    name = archive_name("BTCUSDT-trades-2025-01-01.zip")
    assert name is not None
    enabled = gc.isenabled()
    gc.disable()
    try:
        rows = ArchiveRows("binance", name)
        rows.run(b"1,100.5,2,201,1735689600010866,True,True\n", 0, 44, [], 10)
        ref = weakref.ref(rows)
        del rows
        assert ref() is None
    finally:
        if enabled:
            gc.enable()


def test_every_row_before_a_bad_one_arrives_once_across_batches(tmp_path: Path) -> None:
    good = write_archive(tmp_path / "a", "trades", "BTCUSDT", "2025-01-01", rows=3_000)
    text = zipfile.ZipFile(good).read(good.with_suffix(".csv").name).decode().splitlines()
    text[2_499] = "2500,100.5,2"  # line 2500: a row cut short
    bad = tmp_path / "b" / good.name
    bad.parent.mkdir()
    with zipfile.ZipFile(bad, "w") as out:
        out.writestr(good.with_suffix(".csv").name, "\n".join(text) + "\n")
    seen: list[int] = []

    async def publish(batch: list[botkit.Event]) -> None:
        seen.extend(e.trade_id for e in batch if isinstance(e, botkit.Trade))

    with pytest.raises(botkit.DataError) as info:
        anyio.run(archive_sources([str(bad)]).stream, publish)
    assert (info.value.path, info.value.line) == (str(bad), 2_500)
    assert seen == list(range(1, 2_500))  # in order, none twice, none lost


def test_a_corrupt_member_is_one_line_after_the_rows_before_it(tmp_path: Path, collector: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    good = write_archive(tmp_path / "a", "trades", "BTCUSDT", "2025-01-01", rows=200_000)
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # the deflate stream broken; the zip's directory intact
    bad = tmp_path / "b" / good.name
    bad.parent.mkdir()
    bad.write_bytes(bytes(data))
    code, _, err = cli(capsys, "backtest", collector, "--data", bad)
    errors = [line for line in err.splitlines() if line.startswith("botkit: error:")]
    # Broken deflate data either fails to inflate or inflates to rows that do not parse
    # (zip's CRC is only checked at the member's end): one line either way, with its line.
    assert code == 1 and len(errors) == 1, err
    assert "the archive is corrupt or truncated here" in errors[0] or "a malformed trades row" in errors[0]
    line = int(errors[0].removeprefix(f"botkit: error: {bad}:").split(":", 1)[0])
    assert f"seen [('BTC-USDT', {line - 1})]" in err  # every row before it arrived


def test_a_bad_crc_is_an_error_after_every_row(tmp_path: Path, collector: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "BTCUSDT-trades-2025-01-01.zip"
    rows = "".join(f"{i},100.5,1,100.5,{1735689600000000 + i},True,True\n" for i in range(1, 101))
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as out:
        out.writestr("BTCUSDT-trades-2025-01-01.csv", rows)
    data = bytearray(bad.read_bytes())
    at = data.index(b"50,100.5")
    data[at + 3] = ord("7")  # 100.5 -> 107.5: still a row, but not the bytes the CRC was of
    bad.write_bytes(bytes(data))
    code, _, err = cli(capsys, "backtest", collector, "--data", bad)
    errors = [line for line in err.splitlines() if line.startswith("botkit: error:")]
    assert code == 1 and len(errors) == 1, err
    assert "the archive is corrupt or truncated here" in errors[0] and "CRC" in errors[0]
