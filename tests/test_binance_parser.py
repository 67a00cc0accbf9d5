"""Binance spot parser: generated round-trips, hostile input, real captures."""

import gzip
import json
from collections import Counter
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import botkit
from botkit.protocol import BinanceSpotParser, parser_for
from botkit.protocol.binance import encode_quote, encode_trade, rest_frame
from botkit.testing import quotes, trades

from .conftest import shared_file


@given(trades(ms_timestamps=True).filter(lambda t: t.price > 0))
def test_generated_trade_frames_parse_back_to_the_trade(trade: botkit.Trade) -> None:
    assert BinanceSpotParser().parse(encode_trade(trade), trade.ts_recv) == [trade]


@given(quotes(exchange_time=False).filter(lambda q: q.bid_price > 0 and q.ask_price > 0))
def test_generated_book_ticker_frames_parse_back_to_the_quote(quote: botkit.Quote) -> None:
    assert BinanceSpotParser().parse(encode_quote(quote).decode(), quote.ts_recv) == [quote]


@given(trades(ms_timestamps=True).filter(lambda t: t.price > 0))
def test_raw_and_agg_trade_envelopes(trade: botkit.Trade) -> None:
    data = json.loads(encode_trade(trade))["data"]
    parser = BinanceSpotParser()
    assert parser.parse(json.dumps(data), trade.ts_recv) == [trade]
    agg = {"e": "aggTrade", "E": 1, "s": data["s"], "a": trade.trade_id, "p": data["p"], "q": data["q"],
           "f": 1, "l": 2, "T": data["T"], "m": data["m"], "M": True}
    combined = json.dumps({"stream": f"{data['s'].lower()}@aggTrade", "data": agg})
    assert parser.parse(combined, trade.ts_recv) == [trade]
    assert parser.parse(json.dumps(agg), trade.ts_recv) == [trade]


@given(st.lists(st.one_of(trades(ms_timestamps=True).filter(lambda t: t.price > 0),
                          quotes(exchange_time=False).filter(lambda q: q.bid_price > 0 and q.ask_price > 0),
                          st.sampled_from([b'{"stream":"btcusdt@trade_x","data":{}}', b'{"stream":"\x00"}'])),
                max_size=30))
def test_one_parser_on_interleaved_streams(items: list) -> None:
    # The parser keeps the last stream's handler keyed by the frame prefix: any order of
    # streams, symbols and unknown streams must give what a fresh parser gives.
    parser = BinanceSpotParser()
    for item in items:
        if isinstance(item, bytes):
            with pytest.raises(botkit.ParseError):
                parser.parse(item, 1)
            continue
        frame = encode_trade(item) if isinstance(item, botkit.Trade) else encode_quote(item)
        assert parser.parse(frame, item.ts_recv) == BinanceSpotParser().parse(frame, item.ts_recv) == [item]
        # A stream whose name merely starts with the last one's is not that stream.
        with pytest.raises(botkit.ParseError, match="unknown Binance stream"):
            parser.parse(frame.replace(b'","data"', b'x","data"', 1), item.ts_recv)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_parse_error(frame: bytes) -> None:
    try:
        BinanceSpotParser().parse(frame, 0)
    except botkit.ParseError:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)
_keys = st.sampled_from(["e", "s", "t", "p", "q", "T", "m", "u", "b", "B", "a", "A", "U", "E", "k", "code", "msg",
                         "result", "id", "lastUpdateId", "bids", "asks"])


@given(
    st.sampled_from(["trade", "aggTrade", "bookTicker", "depth@100ms", "kline_1m", "nope"]),
    st.dictionaries(_keys, _json, max_size=10),
    st.booleans(),
)
def test_arbitrary_json_payloads_raise_only_parse_error(channel: str, payload: dict, combined: bool) -> None:
    frame = json.dumps({"stream": f"btcusdt@{channel}", "data": payload} if combined else payload)
    try:
        events = BinanceSpotParser().parse(frame, 0)
    except botkit.ParseError:
        return
    for event in events:  # whatever parsed must be a sane event
        assert attrs.has(type(event))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b'{"stream":"btcusdt@trade","data":{"e":"trade","s":"B","t":1,"p":"NaN","q":"1","T":1,"m":true}}',
         "price/size out of range: NaN x 1"),
        (b'{"stream":"btcusdt@trade","data":{"e":"trade","s":"B","t":1,"p":"Infinity","q":"1","T":1,"m":true}}',
         "price/size out of range: Infinity x 1"),
        (b'{"stream":"btcusdt@trade","data":{"e":"trade","s":"B","t":1,"p":"-1","q":"1","T":1,"m":true}}',
         "price/size out of range"),
        (b'{"stream":"btcusdt@ticker","data":{}}', "unknown Binance stream"),
        (b'{"e":"outboundAccountPosition"}', "unknown Binance event type"),
        (b'{"code":2,"msg":"Invalid request"}', "Binance error frame 2: Invalid request"),
        (b"not json", r"malformed Binance frame \(JSON is malformed"),
        (b"[1,2]", r"unknown Binance frame \(not a JSON object\)"),
    ],
)
def test_bad_frames_say_what_is_wrong(frame: bytes, message: str) -> None:
    with pytest.raises(botkit.ParseError, match=message):
        BinanceSpotParser().parse(frame, 0)


def test_acks_are_ignorable_and_rest_snapshots_parse() -> None:
    parser = BinanceSpotParser()
    assert parser.parse(b'{"result":null,"id":1}', 0) == []
    assert parser.ignored == 1
    one = Decimal("1.0"), Decimal("2.0")
    bare = parser.parse(b'{"lastUpdateId":5,"bids":[["1.0","2.0"]],"asks":[]}', 7)
    assert bare == [botkit.BookSnapshot("binance", "", (one,), (), 5, 0, 7)]
    wrapped = rest_frame("/api/v3/depth?symbol=BTCUSDT&limit=1000", b'{"lastUpdateId":5,"bids":[["1.0","2.0"]],"asks":[]}')
    assert parser.parse(wrapped, 7) == [botkit.BookSnapshot("binance", "BTC-USDT", (one,), (), 5, 0, 7, "BTCUSDT")]


def test_unknown_venue_is_a_config_error() -> None:
    with pytest.raises(botkit.ConfigError, match="unknown venue 'nasdaq'; known venues: binance"):
        parser_for("nasdaq")


def test_real_2024_capture_parses_completely() -> None:
    path = shared_file("hftbacktest-binance-2024", "btcusdt_20240808.gz")
    parser = BinanceSpotParser()
    counts: Counter[str] = Counter()
    last_trade_id = None
    with gzip.open(path) as fh:
        for line in fh:
            ts, _, frame = line.rstrip(b"\n").partition(b" ")
            for event in parser.parse(frame, int(ts)):
                counts[type(event).__name__] += 1
                if isinstance(event, botkit.Trade):
                    assert event.symbol == "BTC-USDT" and event.venue_symbol == "BTCUSDT" and event.ts_recv == int(ts)
                    assert last_trade_id is None or event.trade_id == last_trade_id + 1
                    last_trade_id = event.trade_id
    # MANIFEST.md: depth@100ms 3451, bookTicker 28040, trade 9757, one REST snapshot.
    assert counts == {"BookDelta": 3451, "Quote": 28040, "Trade": 9757, "BookSnapshot": 1}


def test_real_2021_capture_parses_every_frame() -> None:
    path = shared_file("cryptofeed-sample-data", "BINANCE.ws.1.0")
    parser = BinanceSpotParser()
    counts: Counter[str] = Counter()
    frames = 0
    for line in path.read_bytes().splitlines():
        if not line[:1].isdigit():
            continue  # the connection line
        ts, _, frame = line.partition(b": ")
        frames += 1
        for event in parser.parse(frame, int(float(ts) * 1e9)):
            counts[type(event).__name__] += 1
    assert frames == 265
    assert counts == {"BookDelta": 177, "Quote": 84, "Trade": 2, "Bar": 2}
    bar_line = next(ln for ln in path.read_bytes().splitlines() if ln[:1].isdigit() and b"@kline_1m" in ln)
    bar = parser.parse(bar_line.partition(b": ")[2], 0)[0]
    assert isinstance(bar, botkit.Bar) and bar.interval == "1m" and bar.high >= bar.low
    assert isinstance(bar.volume, Decimal)


_levels = st.lists(st.tuples(st.decimals("0.00000001", "1000000", places=8), st.decimals("0", "1000000", places=8)),
                   max_size=5)


@given(st.integers(0, 2**40), st.integers(0, 100), _levels, _levels, st.integers(0, 2**41), st.booleans())
def test_generated_depth_updates_parse_to_book_deltas(first: int, span: int, bids, asks, ms: int, combined: bool) -> None:
    data = {"e": "depthUpdate", "E": ms, "s": "BTCUSDT", "U": first, "u": first + span,
            "b": [[str(p), str(q)] for p, q in bids], "a": [[str(p), str(q)] for p, q in asks]}
    frame = json.dumps({"stream": "btcusdt@depth@100ms", "data": data} if combined else data)
    expected = botkit.BookDelta("binance", "BTC-USDT", tuple(bids), tuple(asks), first, first + span, ms * 1_000_000, 9,
                                venue_symbol="BTCUSDT")
    assert BinanceSpotParser().parse(frame, 9) == [expected]


@given(st.lists(st.decimals("0.00000001", "1000000", places=8), min_size=4, max_size=4),
       st.decimals("0", "1000000", places=8), st.integers(0, 2**41), st.booleans(), st.sampled_from(["1m", "1h"]))
def test_generated_klines_parse_to_bars(ohlc: list, volume, start: int, closed: bool, interval: str) -> None:
    o, h, low, c = ohlc
    k = {"t": start, "T": start + 59_999, "s": "BTCUSDT", "i": interval, "o": str(o), "h": str(h), "l": str(low),
         "c": str(c), "v": str(volume), "x": closed}
    frame = json.dumps({"stream": f"btcusdt@kline_{interval}", "data": {"e": "kline", "E": start, "s": "BTCUSDT", "k": k}})
    bar = BinanceSpotParser().parse(frame, 3)[0]
    assert bar == botkit.Bar("binance", "BTC-USDT", interval, o, h, low, c, volume, start * 1_000_000,
                             (start + 59_999) * 1_000_000, closed, 3, "BTCUSDT")
