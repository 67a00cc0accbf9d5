"""Venue definitions: endpoints, subscription messages and symbol spellings (pure)."""

from __future__ import annotations

import json

import pytest

import botkit
from botkit.protocol import VENUES, venue_for


def test_every_venue_is_registered_under_its_cli_name() -> None:
    assert list(VENUES) == ["binance", "binance-futures", "coinbase", "kraken", "okx", "bybit", "kraken-v2"]
    for name in VENUES:
        definition = venue_for(name)
        assert definition.name == name and definition.ws_url.startswith("wss://")
        assert definition.parser().venue == name


@pytest.mark.parametrize(("venue", "spelling"), [
    ("binance", "BTCUSDT"), ("binance-futures", "BTCUSDT"), ("coinbase", "BTC-USDT"), ("kraken", "XBT/USDT"),
    ("okx", "BTC-USDT"), ("bybit", "BTCUSDT"), ("kraken-v2", "BTC/USDT"),
])
def test_symbols_in_any_spelling_map_to_the_venues_own(venue: str, spelling: str) -> None:
    definition = venue_for(venue)
    for written in ("BTC-USDT", "btcusdt", "XBT/USDT"):
        assert definition.venue_symbol(written) == spelling
    assert botkit.normalise_symbol(spelling) == "BTC-USDT"


def test_binance_streams_are_named_in_the_url() -> None:
    assert venue_for("binance").url(["BTC-USDT"], ["trades", "books"]) == (
        "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@depth@100ms")
    assert venue_for("binance").subscribe(["BTC-USDT"], ["trades"]) == []


def test_binance_futures_usd_m_and_coin_m() -> None:
    futures = venue_for("binance-futures")
    assert futures.url(["BTC-USDT"], ["trades"]) == "wss://fstream.binance.com/stream?streams=btcusdt@aggTrade"
    assert futures.url(["BTCUSD_PERP"], ["books"]).startswith("wss://dstream.binance.com/stream?streams=btcusd_perp@")
    assert futures.snapshot_path("BTC-USD-PERP", 1000) == "/dapi/v1/depth?symbol=BTCUSD_PERP&limit=1000"
    assert futures.trades_path("BTC-USDT", 7, False) == "/fapi/v1/aggTrades?symbol=BTCUSDT&fromId=7&limit=1000"
    assert futures.rest_base("wss://dstream.binance.com/stream") == "https://dapi.binance.com"


def test_message_venues_subscribe_every_symbol_and_channel() -> None:
    coinbase = json.loads(venue_for("coinbase").subscribe(["BTC-USD", "ETH-USD"], ["trades", "books"])[0])
    assert coinbase == {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"],
                        "channels": ["matches", "level2_batch", "heartbeat"]}
    kraken = [json.loads(m) for m in venue_for("kraken").subscribe(["BTC-USD"], ["trades", "books"])]
    assert kraken == [{"event": "subscribe", "pair": ["XBT/USD"], "subscription": {"name": "trade"}},
                      {"event": "subscribe", "pair": ["XBT/USD"], "subscription": {"name": "book", "depth": 100}}]
    okx = json.loads(venue_for("okx").subscribe(["BTC-USDT"], ["trades", "books"])[0])
    assert okx == {"op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT"},
                                               {"channel": "books", "instId": "BTC-USDT"}]}
    symbols = [f"S{i}-USDT" for i in range(6)]
    bybit = [json.loads(m) for m in venue_for("bybit").subscribe(symbols, ["trades", "books"])]
    assert [len(m["args"]) for m in bybit] == [10, 2]  # Bybit spot: at most 10 topics per request
    assert bybit[0]["args"][0] == "publicTrade.S0USDT" and bybit[1]["args"][-1] == "orderbook.50.S5USDT"


@pytest.mark.parametrize("venue", ["coinbase", "kraken", "okx", "bybit"])
def test_a_channel_the_venue_lacks_or_no_symbols_is_a_config_error(venue: str) -> None:
    definition = venue_for(venue)
    with pytest.raises(botkit.ConfigError, match="symbol"):
        definition.subscribe([], ["trades"])
    missing = [c for c in ("trades", "quotes", "books", "bars") if c not in definition.channels]
    if missing:
        with pytest.raises(botkit.ConfigError, match=missing[0]):
            definition.subscribe(["BTC-USD"], missing)


def test_unknown_venue_names_the_known_ones() -> None:
    with pytest.raises(botkit.ConfigError, match="known venues: binance, binance-futures, bybit, coinbase"):
        venue_for("nasdaq")
