"""Order book sync: property-tested against a naive reference, then on real captures."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import botkit
from botkit import ParseError
from botkit.protocol import BinanceSpotParser, FrameDecoder, _compiled
from botkit.protocol._book import BookSync, OrderBook

from ..conftest import shared_file

D = Decimal
_prices = st.integers(1, 40).map(lambda i: D(i))
_updates = st.lists(st.tuples(_prices, st.integers(0, 3).map(D)), max_size=6)


def reference(states: list[dict[Decimal, Decimal]]) -> dict[Decimal, Decimal]:
    """The naive book: the last state, explicitly tracked."""
    return states[-1] if states else {}


@given(st.lists(st.tuples(_updates, _updates), min_size=1, max_size=30), st.data())
def test_synced_book_equals_naive_reference(steps: list, data: st.DataObject) -> None:
    # The venue's true book evolves by the steps; it sends deltas with contiguous ids.
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    history = []
    deltas = []
    for i, (b, a) in enumerate(steps, start=1):
        for side, levels in ((bids, b), (asks, a)):
            for price, size in levels:
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
        history.append((dict(bids), dict(asks)))
        deltas.append(botkit.BookDelta("binance", "X", tuple(b), tuple(a), i, i, 0, i))
    # The snapshot is taken at some id after the first buffered delta arrived.
    snap_at = data.draw(st.integers(0, len(steps)))
    snap_bids, snap_asks = history[snap_at - 1] if snap_at else ({}, {})
    snapshot = botkit.BookSnapshot(
        "binance", "X", tuple(snap_bids.items()), tuple(snap_asks.items()), snap_at, 0, 0
    )
    sync = BookSync("binance", "X")
    arrive_before = data.draw(st.integers(0, len(deltas)))
    out = []
    for delta in deltas[:arrive_before]:
        out += sync.on_delta(delta)
    out += sync.on_snapshot(snapshot)
    for delta in deltas[arrive_before:]:
        out += sync.on_delta(delta)
    if arrive_before and snapshot.last_update_id < deltas[0].first_update_id - 1:
        assert out == [] and sync.needs_snapshot  # too old for the buffer: ask for another
        return
    assert not any(isinstance(e, botkit.Gap) for e in out)
    assert sync.book.bids == reference([h[0] for h in history])
    assert sync.book.asks == reference([h[1] for h in history])
    assert sync.book.last_update_id == len(steps)


def test_a_missing_delta_is_a_gap_and_a_new_snapshot_heals_it() -> None:
    sync = BookSync("binance", "X")
    snap = botkit.BookSnapshot("binance", "X", ((D(9), D(1)),), ((D(11), D(1)),), 10, 0, 0)
    assert sync.on_snapshot(snap) == [snap]
    ok = botkit.BookDelta("binance", "X", ((D(9), D(2)),), (), 11, 12, 0, 1)
    assert sync.on_delta(ok) == [ok]
    skipped = botkit.BookDelta("binance", "X", ((D(8), D(1)),), (), 15, 16, 0, 2)
    assert sync.on_delta(skipped) == [botkit.Gap("binance", "X", "books", 13, 15, 2)]
    assert sync.needs_snapshot and not sync.synced
    fresh = botkit.BookSnapshot("binance", "X", ((D(9), D(2)), (D(8), D(1))), ((D(11), D(1)),), 16, 0, 3)
    assert sync.on_snapshot(fresh) == [fresh]
    assert sync.synced and sync.book.best_bid() == (D(9), D(2))


def test_futures_style_pu_continuity() -> None:
    sync = BookSync("binance", "X")
    sync.on_snapshot(botkit.BookSnapshot("binance", "X", (), (), 100, 0, 0))
    linked = botkit.BookDelta("binance", "X", (), (), 90, 105, 0, 1, prev_update_id=100)
    assert sync.on_delta(linked) == [linked]
    broken = botkit.BookDelta("binance", "X", (), (), 106, 110, 0, 2, prev_update_id=104)
    assert isinstance(sync.on_delta(broken)[0], botkit.Gap)


def test_cryptofeed_capture_syncs_every_symbol_without_gaps() -> None:
    ws = shared_file("cryptofeed-sample-data", "BINANCE.ws.1.0")
    http = shared_file("cryptofeed-sample-data", "BINANCE.http.0.0")
    frames: list[tuple[int, bytes]] = []
    for line in ws.read_bytes().splitlines():
        if line[:1].isdigit():
            ts, _, frame = line.partition(b": ")
            frames.append((int(float(ts) * 1e9), frame))
    for line in http.read_bytes().splitlines():
        url, arrow, rest = line.partition(b" -> ")
        if not arrow:
            continue
        ts, _, body = rest.partition(b": ")
        path = url.decode().split("binance.com", 1)[1]
        frames.append((int(float(ts) * 1e9), b'{"rest":"%s","data":%s}' % (path.encode(), body)))
    frames.sort(key=lambda f: f[0])
    decoder = FrameDecoder(BinanceSpotParser())
    events = [e for ts, frame in frames for e in decoder.decode(frame, ts)]
    assert decoder.parse_errors == 0 and decoder.gaps == 0
    assert set(decoder.books) == {"NKN-USDT", "BLZ-ETH", "LRC-BTC", "RUNE-EUR"}
    for symbol, sync in decoder.books.items():
        assert sync.synced, symbol
        assert not sync.book.crossed(), symbol
    snapshots = [e for e in events if isinstance(e, botkit.BookSnapshot)]
    assert len(snapshots) == 4


def test_2024_capture_book_matches_the_venues_top_of_book() -> None:
    """bookTicker and diff depth share one update-id sequence: after each applied diff
    (book at id X), our best bid/ask must equal the latest bookTicker with u <= X."""
    path = shared_file("hftbacktest-binance-2024", "btcusdt_20240808.gz")
    decoder = FrameDecoder(BinanceSpotParser())
    latest_quote: botkit.Quote | None = None
    quotes: list[botkit.Quote] = []
    checked = 0
    with gzip.open(path) as fh:
        for line in fh:
            ts, _, frame = line.rstrip(b"\n").partition(b" ")
            for event in decoder.decode(frame, int(ts)):
                if isinstance(event, botkit.Quote):
                    quotes.append(event)
                elif isinstance(event, botkit.BookDelta):
                    book = decoder.books["BTC-USDT"].book
                    due = [q for q in quotes if q.update_id <= book.last_update_id]
                    if due:
                        latest_quote = due[-1]
                        quotes = [q for q in quotes if q.update_id > book.last_update_id]
                        if latest_quote.update_id > event.first_update_id - 1:
                            assert book.best_bid() == (latest_quote.bid_price, latest_quote.bid_size)
                            assert book.best_ask() == (latest_quote.ask_price, latest_quote.ask_size)
                            checked += 1
    assert decoder.gaps == 0
    assert decoder.books["BTC-USDT"].synced
    assert checked > 1000


def test_order_book_levels_and_crossing() -> None:
    book = OrderBook()
    book.reset(botkit.BookSnapshot("binance", "X", ((D(9), D(1)), (D(8), D(2))), ((D(10), D(1)),), 1, 0, 0))
    assert book.levels(1) == (((D(9), D(1)),), ((D(10), D(1)),))
    book.apply(botkit.BookDelta("binance", "X", ((D(10), D(5)),), (), 2, 2, 0, 0))
    assert book.crossed()
    assert json.dumps(str(book.best_bid()))  # printable


_any_prices = st.decimals(min_value=D("0.01"), max_value=D(100), places=2, allow_nan=False, allow_infinity=False)
_changes = st.lists(st.tuples(_any_prices, st.sampled_from([D(0), D("0.5"), D(1), D(3)])), max_size=8)


@given(st.lists(st.tuples(_changes, _changes), min_size=1, max_size=40), st.integers(0, 6), _any_prices)
def test_every_read_of_the_book_equals_the_naive_dict_book(steps: list, depth: int, probe: Decimal) -> None:
    # The naive book the fast one replaced: dicts, with max/min/sorted on every read.
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    book = OrderBook()
    for i, (b, a) in enumerate(steps):
        for side, changes in ((bids, b), (asks, a)):
            for price, size in changes:
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
        book.apply(botkit.BookDelta("binance", "X", tuple(b), tuple(a), i, i, 0, 0))
        best_bids = sorted(bids.items(), reverse=True)
        best_asks = sorted(asks.items())
        assert book.best_bid() == (best_bids[0] if best_bids else None)
        assert book.best_ask() == (best_asks[0] if best_asks else None)
        assert book.levels(depth) == (tuple(best_bids[:depth]), tuple(best_asks[:depth]))
        assert book.levels() == (tuple(best_bids), tuple(best_asks))
        assert book.bids == bids and book.asks == asks and book.depth() == (len(bids), len(asks))
        assert book.size_at(probe) == bids.get(probe, asks.get(probe, D(0)))
        assert book.bid_volume(probe) == sum((s for p, s in bids.items() if p >= probe), D(0))
        assert book.ask_volume(probe) == sum((s for p, s in asks.items() if p <= probe), D(0))
        assert book.crossed() == bool(bids and asks and max(bids) >= min(asks))
        if bids and asks:
            assert book.mid() == (max(bids) + min(asks)) / 2
            assert book.spread() == min(asks) - max(bids)
        else:
            assert book.mid() is None and book.spread() is None
        top_b = sum((s for _, s in best_bids[:depth]), D(0))
        top_a = sum((s for _, s in best_asks[:depth]), D(0))
        expected = (top_b - top_a) / (top_b + top_a) if top_b + top_a else None
        assert book.imbalance(depth) == expected
    book.truncate(depth)
    assert book.levels() == (tuple(sorted(bids.items(), reverse=True)[:depth]), tuple(sorted(asks.items())[:depth]))


def test_a_snapshot_replaces_the_book_and_keeps_the_venues_decimals() -> None:
    book = OrderBook()
    book.apply(botkit.BookDelta("binance", "X", ((D(5), D(1)),), ((D(6), D(1)),), 1, 1, 0, 0))
    book.reset(botkit.BookSnapshot("binance", "X", ((D("9.10"), D("1.000")), (D(8), D(0))),
                                   ((D("10.5"), D(2)),), 7, 0, 0))
    assert book.levels() == (((D("9.10"), D("1.000")),), ((D("10.5"), D(2)),))
    assert str(book.best_bid()[0]) == "9.10" and book.last_update_id == 7  # type: ignore[index]
    assert book.size_at(D(8)) == 0  # a zero size in a snapshot is no level


@pytest.mark.skipif(_compiled.update_side is None, reason="the C accelerator is not built")
@given(st.lists(_changes, min_size=1, max_size=30), st.booleans())
def test_the_compiled_update_loop_equals_the_python_one(steps: list, asks: bool) -> None:
    from botkit.protocol import _book

    ours: tuple[list[Decimal], dict] = ([], {})
    reference: tuple[list[Decimal], dict] = ([], {})
    for changes in steps:
        _compiled.update_side(*ours, tuple(changes), asks)
        _book._update_side(*reference, tuple(changes), asks)
        assert ours == reference
        assert ours[0] == sorted(ours[0], reverse=asks) and set(ours[0]) == set(ours[1])


@pytest.mark.skipif(_compiled.update_side is None, reason="the C accelerator is not built")
def test_the_compiled_loop_refuses_what_is_not_a_level_and_passes_errors_on() -> None:
    keys: list[Decimal] = [D(1)]
    levels = {D(1): (D(1), D(1))}
    with pytest.raises(TypeError, match="a book level must be a"):
        _compiled.update_side(keys, levels, ([D(2), D(1)],), False)
    with pytest.raises(ArithmeticError):  # Decimal's own: a NaN has no place in the order
        _compiled.update_side(keys, levels, ((D("NaN"), D(1)),), False)
    assert keys == [D(1)] and levels == {D(1): (D(1), D(1))}


_texts = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=8, allow_nan=False).map(lambda d: format(d, "f")),
    st.sampled_from(["0", "0.00000000", "1e-5", "-1", "NaN", "1E+3", "0.0000000000001", "1000000000000000",
                     "999999999999999.5", ".5", "5.", " 5", "1_000", "١", "0.000000000001", "00012.50"]),
    st.text(alphabet="0123456789.-eE", max_size=6),
)


@pytest.mark.skipif(_compiled.text_levels is None, reason="the C accelerator is not built")
@given(st.lists(st.lists(st.tuples(_texts, _texts), max_size=6), min_size=1, max_size=8))
def test_compiled_text_levels_equal_the_python_ones_or_leave_them_to_it(batches: list) -> None:
    from botkit.protocol._common import text_levels

    caches: tuple[dict, dict] = ({}, {})
    for pairs in batches:
        try:
            expected: object = text_levels(pairs, {}, {})
        except (ParseError, ArithmeticError) as exc:  # a bad value: the reference raises
            expected = type(exc)
        ours = _compiled.text_levels(pairs, *caches)
        if ours is None:  # not plainly valid: left to the reference, which decides
            continue
        assert ours == expected
        assert [tuple(map(str, level)) for level in ours] == [tuple(map(str, level)) for level in expected]  # digits
        for (price_text, size_text), (price, size) in zip(pairs, ours, strict=True):
            assert caches[0][price_text] is price and caches[1][size_text] is size  # cached, and shared


def test_levels_from_text_are_cached_checked_and_refused_when_bad() -> None:
    from botkit.protocol._common import decimal_levels

    prices: dict[str, Decimal] = {}
    sizes: dict[str, Decimal] = {}
    first = decimal_levels([("100.50", "0.000"), ("1E+2", "2")], prices, sizes)
    assert first == ((D("100.50"), D(0)), (D(100), D(2))) and str(first[0][0]) == "100.50"
    again = decimal_levels([("100.50", "2")], prices, sizes)
    assert again[0][0] is first[0][0] and again[0][1] is first[1][1]  # the same Decimals: hashes kept
    for bad in (("0", "1"), ("NaN", "1"), ("1", "-1"), ("1e16", "1"), ("0.0000000000001", "1")):
        with pytest.raises((ParseError, ArithmeticError)):
            decimal_levels([bad], prices, sizes)
    assert "0" not in prices and "NaN" not in prices  # nothing bad is cached
