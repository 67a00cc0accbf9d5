"""Point 3: a price or size no market has (1e400, twenty digits, 1e-400) is a parse
error on every venue and on the compiled path, like NaN and negatives, never a trade."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import botkit
from botkit.protocol import VENUES, FrameDecoder, parser_for, venue_for
from botkit.protocol._compiled import available

from ..helpers import trade
from .conftest import SAMPLE_TRADES, cli, trade_line_index

HUGE = ["1e400", "1" + "0" * 20, "1000000000000001"]
TINY = ["1e-400", "0." + "0" * 20 + "1"]


def _frame(venue: str, price: str, size: str) -> bytes:
    good = trade(7)
    bad = botkit.Trade(venue, good.symbol, Decimal(price), Decimal(size), good.side,
                       -1 if venue == "kraken" else 7, good.ts_exchange // 1000 * 1000, good.ts_recv,
                       venue_for(venue).venue_symbol(good.symbol))
    frame = venue_for(venue).encoder().encode_trade(bad)
    return frame if isinstance(frame, bytes) else frame.encode()


@pytest.mark.parametrize("venue", sorted(VENUES))
@pytest.mark.parametrize(("price", "size"), [*((p, "1") for p in HUGE + TINY), *(("100", s) for s in HUGE)])
def test_out_of_range_values_are_parse_errors_on_every_venue(venue: str, price: str, size: str) -> None:
    decoder = FrameDecoder(parser_for(venue))
    frame = _frame(venue, price, size)
    assert decoder.decode(frame, 1) == []
    assert decoder.parse_errors == 1, frame
    assert "out of range" in str(decoder.last_error)
    assert decoder.decode(_frame(venue, "100", "1"), 2)  # the same frame in range is a trade


@pytest.mark.skipif(not available(), reason="the C accelerator is not built")
@pytest.mark.parametrize("value", HUGE + TINY + ["99999999999999", "0.000000000001"])
def test_the_compiled_path_applies_the_same_bounds(value: str) -> None:
    frames = [_frame("binance", value, "1"), _frame("binance", "100", value)]
    compiled = FrameDecoder(parser_for("binance"))
    plain = FrameDecoder(parser_for("binance"))
    fast = compiled.decode_frames(frames, 1)
    slow = [e for f in frames for e in plain.decode(f, 1)]
    assert fast == slow and compiled.parse_errors == plain.parse_errors


@pytest.mark.parametrize("value", ["1e400", "1" + "0" * 400])
def test_the_sample_with_one_absurd_price_counts_one_parse_error(capsys, variant, counter, value) -> None:
    def change(lines: list[str]) -> list[str]:
        index = trade_line_index(lines, 100)
        price = lines[index].split('"p":"', 1)[1].split('"', 1)[0]
        lines[index] = lines[index].replace(f'"p":"{price}"', f'"p":"{value}"')
        return lines

    code, out, err = cli(capsys, "backtest", counter, "--data", variant("big.txt", change), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["parse_errors"] == 1 and summary["events_by_type"]["Trade"] == SAMPLE_TRADES - 1
    assert summary["halts"] == [] and not summary["trading"].get("kill_switch")


@pytest.mark.parametrize("bad", [*HUGE, *TINY, "NaN", "sNaN", "Infinity", "-1", "0"])
@pytest.mark.parametrize("column", [0, 1])
def test_a_book_level_out_of_range_anywhere_in_a_diff_is_a_parse_error(bad: str, column: int) -> None:
    # The levels of a diff are checked as their text becomes Decimals: the bad one may be
    # the only level, the first or the last; a size of 0 (a removal) or a tiny one stays
    # valid, as in_range has it. Also with the good ones already cached.
    from botkit.protocol._common import decimal_levels, text_levels

    good = [("100.5", "0"), ("101", "2")]
    level = (bad, "1") if column == 0 else ("100", bad)
    for convert in (decimal_levels, text_levels):
        caches: tuple[dict[str, Decimal], dict[str, Decimal]] = ({}, {})
        assert convert(good, *caches) == tuple((Decimal(p), Decimal(q)) for p, q in good)
        if column == 1 and (bad == "0" or bad in TINY):
            assert convert([level, *good], *caches)[0] == (Decimal(100), Decimal(bad))
            continue
        for levels in ([level], [level, *good], [*good, level]):
            with pytest.raises(botkit.ParseError, match="out of range"):
                convert(levels, *caches)
