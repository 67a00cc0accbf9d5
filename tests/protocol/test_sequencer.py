"""Trade-id sequencing: gaps are visible, duplicates dropped, order kept."""

from hypothesis import given
from hypothesis import strategies as st

import botkit
from botkit.protocol import BinanceSpotParser, FrameDecoder
from botkit.protocol.binance import encode_trade

from ..helpers import trade


def decode_all(decoder: FrameDecoder, ids: list[int]) -> list[botkit.Event]:
    out: list[botkit.Event] = []
    for i in ids:
        out += decoder.decode(encode_trade(trade(i)), trade(i).ts_recv)
    return out


def test_gap_event_precedes_the_trade_after_it() -> None:
    decoder = FrameDecoder(BinanceSpotParser())
    events = decode_all(decoder, [1, 2, 5, 6])
    gap = botkit.Gap("binance", "BTC-USDT", "trades", 3, 5, trade(5).ts_recv)
    assert events == [trade(1), trade(2), gap, trade(5), trade(6)]
    assert decoder.gaps == 1


def test_duplicates_are_dropped_and_counted() -> None:
    decoder = FrameDecoder(BinanceSpotParser())
    events = decode_all(decoder, [1, 2, 2, 1, 3])
    assert [e.trade_id for e in events] == [1, 2, 3]
    assert decoder.duplicates == 2


def test_garbage_is_counted_not_raised() -> None:
    decoder = FrameDecoder(BinanceSpotParser())
    assert decoder.decode(b"\x00garbage", 0) == []
    assert decoder.parse_errors == 1 and decoder.frames == 1


@given(st.lists(st.integers(0, 50), max_size=60))
def test_every_trade_at_most_once_in_increasing_order(ids: list[int]) -> None:
    decoder = FrameDecoder(BinanceSpotParser())
    events = decode_all(decoder, ids)
    delivered = [e.trade_id for e in events if isinstance(e, botkit.Trade)]
    assert delivered == sorted(set(delivered))
    missing = sum(g.received - g.expected for g in events if isinstance(g, botkit.Gap))
    if delivered:
        assert delivered[-1] - delivered[0] + 1 == len(delivered) + missing
    assert len(delivered) + decoder.duplicates == len(ids)
