"""Bybit v5 against the example messages of Bybit's v5 public WebSocket documentation
(there is no Bybit capture in ../shared; these fixtures are written from the documented
examples: field names, types and values as published there)."""

from __future__ import annotations

from decimal import Decimal

import pytest

import botkit
from botkit.protocol import FrameDecoder, parser_for

TRADE = (b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,'
         b'"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",'
         b'"i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}')
BOOK_SNAPSHOT = (b'{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT",'
                 b'"b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],["16612.00","0.213"]],'
                 b'"u":18521288,"seq":7961638724},"cts":1672304484976}')
BOOK_DELTA = (b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1672304484978,"data":{"s":"BTCUSDT",'
              b'"b":[["16493.50","0"]],"a":[["16611.00","0.029"],["16612.00","0.252"]],"u":18521289,'
              b'"seq":7961638725},"cts":1672304484976}')
TICKER_SNAPSHOT = (b'{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":"PlusTick",'
                   b'"price24hPcnt":"0.017103","lastPrice":"17216.00","markPrice":"17217.33","bid1Price":"17215.50",'
                   b'"bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"},"cs":24987956059,"ts":1673272861686}')
TICKER_DELTA = (b'{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":"17215.00",'
                b'"bid1Size":"12.100"},"cs":24987956060,"ts":1673272861700}')
SPOT_TICKER = (b'{"topic":"tickers.BTCUSDT","ts":1673853746003,"type":"snapshot","cs":2588407389,"data":{'
               b'"symbol":"BTCUSDT","lastPrice":"21109.77","highPrice24h":"21426.99","lowPrice24h":"20575",'
               b'"prevPrice24h":"20704.93","volume24h":"6780.866843","turnover24h":"141946527.22907118",'
               b'"price24hPcnt":"0.0196","usdIndexPrice":"21120.2400136"}}')
KLINE = (b'{"topic":"kline.5.BTCUSDT","data":[{"start":1672324800000,"end":1672325099999,"interval":"5",'
         b'"open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005",'
         b'"confirm":false,"timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}')
ACK = b'{"success":true,"ret_msg":"","conn_id":"2324d924-aa4d-45b0-a858-7b8be29ab52b","req_id":"10001","op":"subscribe"}'
PONG = b'{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}'
FAILED = b'{"success":false,"ret_msg":"error:handler not found","conn_id":"2324d924","req_id":"","op":"subscribe"}'


def test_public_trade() -> None:
    [trade] = parser_for("bybit").parse(TRADE, 5)
    assert isinstance(trade, botkit.Trade)
    assert (trade.symbol, trade.venue_symbol, trade.price, trade.size, trade.side) == (
        "BTC-USDT", "BTCUSDT", Decimal("16578.50"), Decimal("0.001"), botkit.Side.BUY)
    assert trade.ts_exchange == 1672304486865 * 1_000_000
    assert trade.trade_id == 0x20F43950D8DD5B319112A178EB6023AF  # the UUID, kept as an integer


def test_orderbook_snapshot_then_delta_builds_the_book() -> None:
    decoder = FrameDecoder(parser_for("bybit"))
    snapshot = decoder.decode(BOOK_SNAPSHOT, 1)
    delta = decoder.decode(BOOK_DELTA, 2)
    assert [type(e).__name__ for e in snapshot + delta] == ["BookSnapshot", "BookDelta"]
    book = decoder.books["BTC-USDT"].book
    assert book.best_bid() == (Decimal("16493.00"), Decimal("0.100"))
    assert book.asks == {Decimal("16611.00"): Decimal("0.029"), Decimal("16612.00"): Decimal("0.252")}
    assert book.last_update_id == 18521289


def test_a_restart_snapshot_with_u_1_resets_the_book() -> None:
    decoder = FrameDecoder(parser_for("bybit"))
    decoder.decode(BOOK_SNAPSHOT, 1)
    restart = BOOK_SNAPSHOT.replace(b'"u":18521288', b'"u":1').replace(b'"16493.50","0.006"', b'"16490.00","1"')
    decoder.decode(restart, 2)
    after = BOOK_DELTA.replace(b'"u":18521289', b'"u":2')
    assert [type(e).__name__ for e in decoder.decode(after, 3)] == ["BookDelta"]
    assert decoder.gaps == 0 and decoder.books["BTC-USDT"].book.last_update_id == 2


def test_linear_ticker_deltas_merge_into_whole_quotes_and_spot_tickers_carry_none() -> None:
    parser = parser_for("bybit")
    [first] = parser.parse(TICKER_SNAPSHOT, 1)
    [second] = parser.parse(TICKER_DELTA, 2)
    assert isinstance(first, botkit.Quote) and isinstance(second, botkit.Quote)
    assert (second.bid_price, second.bid_size, second.ask_price, second.ask_size) == (
        Decimal("17215.00"), Decimal("12.100"), Decimal("17216.00"), Decimal("83.020"))
    assert parser_for("bybit").parse(SPOT_TICKER, 3) == []


def test_kline() -> None:
    [bar] = parser_for("bybit").parse(KLINE, 1)
    assert isinstance(bar, botkit.Bar)
    assert (bar.interval, bar.open, bar.close, bar.volume, bar.closed) == (
        "5m", Decimal("16649.5"), Decimal("16677"), Decimal("2.081"), False)


def test_acks_and_pongs_are_ignorable_and_failures_are_errors() -> None:
    parser = parser_for("bybit")
    assert parser.parse(ACK, 1) == [] and parser.parse(PONG, 1) == []
    assert parser.ignored == 2
    with pytest.raises(botkit.ParseError, match="handler not found"):
        parser.parse(FAILED, 1)
