"""The bus's routing and its documented policy for a strategy slower than its feed."""

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

import botkit
from botkit._bus import EventBus, Subscription

from .helpers import quote, trade

pytestmark = pytest.mark.anyio


async def test_routes_by_type_and_symbol() -> None:
    sub = Subscription({botkit.Trade}, {"BTC-USDT"})
    status = botkit.FeedStatus("binance", botkit.ConnectionState.DOWN, "x", 5)
    batch = [trade(1), quote(2), trade(3, symbol="ETH-USDT"), status, trade(4)]
    assert sub.select(batch) == [trade(1), status, trade(4)]
    assert Subscription().select(batch) is batch


async def test_slow_consumer_conflates_quotes_and_never_drops_trades() -> None:
    sub = Subscription(capacity=1, max_pending=1000)
    with anyio.fail_after(5):
        await sub.put([trade(0)])  # fills the stream
        for i in range(1, 101):  # the consumer is not reading: all of this overflows
            await sub.put([trade(i), quote(i)])
        received = []
        while (batch := await sub.get()) is not None and batch:
            received += batch
            if len(received) >= 102:
                break
    trades = [e.trade_id for e in received if isinstance(e, botkit.Trade)]
    quotes = [e for e in received if isinstance(e, botkit.Quote)]
    assert trades == list(range(101))
    assert quotes == [quote(100)]  # only the latest state survives
    assert sub.stats.conflated == 99
    # The surviving quote sits where the latest one arrived: after trade 100.
    assert received[-1] == quote(100)


async def test_publisher_blocks_at_the_overflow_limit_and_resumes() -> None:
    sub = Subscription(capacity=1, max_pending=10)
    published = 0

    async def feed() -> None:
        nonlocal published
        for i in range(50):
            await sub.put([trade(i)])
            published += 1
        await sub.aclose()

    received: list[int] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            await anyio.wait_all_tasks_blocked()
            assert published < 50  # the feed is waiting for us: memory is bounded
            assert sub.stats.backpressure_waits >= 1
            while (batch := await sub.get()) is not None:
                received += [e.trade_id for e in batch]
    assert received == list(range(50))


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=200), st.integers(1, 4), st.integers(1, 30))
def test_policy_holds_for_any_interleaving(steps: list, capacity: int, max_pending: int) -> None:
    """Any mix of publishing and consuming: every trade arrives once, in order; quotes
    arrive in order and the last quote is never lost."""

    async def scenario() -> None:
        sub = Subscription(capacity=capacity, max_pending=max_pending)
        received: list = []
        sent_trades = 0
        last_quote = None
        with anyio.fail_after(2):
            for i, (is_trade, consume) in enumerate(steps):
                event = trade(i) if is_trade else quote(i)
                sent_trades += is_trade
                last_quote = last_quote if is_trade else event
                stream_full = sub._recv.statistics().current_buffer_used >= capacity
                if stream_full and sub._pending_live + 1 >= max_pending:
                    consume = True  # the put would block, and this single task is also the consumer
                if consume and (sub._recv.statistics().current_buffer_used or sub._pending_live):
                    batch = await sub.get()
                    received += batch or []
                await sub.put([event])
            while sub._recv.statistics().current_buffer_used or sub._pending_live:
                received += await sub.get() or []
            await sub.aclose()
            assert await sub.get() is None
        trades = [e.trade_id for e in received if isinstance(e, botkit.Trade)]
        assert trades == sorted(trades) and len(trades) == sent_trades
        quote_ids = [e.update_id for e in received if isinstance(e, botkit.Quote)]
        assert quote_ids == sorted(quote_ids)
        if last_quote is not None:
            assert quote_ids[-1] == last_quote.update_id
        assert len(received) + sub.stats.conflated == len(steps)

    anyio.run(scenario)


async def test_bus_fans_out_and_ends_every_subscriber() -> None:
    bus = EventBus()
    a = bus.subscribe(Subscription({botkit.Trade}))
    b = bus.subscribe(Subscription({botkit.Quote}))
    with anyio.fail_after(5):
        await bus.publish([trade(1), quote(2)])
        await bus.aclose()
        assert await a.get() == [trade(1)]
        assert await b.get() == [quote(2)]
        assert await a.get() is None and await b.get() is None
