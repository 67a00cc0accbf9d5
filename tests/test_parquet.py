"""Events as Parquet: `botkit convert` of a recording (trades, quotes, books) and of
archives, replayed with `--data X.parquet` to the same events in the same order, and
`botkit.read_events` tables for notebooks."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

import botkit
from botkit.protocol import _compiled, venue_for
from botkit.sim._archives import write_archive
from botkit.sim._sample import generate
from botkit.sources import RecordingWriter, ReplaySource, _parquet
from botkit.sources._archive import archive_sources
from botkit.sources._parquet import ParquetSource, _decoder, _kinds

from .helpers import MS, T0, cli

D = Decimal

pytest.importorskip("pyarrow")


async def _drain(source: botkit.EventSource) -> list[botkit.Event]:
    events: list[botkit.Event] = []

    async def publish(batch: list[botkit.Event]) -> None:
        events.extend(e for e in batch if not isinstance(e, botkit.Gap | botkit.FeedStatus))

    with anyio.fail_after(60):
        await source.stream(publish)
    return events


def _okx_books(path: Path) -> Path:
    """An OKX recording of a book: a snapshot, then deltas (each numbered after the last)."""
    okx = venue_for("okx").encoder()
    snap = botkit.BookSnapshot("okx", "BTC-USDT", ((D("100"), D(1)), (D("99.5"), D(2))), ((D("101"), D(1)),),
                               1, T0, T0, "BTC-USDT")
    with RecordingWriter(path, {"venue": "okx"}) as out:
        out.write(T0, okx.encode_book(snap).encode())
        for i in range(2, 40):
            delta = botkit.BookDelta("okx", "BTC-USDT", ((D(99 + i % 3), D(i)),), ((D(101 + i % 2), D("0.5")),),
                                     i, i, T0 + i * MS, T0 + i * MS, i - 1, "BTC-USDT")
            out.write(T0 + i * MS, okx.encode_book(delta).encode())
    return path


@pytest.mark.parametrize("chunk", [8192, 7])  # 7: a batch's events built in several chunks
@pytest.mark.parametrize("kind", ["trades and quotes", "books"])
def test_a_recording_round_trips_through_parquet(kind: str, chunk: int, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_parquet, "_CHUNK", chunk)
    recording = tmp_path / "rec.txt.gz"
    if kind == "books":
        _okx_books(recording)
        tables = ["book_delta.parquet", "book_snapshot.parquet"]
    else:
        generate(recording, seconds=60, seed=3)
        tables = ["quote.parquet", "trade.parquet"]
    out = tmp_path / "rec.parquet"
    code, _, err = cli(capsys, "convert", recording, "--to", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == tables
    original = anyio.run(_drain, ReplaySource(recording))
    again = anyio.run(_drain, ParquetSource(out))
    assert again == original and len(original) > 30  # the same events, in the same order
    if kind == "books":
        return
    # A backtest on it is the backtest on the recording.
    strategy = tmp_path / "count.py"
    strategy.write_text("import botkit\n\nclass Count(botkit.Strategy):\n    channels = ('trades', 'quotes')\n")
    code, out_json, err = cli(capsys, "backtest", strategy, "--data", out, "--json")
    assert code == 0, err
    code, rec_json, err = cli(capsys, "backtest", strategy, "--data", recording, "--json")
    assert json.loads(out_json)["events_by_type"] == json.loads(rec_json)["events_by_type"]


def test_archives_convert_and_tables_read_as_arrow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "cache"
    write_archive(root, "trades", "BTCUSDT", "2025-01-01", rows=500)
    write_archive(root, "klines-1m", "BTCUSDT", "2025-01-01")
    out = tmp_path / "hist.parquet"
    code, _, err = cli(capsys, "convert", root, "--to", out)
    assert code == 0 and "wrote 1,440 bar, 500 trade" in err.replace("500 trade, 1,440 bar", "1,440 bar, 500 trade")
    original = anyio.run(_drain, archive_sources([str(root)]))
    assert anyio.run(_drain, ParquetSource(out)) == original
    table = botkit.read_events(out, type="trade")
    assert table.num_rows == 500 and table.schema.field("price").type == "string"
    assert table.column_names[:3] == ["seq", "venue", "symbol"]
    first = next(e for e in original if isinstance(e, botkit.Trade))
    assert table.column("price").to_pylist()[0] == str(first.price)  # exact, as text
    # Notebooks: pandas and polars (both in the test extra) take the table as it is,
    # and the exact texts become exact decimals there.
    import pandas
    import polars

    frame = table.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and frame["price"][0] == str(first.price)
    assert frame["price"].map(Decimal).sum() == sum(e.price for e in original if isinstance(e, botkit.Trade))
    df = polars.from_arrow(table)
    assert isinstance(df, polars.DataFrame) and df.height == 500
    exact = df.with_columns(polars.col("price").str.to_decimal(scale=8))["price"]
    assert exact.dtype == polars.Decimal(38, 8) and Decimal(str(exact[0])) == first.price
    assert botkit.read_events(out, type="bar").num_rows == 1_440
    with pytest.raises(botkit.ConfigError, match="no quote table"):
        botkit.read_events(out, type="quote")
    with pytest.raises(botkit.ConfigError, match="type='tick': one of trade"):
        botkit.read_events(out, type="tick")
    code, _, err = cli(capsys, "convert", root, "--to", tmp_path / "x.csv")
    assert code == 2 and "name the output NAME.parquet" in err


@pytest.mark.skipif(_compiled.build_events is None, reason="the compiled event builder is not built")
def test_the_compiled_event_builder_makes_what_the_constructor_makes(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow.parquet as pq

    books, mix = tmp_path / "books.parquet", tmp_path / "mix.parquet"
    assert cli(capsys, "convert", _okx_books(tmp_path / "books.txt.gz"), "--to", books)[0] == 0
    generate(tmp_path / "mix.txt.gz", seconds=20, seed=5)
    assert cli(capsys, "convert", tmp_path / "mix.txt.gz", "--to", mix)[0] == 0
    for out, name, cls in ((books, "book_delta", botkit.BookDelta), (books, "book_snapshot", botkit.BookSnapshot),
                           (mix, "trade", botkit.Trade), (mix, "quote", botkit.Quote)):
        # Text columns dictionary-encoded, numbers as buffers: the forms the builder takes.
        table = pq.ParquetFile(out / f"{name}.parquet", read_dictionary=[
            field for field, kind in _kinds(cls) if kind in ("decimal", "str", "side")])
        batch = next(table.iter_batches())
        fast = [e for _, chunk in _decoder(cls, table.schema_arrow.names)(batch) for e in chunk]
        slow = [e for _, chunk in _decoder(cls, table.schema_arrow.names, compiled=False)(batch) for e in chunk]
        assert fast == slow and fast and all(type(e) is cls for e in fast)
        assert hash(fast[0]) == hash(slow[0])  # frozen, hashable, equal: the same event


@pytest.mark.skipif(_compiled.build_events is None, reason="the compiled event builder is not built")
def test_the_compiled_event_builder_refuses_columns_it_cannot_read() -> None:
    import numpy

    build = _compiled.build_events
    fields = ("venue", "symbol", "price", "size", "side", "trade_id", "ts_exchange", "ts_recv", "venue_symbol")

    def columns(ids: object, venues: object = None) -> list[object]:
        return [venues or (["binance"], numpy.zeros(2, numpy.int32)), ["BTCUSDT"] * 2, [D(1)] * 2, [D(2)] * 2,
                [botkit.Side.BUY] * 2, ids, [T0] * 2, [T0] * 2, ["BTCUSDT"] * 2]

    made = build(botkit.Trade, fields, columns(numpy.array([7, 8], numpy.int64)))
    assert [e.trade_id for e in made] == [7, 8] and made[1].venue == "binance"
    with pytest.raises(IndexError, match="index 1 out of 1 values"):
        build(botkit.Trade, fields, columns([7, 8], (["binance"], numpy.array([0, 1], numpy.int32))))
    with pytest.raises(TypeError, match="format d"):
        build(botkit.Trade, fields, columns(numpy.array([7.0, 8.0])))
    with pytest.raises(ValueError, match="columns of different lengths"):
        build(botkit.Trade, fields, columns(numpy.array([7, 8, 9], numpy.int64)))
