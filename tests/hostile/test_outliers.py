"""Point 1 of the hostile-input issue: one trade (or book diff) with an absurd id must
not blind the rest of a session; the outlier is counted and reported, delivery goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest

import botkit
from botkit.protocol._book import BookSync
from botkit.protocol._trades import TradeSequencer

from ..helpers import trade
from .conftest import SAMPLE_TRADES, cli, trade_line_index

D = Decimal


def ids(events: list[botkit.Event]) -> list[int]:
    return [e.trade_id for e in events if isinstance(e, botkit.Trade)]


def feed(seq: TradeSequencer, tids: list[int]) -> list[botkit.Event]:
    out: list[botkit.Event] = []
    for tid in tids:
        out += seq.on_trades([trade(tid)])
    return out + seq.flush()


@pytest.mark.parametrize("backfill", [False, True])
@pytest.mark.parametrize("absurd", [10 + 1_000_000, 10**40])
def test_one_absurd_id_is_dropped_and_the_sequence_goes_on(absurd: int, backfill: bool) -> None:
    seq = TradeSequencer("binance", backfill=backfill)
    out = feed(seq, [*range(1, 10), absurd, *range(10, 100)])
    assert ids(out) == list(range(1, 100))
    assert (seq.outliers, seq.duplicates, seq.gaps, seq.pending) == (1, 0, 0, {})
    status = [e for e in out if isinstance(e, botkit.FeedStatus)]
    assert len(status) == 1 and f"dropped trade id {absurd}" in status[0].reason


def test_a_real_jump_is_confirmed_by_the_next_trade_and_reported_as_a_gap() -> None:
    seq = TradeSequencer("binance", backfill=False)
    out = feed(seq, [1, 2, 3, 50_000, 50_001, 50_002])
    assert ids(out) == [1, 2, 3, 50_000, 50_001, 50_002]
    gaps = [e for e in out if isinstance(e, botkit.Gap)]
    assert [(g.expected, g.received) for g in gaps] == [(4, 50_000)]
    assert seq.outliers == 0


def test_a_real_jump_live_is_backfilled_after_confirmation() -> None:
    seq = TradeSequencer("binance", backfill=True)
    out = feed(seq, [1, 2, 5_000, 5_001])
    assert ids(out) == [1, 2]
    assert seq.pending["BTC-USDT"].from_id == 3 and seq.pending["BTC-USDT"].until_id == 5_000


def test_an_absurd_first_trade_is_corrected_when_the_real_sequence_follows() -> None:
    seq = TradeSequencer("binance", backfill=False)
    out = feed(seq, [9_999_999, *range(100, 200)])
    assert ids(out) == [9_999_999, *range(100, 200)]  # the first could not be known wrong yet
    assert seq.outliers == 1 and seq.duplicates == 0


def test_a_stale_trade_far_behind_is_a_duplicate() -> None:
    seq = TradeSequencer("binance", backfill=False)
    out = feed(seq, [*range(5_000, 5_010), 12, *range(5_010, 5_020)])
    assert ids(out) == list(range(5_000, 5_020))
    assert seq.duplicates == 1 and seq.outliers == 0


def test_a_jump_at_the_end_of_the_data_is_delivered() -> None:
    seq = TradeSequencer("binance", backfill=False)
    out = feed(seq, [1, 2, 3, 90_000])
    assert ids(out) == [1, 2, 3, 90_000]


def _delta(first: int, last: int, price: int = 9) -> botkit.BookDelta:
    return botkit.BookDelta("binance", "X", ((D(price), D(1)),), (), first, last, 0, 0)


def test_one_absurd_book_diff_does_not_make_every_snapshot_too_old() -> None:
    sync = BookSync("binance", "X")
    snap = botkit.BookSnapshot("binance", "X", ((D(9), D(1)),), ((D(11), D(1)),), 10, 0, 0)
    assert sync.on_snapshot(snap)
    assert sync.on_delta(_delta(11, 12))
    gap = sync.on_delta(_delta(10**12, 10**12 + 1))  # corrupt ids: the book breaks at once
    assert isinstance(gap[0], botkit.Gap) and sync.needs_snapshot
    for i in range(13, 20):
        sync.on_delta(_delta(i, i, price=i))
    # A fresh snapshot at 15: the real diffs after it chain on; the corrupt one is dropped.
    fresh = botkit.BookSnapshot("binance", "X", ((D(9), D(1)),), ((D(11), D(1)),), 15, 0, 0)
    out = sync.on_snapshot(fresh)
    assert sync.synced and [e.first_update_id for e in out[1:]] == [16, 17, 18, 19]
    assert sync.outliers == 1


def _jump(by: int | None = None, digits40: bool = False) -> Callable[[list[str]], list[str]]:
    def change(lines: list[str]) -> list[str]:
        index = trade_line_index(lines, SAMPLE_TRADES // 2)
        tid = int(lines[index].split('"t":', 1)[1].split(",", 1)[0])
        bad = str(10**39 + 7) if digits40 else str(tid + (by or 0))
        lines[index] = lines[index].replace(f'"t":{tid}', f'"t":{bad}')
        return lines

    return change


@pytest.mark.parametrize("command", ["backtest", "run"])
@pytest.mark.parametrize("change", [_jump(by=1_000_000), _jump(digits40=True)], ids=["plus-1e6", "40-digits"])
def test_the_sample_with_one_absurd_trade_id_delivers_every_other_trade(capsys, variant, counter, command,
                                                                        change) -> None:
    data = variant("jump.txt", change)
    code, out, err = cli(capsys, command, counter, "--data", data, "--json", "-q")
    assert code == 0, err
    summary = json.loads(out)
    # One trade replaced by the outlier: one real id missing (a Gap), the rest delivered.
    assert summary["events_by_type"]["Trade"] == SAMPLE_TRADES - 1
    assert (summary["outliers"], summary["duplicates"], summary["gaps"]) == (1, 0, 1)
    assert f"delivered {SAMPLE_TRADES - 1} trades, in order: True" in err


def _coinbase_match(trade_id: int, sequence: int, price: str = "100") -> bytes:
    return json.dumps({
        "type": "match", "trade_id": trade_id, "maker_order_id": "", "taker_order_id": "", "side": "sell",
        "size": "1", "price": price, "product_id": "BTC-USD", "sequence": sequence,
        "time": "2023-11-14T22:13:20.007000Z",
    }).encode()


def test_one_absurd_coinbase_sequence_does_not_make_every_later_message_stale() -> None:
    decoder = botkit.protocol.FrameDecoder(botkit.protocol.parser_for("coinbase"))
    out: list[botkit.Event] = []
    for i in range(1, 50):
        out += decoder.decode(_coinbase_match(i, 10**15 if i == 20 else 1000 + i), i)
    assert ids(out) == list(range(1, 50))  # the trade ids were sound, so was every trade
    assert decoder.parser.sequence_restarts == 1  # type: ignore[attr-defined]


def test_a_coinbase_frame_that_fails_its_checks_does_not_move_the_sequence() -> None:
    decoder = botkit.protocol.FrameDecoder(botkit.protocol.parser_for("coinbase"))
    assert decoder.decode(_coinbase_match(1, 500, price="1e400"), 1) == []
    assert ids(decoder.decode(_coinbase_match(1, 500), 2)) == [1]  # the same message, sound


def test_one_absurd_okx_book_sequence_costs_one_resync_not_the_book() -> None:
    """OKX links updates by prevSeqId -> seqId: a corrupt seqId breaks the chain once; the
    resubscribe's snapshot re-anchors the book and later updates apply."""
    from botkit.protocol import FrameDecoder, parser_for, venue_for

    encode = venue_for("okx").encoder().encode_book
    decoder = FrameDecoder(parser_for("okx"))

    def snap(seq: int) -> bytes:
        return encode(botkit.BookSnapshot("okx", "BTC-USDT", ((D(9), D(1)),), ((D(11), D(1)),), seq, 0, 0)).encode()

    def upd(prev: int, seq: int, price: int = 9) -> bytes:
        delta = botkit.BookDelta("okx", "BTC-USDT", ((D(price), D(2)),), (), seq, seq, 0, 0, prev)
        return encode(delta).encode()

    out = decoder.decode(snap(10), 1) + decoder.decode(upd(10, 11), 2)
    out += decoder.decode(upd(11, 10**15), 3)  # a corrupt seqId: its prevSeqId still chains
    out = decoder.decode(upd(12, 13), 4)  # the real next one does not chain on it: a break
    assert isinstance(out[-1], botkit.Gap) and decoder.pending_resubscribe == {"BTC-USDT"}
    out = decoder.decode(upd(13, 14), 5)  # dropped until the fresh snapshot
    out += decoder.decode(snap(20), 6) + decoder.decode(upd(20, 21, price=8), 7)
    assert [type(e).__name__ for e in out] == ["BookSnapshot", "BookDelta"]
    assert decoder.books["BTC-USDT"].synced and decoder.book_gaps == 1
