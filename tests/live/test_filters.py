"""The venue's symbol filters: read from exchangeInfo, checked before an order is sent,
the same in a backtest as at the venue."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from botkit import Side
from botkit._orders import Order, OrderType, TimeInForce
from botkit.execution._instruments import Instrument, exchange_info_entry, instrument_for, instrument_from_exchange_info

# web-socket-api.md, "Exchange information": the documented symbol entry.
DOCUMENTED = {
    "symbol": "BNBBTC", "status": "TRADING", "baseAsset": "BNB", "quoteAsset": "BTC",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "100000.00000000",
         "tickSize": "0.00000100"},
        {"filterType": "LOT_SIZE", "minQty": "0.00100000", "maxQty": "100000.00000000", "stepSize": "0.00100000"},
    ],
}
# filters.md: the documented shape of each other filter.
MORE = [
    {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "1.2", "bidMultiplierDown": "0.2",
     "askMultiplierUp": "5", "askMultiplierDown": "0.8", "avgPriceMins": 1},
    {"filterType": "NOTIONAL", "minNotional": "10.00000000", "applyMinToMarket": False,
     "maxNotional": "10000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
    {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00100000", "maxQty": "100.00000000", "stepSize": "0.00100000"},
    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 25},
]


def _order(side: Side, size: str, price: str | None) -> Order:
    return Order("bk-1", "binance", "BNB-BTC", side, OrderType.MARKET if price is None else OrderType.LIMIT,
                 D(size), None if price is None else D(price), TimeInForce.GTC, False, 0)


def test_the_documented_entry_reads_as_an_instrument() -> None:
    inst = instrument_from_exchange_info(DOCUMENTED)
    assert (inst.symbol, inst.base, inst.quote) == ("BNB-BTC", "BNB", "BTC")
    assert (inst.tick_size, inst.min_price, inst.max_price) == (D("0.000001"), D("0.000001"), D(100000))
    assert (inst.lot_size, inst.min_size, inst.max_size, inst.min_notional) == (D("0.001"), None, D(100000), 0)


@pytest.mark.parametrize(("side", "size", "price", "last", "opened", "reason"), [
    (Side.BUY, "0.0005", "0.01", None, 0, "LOT_SIZE: size 0.0005 below the minimum"),
    (Side.BUY, "200000", "0.01", None, 0, "LOT_SIZE: size 200000 above the maximum"),
    (Side.BUY, "1.0005", "0.01", None, 0, "LOT_SIZE: size 1.0005 is not a multiple"),
    (Side.BUY, "1", "0.0000005", None, 0, "PRICE_FILTER: price 5E-7 below the minimum"),
    (Side.BUY, "1", "0.0100005", None, 0, "PRICE_FILTER: price 0.0100005 is not a multiple of the tick"),
    (Side.BUY, "1", "0.013", "0.01", 0, "PERCENT_PRICE_BY_SIDE: a buy at 0.013 is above 1.2 x"),
    (Side.SELL, "1", "0.0079", "0.01", 0, "PERCENT_PRICE_BY_SIDE: a sell at 0.0079 is below 0.8 x"),
    (Side.SELL, "1000", "0.049", "0.01", 0, ""),
    (Side.BUY, "900", "0.01", None, 0, "NOTIONAL: notional 9 below the minimum 10"),
    (Side.BUY, "90000", "0.2", None, 0, "NOTIONAL: notional 18000 above the maximum 10000"),
    (Side.BUY, "90", None, "0.01", 0, ""),  # notional 0.9, but applyMinToMarket is false
    (Side.BUY, "101", None, "0.01", 0, "MARKET_LOT_SIZE: size 101 above the maximum 100"),
    (Side.BUY, "1000", "0.01", None, 25, "MAX_NUM_ORDERS: 25 orders open on BNB-BTC, the venue allows 25"),
    (Side.BUY, "1000", "0.01", None, 24, ""),
])
def test_each_filter_refuses_what_the_venue_would(side: Side, size: str, price: str | None, last: str | None,
                                                   opened: int, reason: str) -> None:
    inst = instrument_from_exchange_info({**DOCUMENTED, "filters": DOCUMENTED["filters"] + MORE})
    got = inst.check(_order(side, size, price), None if last is None else D(last), opened)
    assert got.startswith(reason) if reason else got == ""


def test_the_simulators_entry_reads_back_unchanged() -> None:
    inst = instrument_for("BTCUSDT")
    assert instrument_from_exchange_info(exchange_info_entry(inst, "BTCUSDT")) == inst
    custom = Instrument("X-USDT", "X", "USDT", "0.1", "1", "2", min_size=D(3), max_size=D(50), max_notional=D(900),
                        market_max_size=D(7), max_open_orders=3)
    assert instrument_from_exchange_info(exchange_info_entry(custom, "XUSDT")) == custom


def test_a_malformed_entry_is_a_value_error_naming_the_symbol() -> None:
    with pytest.raises(ValueError, match="BNBBTC"):
        instrument_from_exchange_info({"symbol": "BNBBTC", "filters": [{"filterType": "LOT_SIZE"}]})


@pytest.mark.anyio
async def test_a_backtest_refuses_an_order_the_venue_would_refuse_naming_the_filter() -> None:
    from tests.test_execution import Scripted, at, qt, run, tr

    def script(s: Scripted) -> None:
        s.ids["far"] = s.buy("0.01", "600")  # above 5 x the last price: PERCENT_PRICE_BY_SIDE
        s.ids["tiny"] = s.buy("0.00001", "100")  # notional 0.001 < 5
        s.ids["ok"] = s.buy("0.1", "100")

    s = Scripted(at(1, script))
    summary = await run(s, [qt(1, "100", "101", 0), tr(2, "100", 1)])
    assert s.statuses(s.ids["far"]) == ["rejected"] and s.statuses(s.ids["tiny"]) == ["rejected"]
    assert s.statuses(s.ids["ok"])[0] == "submitted"
    assert summary.trading["rejections"] == {"PERCENT_PRICE_BY_SIDE": 1, "NOTIONAL": 1}
