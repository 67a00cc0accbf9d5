"""TradeSequencer: whatever the live stream loses or repeats, backfill restores every
trade exactly once, in id order (property), and gives up visibly when the venue can't."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import botkit
from botkit.protocol._trades import TradeSequencer

from ..helpers import trade


def serve(seq: TradeSequencer, truth: list[int], page: int, served_upto: int) -> list[botkit.Event]:
    """Answer every pending backfill from the venue's history (ids <= served_upto)."""
    out: list[botkit.Event] = []
    for _ in range(10_000):
        if not seq.pending:
            return out
        symbol, request = next(iter(seq.pending.items()))
        del seq.pending[symbol]
        rows = [trade(i) for i in truth if request.from_id <= i <= served_upto][:page]
        out += seq.on_backfill(symbol, rows, page, 0)
    raise AssertionError("backfill did not converge")


@given(
    st.integers(5, 120),
    st.lists(st.sampled_from(["ok", "drop", "dup", "reconnect"]), min_size=5, max_size=120),
    st.integers(1, 7),
)
def test_every_trade_once_in_order(n: int, fate: list[str], page: int) -> None:
    truth = list(range(1, n + 1))
    seq = TradeSequencer("binance")
    delivered: list[botkit.Event] = []
    for i, tid in enumerate(truth):
        what = fate[i % len(fate)]
        if what == "reconnect":
            seq.request_backfill("BTC-USDT")
        if what != "drop":
            delivered += seq.on_trades([trade(tid)])
        if what == "dup":
            delivered += seq.on_trades([trade(tid)])
        delivered += serve(seq, truth, page, served_upto=tid)
    ids = [e.trade_id for e in delivered if isinstance(e, botkit.Trade)]
    assert not any(isinstance(e, botkit.Gap) for e in delivered)
    first_seen = next((i for i in range(n) if fate[i % len(fate)] != "drop"), None)
    if first_seen is None:  # the stream never showed a trade: nothing to anchor on
        assert ids == []
        return
    assert ids == truth[first_seen : first_seen + len(ids)]  # contiguous, once, in order
    assert ids[-1] == truth[-1] or fate[(n - 1) % len(fate)] == "drop"


def test_a_venue_that_cannot_serve_the_range_yields_a_gap_and_goes_on() -> None:
    seq = TradeSequencer("binance")
    out = seq.on_trades([trade(1)]) + seq.on_trades([trade(5)]) + seq.on_trades([trade(6)])
    assert [e.trade_id for e in out] == [1]  # 5 and 6 held while 2..4 are fetched
    out = seq.on_backfill("BTC-USDT", [], 1000, 0)  # the venue has nothing for 2..4
    assert [type(e).__name__ for e in out] == ["Gap", "FeedStatus", "Trade", "Trade"]
    gap = out[0]
    assert (gap.expected, gap.received) == (2, 5)
    assert "abandoned" in out[1].reason
    assert [e.trade_id for e in seq.on_trades([trade(7)])] == [7]


def test_held_trades_are_bounded_by_a_failure_report() -> None:
    seq = TradeSequencer("binance")
    seq.on_trades([trade(1)])
    seq.on_trades([trade(3)])
    out = seq.on_backfill_failed("BTC-USDT", "REST down")
    assert [type(e).__name__ for e in out] == ["Gap", "FeedStatus", "Trade"]
    assert seq.gaps == 1 and not seq.backfilling("BTCUSDT")
