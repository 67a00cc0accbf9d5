"""Portfolio accounting invariants over arbitrary fill sequences; rounding never adds risk."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

import botkit
from botkit.execution._instruments import Instrument, instrument_for

BTC = instrument_for("BTCUSDT")
D = Decimal

_prices = st.decimals("100", "100000", places=2)
_sizes = st.decimals("0.001", "5", places=3)
_fills = st.lists(st.tuples(st.sampled_from(botkit.Side), _prices, _sizes, st.decimals("0", "5", places=4)),
                  max_size=40)


def fill(side: botkit.Side, price: Decimal, size: Decimal, fee: Decimal = D(0)) -> botkit.Fill:
    return botkit.Fill("id", "binance", "BTCUSDT", side, price, size, fee, "USDT", "taker", 0)


@given(_fills, _prices)
def test_value_is_conserved_modulo_fees(fills: list, mark: Decimal) -> None:
    """Trading at a price moves value between cash and position; only fees leave."""
    p = botkit.Portfolio({"USDT": D(1_000_000)})
    fees = D(0)
    for side, price, size, fee in fills:
        before = p.equity("USDT", {"BTCUSDT": price})
        p.apply(fill(side, price, size, fee), BTC)
        fees += fee
        assert p.equity("USDT", {"BTCUSDT": price}) == before - fee
    # And the books agree with each other whatever the mark.
    position = p.position("BTCUSDT")
    assert p.cash.get("BTC", D(0)) == position.size
    # Average prices are quotients (28 significant digits): allow that, nothing more.
    identity = D(1_000_000) + p.realised_pnl + position.unrealised_pnl(mark) - fees
    assert abs(p.equity("USDT", {"BTCUSDT": mark}) - identity) < D("1e-15")
    assert p.fees == fees


@given(_prices, _prices, _sizes, st.decimals("0", "3", places=4), st.decimals("0", "3", places=4),
       st.sampled_from(botkit.Side))
def test_round_trip_pnl_is_price_difference_times_size_minus_fees(
    entry: Decimal, exit_: Decimal, size: Decimal, fee_in: Decimal, fee_out: Decimal, side: botkit.Side
) -> None:
    p = botkit.Portfolio({"USDT": D(10_000_000)})
    other = botkit.Side.SELL if side is botkit.Side.BUY else botkit.Side.BUY
    p.apply(fill(side, entry, size, fee_in), BTC)
    realised = p.apply(fill(other, exit_, size, fee_out), BTC)
    direction = 1 if side is botkit.Side.BUY else -1
    assert realised == (exit_ - entry) * size * direction
    assert p.position("BTCUSDT").size == 0
    assert p.cash["USDT"] - D(10_000_000) == realised - fee_in - fee_out


def test_flip_through_zero_opens_the_rest_at_the_fill_price() -> None:
    p = botkit.Portfolio({"USDT": D(100_000)})
    p.apply(fill(botkit.Side.BUY, D(100), D(2)), BTC)
    realised = p.apply(fill(botkit.Side.SELL, D(110), D(3)), BTC)
    pos = p.position("BTCUSDT")
    assert realised == D(20) and pos.size == D(-1) and pos.avg_price == D(110)


_ticks = st.sampled_from([D("0.01"), D("0.5"), D("1"), D("0.00001")])


@given(st.decimals("0.00001", "100000", places=6), st.decimals("0.000001", "1000", places=8), _ticks, _ticks,
       st.sampled_from(botkit.Side))
def test_rounding_never_increases_risk(price: Decimal, size: Decimal, tick: Decimal, lot: Decimal,
                                       side: botkit.Side) -> None:
    inst = Instrument("XUSDT", "X", "USDT", tick, lot, D(0))
    rounded_size = inst.round_size(size)
    assert 0 <= rounded_size <= size and size - rounded_size < lot
    assert rounded_size % lot == 0
    rounded_price = inst.round_price(price, side)
    assert rounded_price % tick == 0
    if side is botkit.Side.BUY:
        assert rounded_price <= price  # never pay more than asked
    else:
        assert rounded_price >= price  # never sell for less
