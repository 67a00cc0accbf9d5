"""The local copy of the venue's order-rate rules."""

from __future__ import annotations

from botkit.protocol._ratelimit import OrderLimiter

S = 1_000_000_000


def test_own_orders_fill_the_window_then_age_out() -> None:
    limiter = OrderLimiter([(10, 3)])
    assert [limiter.refuse(t * S) for t in (0, 1, 2)] == ["", "", ""]
    assert "3 orders per 10 s" in limiter.refuse(3 * S)
    assert limiter.refuse(10 * S) == ""  # the order sent at 0 has left the window
    assert limiter.refused == 1


def test_the_venues_count_plus_orders_sent_since_it() -> None:
    limiter = OrderLimiter([(10, 20), (86_400, 1_000)])
    assert all(limiter.refuse(t * S) == "" for t in range(100))  # a long day behind the report
    limiter.on_counts([(10, 15)], 100 * S)  # another session of the account places orders too
    # 15 reported, then each order since counts on top: five more, then the rule refuses.
    assert [limiter.refuse(100 * S + i) for i in range(1, 6)] == [""] * 5
    assert "20 orders per 10 s" in limiter.refuse(100 * S + 6)


def test_a_429_blocks_every_order_until_retry_after() -> None:
    limiter = OrderLimiter([(10, 100)])
    limiter.block(0, 1.5)
    assert "wait 1.5 s more" in limiter.refuse(0)
    assert limiter.refuse(int(1.5 * S)) == ""
