"""Parse: Binance trade frame (bytes) -> typed trade, one core."""

from __future__ import annotations

import json

import msgspec
import orjson

from botkit.protocol import BinanceSpotParser
from botkit.protocol.binance._messages import TradeMsg, combined

from ._util import median_rate, trade_frames

# The limit: the same typed decode botkit's parser starts with, and nothing after it.
_Frame = combined(TradeMsg)


def run(n: int = 200_000) -> list[tuple[str, float, str]]:
    # Every price and size text distinct, and a fresh parser per run: nothing botkit
    # decodes (it keeps the Decimals of texts it has seen) is met twice.
    frames = trade_frames(n, distinct=True)
    typed = msgspec.json.Decoder(_Frame)

    def orjson_loads() -> int:
        for f in frames:
            orjson.loads(f)
        return n

    def msgspec_typed() -> int:
        decode = typed.decode
        for f in frames:
            decode(f)
        return n

    def botkit_parse() -> int:
        parse = BinanceSpotParser().parse
        for i, f in enumerate(frames):
            parse(f, i)
        return n

    rows = []
    limit_orjson = median_rate(orjson_loads)
    limit_typed = median_rate(msgspec_typed)
    ours = median_rate(botkit_parse)
    rows.append(("parse: orjson.loads (untyped limit)", limit_orjson, "msg/s"))
    rows.append(("parse: msgspec typed decode, Decimal fields (limit)", limit_typed, "msg/s"))
    rows.append(("parse: botkit BinanceSpotParser -> Trade", ours, "msg/s"))
    rows.append(("parse: botkit / msgspec limit", ours / limit_typed, "ratio (target >= 0.5)"))
    try:
        import ccxt
    except ImportError:
        rows.append(("parse: ccxt binance.parse_trade", float("nan"), "ccxt not installed"))
        return rows
    exchange = ccxt.binance()
    # A spot market as ccxt's load_markets() would build it (offline: no REST call).
    market = exchange.safe_market_structure({
        "id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "baseId": "BTC",
        "quoteId": "USDT", "type": "spot", "spot": True, "option": False, "swap": False, "future": False,
        "contract": False, "linear": None, "inverse": None, "active": True,
    })
    exchange.set_markets([market])
    market = exchange.market("BTC/USDT")
    payloads = [json.loads(f)["data"] for f in frames[: n // 4]]

    def ccxt_parse() -> int:
        parse_trade = exchange.parse_trade
        for p in payloads:
            parse_trade(p, market)
        return len(payloads)

    theirs = median_rate(ccxt_parse, repeats=3)
    rows.append(("parse: ccxt binance.parse_trade (dict in, no JSON)", theirs, "msg/s"))
    rows.append(("parse: botkit / ccxt", ours / theirs, "ratio (target >= 10)"))
    return rows
