"""The compiled trade path (``binance/_ctrades.c``, ``sources/_clines.c``) against its pure-Python reference.

Whatever the input, both must give the same events, the same counters and the same
errors: frames one at a time (the live path) and whole recordings (the replay path,
including lines split across read chunks).
"""

from __future__ import annotations

import gc
import gzip
import os
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import botkit
from botkit.protocol import BinanceSpotParser, FrameDecoder, _compiled
from botkit.protocol.binance import encode_quote, encode_trade
from botkit.sources import ReplaySource, _recording
from botkit.sources._replay import replay_decoder

from ..helpers import MS, T0, quote, trade

needs_compiled = pytest.mark.skipif(not _compiled.available(), reason="the C accelerator is not built here")


@pytest.fixture
def pure(monkeypatch: pytest.MonkeyPatch):
    """Build parsers and decoders without the compiled path (inside the ``with``)."""

    class Pure:
        def __enter__(self) -> None:
            monkeypatch.setattr(_compiled, "TradeDecoder", None)
            monkeypatch.setattr(_compiled, "HotPath", None)

        def __exit__(self, *exc: object) -> None:
            monkeypatch.undo()

    return Pure()


def test_the_accelerator_is_built_where_a_compiler_is() -> None:
    # A silently failed build would leave CI testing only the pure-Python path.
    if os.environ.get("BOTKIT_PURE_PYTHON") or os.environ.get("BOTKIT_NO_SPEEDUPS"):
        pytest.skip("the compiled path is turned off by the environment")
    if not (shutil.which("cc") or shutil.which("gcc")) or sys.implementation.name != "cpython":
        pytest.skip("no C compiler here: botkit runs its pure-Python path")
    assert _compiled.available(), "the C accelerators were not built (see the install log)"


def _outcome(parse, frame: bytes, ts: int) -> object:
    try:
        return parse(frame, ts)
    except botkit.ParseError as exc:
        return ("ParseError", str(exc))


_GOOD = (b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"61000.50",'
         b'"q":"0.25","T":1723161255342,"m":true,"M":true}}')
_FRAMES = [
    _GOOD,
    _GOOD.replace(b'"m":true', b'"m":false'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":"NaN"'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":"-1"'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":"0"'),
    _GOOD.replace(b'"q":"0.25"', b'"q":"Infinity"'),
    _GOOD.replace(b'"q":"0.25"', b'"q":"0"'),
    # Texts Decimal reads its own way (the compiled path builds and caches them itself).
    _GOOD.replace(b'"p":"61000.50"', b'"p":"6.1E+4"'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":"61_000.5"'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":" 61000.5 "'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":"+61000.5"'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":"sNaN"'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":"abc"'),
    _GOOD.replace(b'"p":"61000.50"', b'"p":61000.5'),  # a JSON number
    _GOOD.replace(b'"q":"0.25"', b'"q":"-0"'),
    _GOOD.replace(b'"q":"0.25"', b'"q":"2.5e-1"'),
    _GOOD.replace(b'"q":"0.25"', b'"q":"\\u0030.25"'),
    _GOOD.replace(b'"t":7,', b""),  # missing field
    _GOOD.replace(b'"t":7', b'"t":"7"'),  # wrong type
    _GOOD.replace(b'"s":"BTCUSDT"', b'"s":"ETHBTC"'),
    _GOOD[:-1] + b',"extra":1}',  # a third envelope key
    _GOOD[:-1] + b" }",  # whitespace before the envelope's end
    _GOOD + b"x",  # trailing garbage
    _GOOD[:-2],  # truncated
    _GOOD.replace(b'"stream":"btcusdt@trade"', b'"stream":"btcusdt@trade\\u0000"'),
    _GOOD.replace(b'{"stream":"btcusdt@trade","data":', b'{"data":') [:-1] + b',"stream":"btcusdt@trade"}',
    _GOOD.replace(b'"T":1723161255342', b'"T":99999999999999999999'),  # ts beyond 64 bits once scaled
    _GOOD.replace(b'"stream":"btcusdt@trade"', b'"stream":"btcusdt@aggTrade"').replace(b'"t":7', b'"a":7'),
    b'{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}}',
    b"not json",
    b"",
]


@needs_compiled
@pytest.mark.parametrize("frame", _FRAMES)
def test_frames_parse_the_same_compiled_and_pure(frame: bytes, pure) -> None:
    compiled = BinanceSpotParser()
    with pure:
        reference = BinanceSpotParser()
    # Twice each: the first frame of a stream picks its handler, the second takes the
    # hot path (in C for the compiled parser).
    for ts in (1, 2):
        assert _outcome(compiled.parse, _GOOD, ts) == _outcome(reference.parse, _GOOD, ts)
        assert _outcome(compiled.parse, frame, ts) == _outcome(reference.parse, frame, ts)
        assert _outcome(compiled.parse, frame.decode("latin-1"), ts) == _outcome(
            reference.parse, frame.decode("latin-1"), ts
        )


@needs_compiled
def test_compiled_events_are_ordinary_untracked_values() -> None:
    [event] = BinanceSpotParser().parse(_GOOD, 5)
    expected = botkit.Trade("binance", "BTC-USDT", Decimal("61000.50"), Decimal("0.25"), botkit.Side.SELL, 7,
                            1723161255342 * MS, 5, "BTCUSDT")
    assert type(event) is botkit.Trade and event == expected and hash(event) == hash(expected)
    assert attrs.evolve(event, trade_id=8).trade_id == 8
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.price = Decimal(1)  # type: ignore[misc]
    # Only strings, numbers and an enum member: no cycle possible, so not GC-tracked.
    assert not gc.is_tracked(event)


# -- whole recordings -------------------------------------------------------------------

_line = st.one_of(
    st.tuples(st.just("trade"), st.sampled_from(["BTC-USDT", "ETH-USDT"]), st.sampled_from([1, 1, 1, 0, 2, -3])),
    st.just(("quote",)),
    st.sampled_from([("raw", b""), ("raw", b"# a comment"), ("raw", b"not a line"), ("raw", b"123 garbage"),
                     ("raw", b"123 " + _GOOD.replace(b'"p":"61000.50"', b'"p":"-1"')),
                     ("raw", b"123 " + _GOOD.replace(b'"q":"0.25"', b'"q":"0"')),
                     ("raw", b"123 " + _GOOD.replace(b'"p":"61000.50"', b'"p":"6.1E+4"'))]),
)


def _write(path: Path, items: list[tuple], crlf: bool) -> Path:
    lines = [b'#botkit-recording 1 {"venue": "binance"}', *_lines(items)]
    end = b"\r\n" if crlf else b"\n"
    path.write_bytes(end.join(lines) + end)
    return path


def _lines(items: list[tuple]) -> list[bytes]:
    """Recording lines (no header) of ``items``."""
    lines = []
    next_id = {"BTC-USDT": 0, "ETH-USDT": 0}
    for i, item in enumerate(items):
        if item[0] == "trade":
            _, symbol, step = item
            next_id[symbol] += step  # 1: next id; 0: duplicate; 2: gap; -3: old
            event = trade(next_id[symbol], symbol=symbol, ts=T0 + i * MS)
            lines.append(b"%d %s" % (event.ts_recv, encode_trade(event)))
        elif item[0] == "quote":
            lines.append(b"%d %s" % (T0 + i * MS, encode_quote(quote(i))))
        else:
            lines.append(item[1])
    return lines


async def _replay(path: Path) -> tuple[list[botkit.Event], object]:
    source = ReplaySource(path)
    events: list[botkit.Event] = []

    async def publish(batch: list[botkit.Event]) -> None:
        events.extend(batch)

    with anyio.fail_after(10):
        try:
            await source.stream(publish)
        except botkit.DataError as exc:
            return events, str(exc)
    return events, attrs.asdict(source.stats)


@needs_compiled
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60, deadline=None)
@given(items=st.lists(_line, max_size=60), crlf=st.booleans(), chunk=st.sampled_from([64, 301, 1 << 20]))
def test_recordings_replay_the_same_compiled_and_pure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      pure, items: list[tuple], crlf: bool, chunk: int) -> None:
    # Small read chunks put line ends (and the header) across chunk boundaries.
    monkeypatch.setattr(_recording, "_CHUNK", chunk)
    compiled, reference = _both(_replay, _write(tmp_path / "r.txt", items, crlf), pure)
    assert compiled == reference


@needs_compiled
def test_a_long_run_of_trades_takes_the_compiled_path(tmp_path: Path, pure) -> None:
    path = _write(tmp_path / "r.txt", [("trade", "BTC-USDT", 1)] * 5000, crlf=False)
    block = path.read_bytes()
    decoder = replay_decoder(BinanceSpotParser())
    out: list[botkit.Event] = []
    start = block.index(b"\n") + 1
    first_end = block.index(b"\n", start)
    out += decoder.decode(block[start:first_end].partition(b" ")[2], T0)  # a symbol's first trade: Python
    pos, lines = decoder.decode_run(block, first_end + 1, len(block), out, 10_000)
    assert (pos, lines) == (len(block), 4999)  # the rest in one call
    assert [e.trade_id for e in out] == list(range(1, 5001))  # type: ignore[union-attr]
    assert decoder.frames == 5000
    with pure:
        reference = replay_decoder(BinanceSpotParser())
    assert reference.decode_run(block, 0, len(block), [], 10_000) == (0, 0)


# -- frames received together (the live path) -------------------------------------------


def _frames(items: list[tuple]) -> list[bytes]:
    return [line.partition(b" ")[2] if line[:1].isdigit() else line for line in _lines(items)]


def _decoded(decoder: FrameDecoder, batches: list[list[bytes]], together: bool) -> tuple:
    events: list[botkit.Event] = []
    for ts, frames in enumerate(batches):
        if together:
            events += decoder.decode_frames(frames, ts)
        else:
            for frame in frames:
                events += decoder.decode(frame, ts)
    return events, decoder.frames, decoder.parse_errors, decoder.gaps, decoder.trades.duplicates


@needs_compiled
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=80, deadline=None)
@given(items=st.lists(_line, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_frames_received_together_decode_as_one_by_one(pure, items: list[tuple], cuts: list[int]) -> None:
    frames = _frames(items)
    bounds = sorted({0, len(frames), *[c for c in cuts if c < len(frames)]})
    batches = [frames[a:b] for a, b in zip(bounds, bounds[1:])]
    compiled = _decoded(FrameDecoder(BinanceSpotParser()), batches, together=True)
    with pure:
        one_by_one = _decoded(FrameDecoder(BinanceSpotParser()), batches, together=False)
        pure_together = _decoded(FrameDecoder(BinanceSpotParser()), batches, together=True)
    assert compiled == one_by_one == pure_together


@needs_compiled
def test_prices_seen_once_or_many_times_give_the_same_trades(tmp_path: Path, pure) -> None:
    # The compiled path keeps the Decimals of price and size texts it has seen, and skips
    # that cache while texts stop repeating: 10,000 all-distinct texts (the cache gets
    # switched off), then 80,000 repeating ones (it comes back), then distinct again.
    def price(i: int) -> str:
        return f"{61000 + i / 100:.2f}{i:06d}" if i < 10_000 or i >= 90_000 else f"{61000 + i % 50:.2f}"

    events = [attrs.evolve(trade(i, ts=T0 + i * MS), price=Decimal(price(i)), size=Decimal(f"0.{i % 997:03d}1"))
              for i in range(100_000)]
    compiled, reference = _both(_replay, _trades_file(tmp_path, events), pure)
    assert compiled == reference
    assert [e.price for e in compiled[0]] == [e.price for e in events]  # type: ignore[union-attr]


@needs_compiled
def test_a_hit_that_closes_a_window_of_misses_keeps_its_value(tmp_path: Path, pure) -> None:
    # Texts that never repeat, except around the end of the cache's first window of
    # lookups (about two per trade): whichever lookup closes it is a hit, the cache is
    # dropped right after (too few hits), and that hit's Decimal must survive it.
    def text(i: int) -> int:
        return i - 1000 if 2030 <= i < 2070 else i

    events = [attrs.evolve(trade(i, ts=T0 + i * MS), price=Decimal(f"{61000 + text(i)}.5"),
                           size=Decimal(f"0.{text(i):05d}1"))
              for i in range(4096)]
    # Only the values are kept, so each batch's events are freed once published: the
    # Decimal of the repeated size then lives in the cache alone.
    compiled, reference = _both(_replay_values, _trades_file(tmp_path, events), pure)
    assert compiled == reference == [(str(e.price), str(e.size)) for e in events]


def _trades_file(tmp_path: Path, events: list[botkit.Trade]) -> Path:
    lines = [b'#botkit-recording 1 {"venue": "binance"}'] + [b"%d %s" % (e.ts_recv, encode_trade(e)) for e in events]
    path = tmp_path / "r.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _both(replay, path: Path, pure) -> tuple:
    """``replay(path)`` with the compiled path, then without it."""
    compiled = anyio.run(replay, path, backend="trio")
    with pure:
        return compiled, anyio.run(replay, path, backend="trio")


async def _replay_values(path: Path) -> list[tuple[str, str]]:
    values: list[tuple[str, str]] = []

    async def publish(batch: list[botkit.Event]) -> None:
        values.extend((str(e.price), str(e.size)) for e in batch)  # type: ignore[union-attr]

    with anyio.fail_after(10):
        await ReplaySource(path).stream(publish)
    return values


# -- the usual shape, matched without a JSON decoder ----------------------------------------

# Each value usually plain (the shape matches), sometimes one msgspec reads its own way.
_uint = st.one_of(st.integers(0, 10**18 - 1).map(str), st.sampled_from(
    ["0", "00", "01", "-1", "1.0", "1e3", "10" * 10, "999999999999999999", "1000000000000000000"]))
_text = st.one_of(st.from_regex(r"[1-9][0-9]{0,5}(\.[0-9]{1,8})?", fullmatch=True), st.sampled_from(
    ["0", "0.000", ".5", "5.", "1e5", "-1", "+1", " 1", "1_0", "NaN", "Infinity", "", "\\u0031", "1.2.3", "١"]))
_symbol = st.one_of(st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True), st.sampled_from(
    ["btcusdt", "BTC-USDT", "BTC\\u0055SDT", "", "ÄBC"]))
_bool = st.one_of(st.sampled_from(["true", "false"]), st.sampled_from(["1", "null", '"true"']))


def _value(kind: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly the strategy's first branch (plain), one time in eight any of it."""
    plain = kind.branches[0] if hasattr(kind, "branches") else kind  # type: ignore[attr-defined]
    return st.one_of(*[plain] * 7, kind)


@st.composite
def _inner(draw: st.DrawFn) -> bytes:
    fields = [("e", '"trade"' if draw(st.integers(0, 9)) else '"aggTrade"'), ("E", draw(_value(_uint))),
              ("s", f'"{draw(_value(_symbol))}"'), ("t", draw(_value(_uint))), ("p", f'"{draw(_value(_text))}"'),
              ("q", f'"{draw(_value(_text))}"'), ("T", draw(_value(_uint))), ("m", draw(_value(_bool))),
              ("M", draw(_value(_bool)))]
    if draw(st.integers(0, 9)) == 0:
        fields = draw(st.permutations(fields))
    if draw(st.integers(0, 9)) == 0:
        fields = fields[: draw(st.integers(0, len(fields) - 1))] + fields[draw(st.integers(0, len(fields))) :]
    if draw(st.integers(0, 9)) == 0:
        fields.append(("x", "1"))
    sep = draw(st.sampled_from([",", ",", ",", ", ", " ,"]))
    return ("{" + sep.join(f'"{k}":{v}' for k, v in fields) + "}").encode()


@needs_compiled
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300, deadline=None)
@given(inner=_inner())
def test_frames_near_the_usual_shape_parse_as_msgspec_does(pure, inner: bytes) -> None:
    # Values the shape matcher must take exactly as msgspec reads them, or leave to it.
    frame = b'{"stream":"btcusdt@trade","data":' + inner + b"}"
    compiled = BinanceSpotParser()
    with pure:
        reference = BinanceSpotParser()
    for ts in (1, 2):  # the stream's first frame picks its handler; the second is the hot path
        assert _outcome(compiled.parse, frame, ts) == _outcome(reference.parse, frame, ts)
    # And as recording lines, sequenced: after a first trade with id 6.
    first = _GOOD.replace(b'"t":7', b'"t":6')
    path_items = [b"%d %s" % (T0, first), b"%d %s" % (T0 + MS, frame), b"%d %s" % (T0 + 2 * MS, _GOOD)]

    def replayed() -> tuple:
        decoder = FrameDecoder(BinanceSpotParser())
        out: list[botkit.Event] = []
        for line in path_items:
            ts_text, _, f = line.partition(b" ")
            out += decoder.decode_frames([f], int(ts_text))
        return out, decoder.parse_errors, decoder.gaps, decoder.trades.duplicates

    together = replayed()
    with pure:
        assert together == replayed()


_PLAIN = {"e": '"trade"', "E": "1723161255343", "s": '"BTCUSDT"', "t": "7", "p": '"61000.50"', "q": '"0.25"',
          "T": "1723161255342", "m": "true", "M": "true"}
_ODD = {
    "uint": ["0", "00", "01", "-1", "1.0", "1e3", "1E3", "10" * 10, "999999999999999999", "1000000000000000000",
             "9999999999999999999", "99999999999999999999",
             '"7"', "null", "true"],
    "text": ['"0"', '"0.000"', '".5"', '"5."', '"1e5"', '"-1"', '"+1"', '" 1"', '"1_0"', '"NaN"', '"Infinity"', '""',
             '"\\u0031"', '"1.2.3"', '"١"', "61000.5", "null", '"' + "1" * 41 + '"'],
    "symbol": ['"btcusdt"', '"BTC-USDT"', '"BTC\\u0055SDT"', '""', '"ÄBC"', '"ETHBTC"', "1", '"' + "A" * 41 + '"'],
    "bool": ["false", "1", "0", "null", '"true"', "True"],
}
_KIND = {"E": "uint", "t": "uint", "T": "uint", "p": "text", "q": "text", "s": "symbol", "m": "bool", "M": "bool"}


@needs_compiled
@pytest.mark.parametrize(("key", "value"), [(k, v) for k, kind in _KIND.items() for v in _ODD[kind]])
def test_each_odd_value_in_the_usual_shape_parses_as_msgspec_does(pure, key: str, value: str) -> None:
    inner = "{" + ",".join(f'"{k}":{value if k == key else v}' for k, v in _PLAIN.items()) + "}"
    frame = b'{"stream":"btcusdt@trade","data":' + inner.encode() + b"}"
    compiled = BinanceSpotParser()
    with pure:
        reference = BinanceSpotParser()
    for ts in (1, 2):
        assert _outcome(compiled.parse, frame, ts) == _outcome(reference.parse, frame, ts)


@needs_compiled
def test_frames_of_more_interleaved_streams_than_the_front_routes_parse_as_pure(tmp_path: Path, pure) -> None:
    # Six streams (three per symbol) take turns: the compiled front keeps the four most
    # recent routes; every frame parses as the pure parser has it, whichever way it went.
    from bench.mix import make_mix_recording

    data = tmp_path / "mix.txt.gz"
    make_mix_recording(data, 3_000, "spot")
    frames = [line.split(b" ", 1)[1] for line in gzip.open(data).read().splitlines()[2:]]
    frames = [f.replace(b"btcusdt@", b"ethusdt@").replace(b'"BTCUSDT"', b'"ETHUSDT"') if i % 3 == 0 else f
              for i, f in enumerate(frames)]
    compiled = BinanceSpotParser()
    with pure:
        reference = BinanceSpotParser()
    assert [_outcome(compiled.parse, f, 7) for f in frames] == [_outcome(reference.parse, f, 7) for f in frames]
    assert len(compiled.parse.routes) == 4  # type: ignore[attr-defined]
