"""Kraken WS v2 against message shapes from Kraken's v2 documentation (no v2 capture
in ../shared): status, heartbeat, method acks and errors, trade, book with checksum."""

from __future__ import annotations

from decimal import Decimal

import pytest

import botkit
from botkit.protocol import FrameDecoder, parser_for
from botkit.protocol.kraken import book_checksum

STATUS = (b'{"channel":"status","data":[{"api_version":"v2","connection_id":11174387637495939453,'
          b'"system":"online","version":"2.0.0"}],"type":"update"}')
HEARTBEAT = b'{"channel":"heartbeat"}'
ACK = (b'{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"},'
       b'"success":true,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}')
ERROR = (b'{"error":"Currency pair not supported XYZ/USD","method":"subscribe","success":false,"symbol":"XYZ/USD",'
         b'"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}')
TRADE = (b'{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"buy","price":0.5147,'
         b'"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"}]}')


def test_non_data_messages_are_ignorable_and_errors_are_errors() -> None:
    parser = parser_for("kraken-v2")
    assert parser.parse(STATUS, 1) == parser.parse(HEARTBEAT, 1) == parser.parse(ACK, 1) == []
    assert parser.ignored == 3 and parser.book_depths == {"BTC-USD": 10}  # type: ignore[attr-defined]
    with pytest.raises(botkit.ParseError, match="Currency pair not supported"):
        parser.parse(ERROR, 1)


def test_trade_numbers_keep_their_digits() -> None:
    [trade] = parser_for("kraken-v2").parse(TRADE, 1)
    assert isinstance(trade, botkit.Trade)
    assert (trade.symbol, trade.venue_symbol, trade.price, trade.size, trade.trade_id, trade.side) == (
        "MATIC-USD", "MATIC/USD", Decimal("0.5147"), Decimal("6423.46326"), 4665846, botkit.Side.BUY)
    assert trade.ts_exchange == 1695628116_925533000


def test_book_snapshot_and_update_are_checked_and_kept_at_the_subscribed_depth() -> None:
    asks = [(f"{45285.2 + i / 10:.1f}", "0.00100000") for i in range(12)]
    bids = [(f"{45283.5 - i / 10:.1f}", "1.50000000") for i in range(12)]

    def levels(rows: list[tuple[str, str]]) -> str:
        return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in rows)

    decoder = FrameDecoder(parser_for("kraken-v2"))
    decoder.decode(ACK, 0)
    book = botkit.OrderBook()  # the venue's view, kept at depth 10 as Kraken does
    book.reset(botkit.BookSnapshot("kraken", "BTC-USD", tuple((Decimal(p), Decimal(q)) for p, q in bids[:10]),
                                   tuple((Decimal(p), Decimal(q)) for p, q in asks[:10]), 0, 0, 0))
    snapshot = (f'{{"channel":"book","type":"snapshot","data":[{{"symbol":"BTC/USD","bids":[{levels(bids[:10])}],'
                f'"asks":[{levels(asks[:10])}],"checksum":{book_checksum(book)}}}]}}').encode()
    assert [type(e).__name__ for e in decoder.decode(snapshot, 1)] == ["BookSnapshot"]
    # The best ask is taken out; Kraken publishes the level that comes into the top 10.
    book.apply(botkit.BookDelta("kraken", "BTC-USD", (), ((Decimal(asks[0][0]), Decimal(0)),
                                                          (Decimal(asks[10][0]), Decimal(asks[10][1]))), -1, -1, 0, 0))
    update = (f'{{"channel":"book","type":"update","data":[{{"symbol":"BTC/USD","bids":[],'
              f'"asks":[{{"price":{asks[0][0]},"qty":0}},{{"price":{asks[10][0]},"qty":{asks[10][1]}}}],'
              f'"checksum":{book_checksum(book)},"timestamp":"2023-10-06T17:35:55.440295Z"}}]}}').encode()
    assert [type(e).__name__ for e in decoder.decode(update, 2)] == ["BookDelta"]
    assert decoder.checksums_verified == 2 and decoder.checksum_mismatches == 0
    assert decoder.books["BTC-USD"].book.asks == book.asks
