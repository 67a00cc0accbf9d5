"""Per-venue properties: generated valid frames round-trip to the same events, any input
raises nothing but ParseError, and books rebuilt from a valid sequence are never crossed
and pass checksums computed independently from each venue's documented algorithm."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import botkit
from botkit.protocol import VENUES, FrameDecoder, venue_for

NEW_VENUES = ["binance-futures", "coinbase", "kraken", "okx", "bybit", "kraken-v2"]
_S = 1_000_000_000
_SYMBOLS = ["BTC-USDT", "ETH-USD", "SOL-EUR"]
# Kraken and Coinbase timestamps have microseconds; the others milliseconds.
_TICK = {"coinbase": 1_000, "kraken": 1_000, "kraken-v2": 1_000}


@st.composite
def venue_trades(draw: st.DrawFn, venue: str) -> botkit.Trade:
    symbol = draw(st.sampled_from(_SYMBOLS))
    tick = _TICK.get(venue, 1_000_000)
    return botkit.Trade(
        venue, symbol,
        draw(st.decimals("0.00000001", "10000000", places=8)),
        draw(st.decimals("0", "1000000", places=8)),
        draw(st.sampled_from(botkit.Side)),
        -1 if venue == "kraken" else draw(st.integers(0, 2**53)),
        draw(st.integers(0, 4_000_000_000 * _S // tick)) * tick,
        draw(st.integers(0, 2**62)),
        venue_for(venue).venue_symbol(symbol),
    )


@pytest.mark.parametrize("venue", NEW_VENUES)
@given(data=st.data())
def test_generated_trades_round_trip(venue: str, data: st.DataObject) -> None:
    trade = data.draw(venue_trades(venue))
    frame = venue_for(venue).encoder().encode_trade(trade)
    assert venue_for(venue).parser().parse(frame, trade.ts_recv) == [trade]


@pytest.mark.parametrize("venue", ["binance", "okx"])  # the encoders with encode_quote (simulator quotes)
@given(data=st.data())
def test_generated_quotes_round_trip(venue: str, data: st.DataObject) -> None:
    symbol = data.draw(st.sampled_from(_SYMBOLS))
    prices = st.decimals("0.00000001", "10000000", places=8)
    sizes = st.decimals("0", "1000000", places=8)
    quote = botkit.Quote(venue, symbol, data.draw(prices), data.draw(sizes), data.draw(prices), data.draw(sizes),
                         -1 if venue == "okx" else data.draw(st.integers(0, 2**53)),
                         0 if venue == "binance" else data.draw(st.integers(0, 4_000_000_000)) * 1_000_000,
                         data.draw(st.integers(0, 2**62)), venue_for(venue).venue_symbol(symbol))
    frame = venue_for(venue).encoder().encode_quote(quote)
    assert venue_for(venue).parser().parse(frame, quote.ts_recv) == [quote]


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "event", "arg", "data", "topic", "op", "action", "b", "a", "as", "bs", "c",
                         "product_id", "changes", "channel", "instId", "success"]), inner, max_size=5),
    max_leaves=12,
)


@pytest.mark.parametrize("venue", sorted(VENUES))
@given(st.one_of(st.binary(max_size=64), _JSONISH.map(lambda v: json.dumps(v).encode())))
def test_any_input_raises_only_parse_error(venue: str, frame: bytes) -> None:
    try:
        events = venue_for(venue).parser().parse(frame, 1)
    except botkit.ParseError:
        return
    assert isinstance(events, list)


# -- books --------------------------------------------------------------------------------

def kraken_reference(bids: dict[str, str], asks: dict[str, str]) -> int:
    """Kraken's documented checksum, on the wire strings."""
    def part(price: str, size: str) -> str:
        return price.replace(".", "").lstrip("0") + size.replace(".", "").lstrip("0")

    top_asks = sorted(asks.items(), key=lambda kv: Decimal(kv[0]))[:10]
    top_bids = sorted(bids.items(), key=lambda kv: -Decimal(kv[0]))[:10]
    return zlib.crc32("".join(part(p, s) for p, s in top_asks + top_bids).encode())


def okx_reference(bids: dict[str, str], asks: dict[str, str]) -> int:
    """OKX's documented checksum: bid:ask pairs interleaved over 25 levels, signed CRC32."""
    b = sorted(bids.items(), key=lambda kv: -Decimal(kv[0]))[:25]
    a = sorted(asks.items(), key=lambda kv: Decimal(kv[0]))[:25]
    fields: list[str] = []
    for i in range(max(len(b), len(a))):
        if i < len(b):
            fields += b[i]
        if i < len(a):
            fields += a[i]
    value = zlib.crc32(":".join(fields).encode())
    return value - 2**32 if value >= 2**31 else value


REFERENCE = {"kraken": kraken_reference, "kraken-v2": kraken_reference, "okx": okx_reference}
# Bids below 100, asks above: a valid sequence can never cross.
_bid_prices = st.integers(1, 9_999).map(lambda c: f"{c // 100}.{c % 100:02d}")
_ask_prices = st.integers(10_001, 20_000).map(lambda c: f"{c // 100}.{c % 100:02d}")
_sizes = st.integers(1, 10**9).map(lambda c: f"{c // 10**8}.{c % 10**8:08d}")


def _side(prices: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(prices, _sizes, max_size=30)


_updates = st.lists(st.tuples(st.booleans(), st.one_of(_bid_prices, _ask_prices), st.one_of(st.just("0"), _sizes)),
                    min_size=1, max_size=40)


@pytest.mark.parametrize("venue", ["coinbase", "kraken", "okx", "bybit", "kraken-v2"])
@given(bids=_side(_bid_prices), asks=_side(_ask_prices), updates=_updates)
def test_books_from_valid_sequences_match_and_pass_checksums(venue: str, bids: dict[str, str], asks: dict[str, str],
                                                             updates: list[tuple[bool, str, str]]) -> None:
    definition = venue_for(venue)
    encode = definition.encoder().encode_book
    reference = REFERENCE.get(venue)
    symbol, vs = "BTC-USD", definition.venue_symbol("BTC-USD")

    def levels(side: dict[str, str]) -> tuple[tuple[Decimal, Decimal], ...]:
        return tuple((Decimal(p), Decimal(s)) for p, s in side.items())

    checksum = reference(bids, asks) if reference else None
    # The venue's answer to the subscription first: it tells the depth kept (Kraken v2).
    acks = [ack for message in definition.subscribe([symbol], ["books"]) for ack in definition.encoder().acks(message)]
    frames = [encode(botkit.BookSnapshot(venue, symbol, levels(bids), levels(asks), 1, 0, 0, vs), checksum)]
    for seq, (_, price, size) in enumerate(updates, start=2):
        side = bids if Decimal(price) < 100 else asks
        size = size if size != "0" else ("0.00000000" if venue == "kraken" else "0")
        if Decimal(size):
            side[price] = size
        else:
            side.pop(price, None)
        level = ((Decimal(price), Decimal(size)),)
        delta = botkit.BookDelta(venue, symbol, level if side is bids else (), level if side is asks else (),
                                 seq, seq, 0, 0, seq - 1, vs)
        frames.append(encode(delta, reference(bids, asks) if reference else None))
    decoder = FrameDecoder(definition.parser())
    out = [e for frame in acks + frames for e in decoder.decode(frame, 1)]
    assert decoder.parse_errors == 0
    assert not [e for e in out if isinstance(e, botkit.Gap)]
    book = decoder.books["BTC-USD"].book
    assert book.bids == {Decimal(p): Decimal(s) for p, s in bids.items()}
    assert book.asks == {Decimal(p): Decimal(s) for p, s in asks.items()}
    assert not book.crossed()
    if reference:
        assert decoder.checksum_mismatches == 0 and decoder.checksums_verified == len(frames) - (venue == "kraken")


@pytest.mark.parametrize("venue", ["okx", "bybit"])
def test_a_missing_update_is_a_gap_that_asks_for_a_resubscribe(venue: str) -> None:
    definition = venue_for(venue)
    encode = definition.encoder().encode_book
    vs = definition.venue_symbol("BTC-USD")
    level = ((Decimal("99.5"), Decimal("1")),)
    snapshot = botkit.BookSnapshot(venue, "BTC-USD", level, (), 10, 0, 0, vs)
    lost_one = botkit.BookDelta(venue, "BTC-USD", level, (), 12, 12, 0, 0, 11, vs)  # 11 never arrived
    decoder = FrameDecoder(definition.parser())
    decoder.decode(encode(snapshot), 1)
    out = decoder.decode(encode(lost_one), 2)
    assert [type(e).__name__ for e in out] == ["Gap"]
    assert decoder.pending_resubscribe == {"BTC-USD"}
    resubscribe = definition.resubscribe("BTC-USD", ["books"])
    assert len(resubscribe) == 2 and "unsubscribe" in resubscribe[0] and vs in resubscribe[1]


def test_coinbase_lost_matches_resync_the_unsequenced_book() -> None:
    """Coinbase level2 has no sequence: a trade-id gap is the visible sign of lost frames,
    so it resubscribes the product's book too."""
    encoder = venue_for("coinbase").encoder()
    level = ((Decimal("99.5"), Decimal("1")),)
    decoder = FrameDecoder(venue_for("coinbase").parser())
    decoder.decode(encoder.encode_book(botkit.BookSnapshot("coinbase", "BTC-USD", level, (), -1, 0, 0, "BTC-USD")), 1)

    def match(trade_id: int) -> str:
        return encoder.encode_trade(botkit.Trade("coinbase", "BTC-USD", Decimal("100"), Decimal("1"), botkit.Side.BUY,
                                                 trade_id, 0, 0, "BTC-USD"))

    assert len(decoder.decode(match(1), 2)) == 1 and not decoder.pending_resubscribe
    out = decoder.decode(match(4), 3)  # 2 and 3 never arrived
    assert [type(e).__name__ for e in out] == ["Gap", "Trade"]
    assert decoder.pending_resubscribe == {"BTC-USD"} and not decoder.books["BTC-USD"].synced
