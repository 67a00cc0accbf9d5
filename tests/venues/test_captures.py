"""Every venue on its real captured frames (../shared/data/cryptofeed-sample-data):
every frame parses into events or is a known non-data message, books rebuilt from the
capture stay continuous and pass every checksum the venue sent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import botkit
from botkit.protocol import FrameDecoder, parser_for

from ..conftest import shared_file


def capture_frames(path: Path, http: Path | None = None, host: bytes = b"binance.com") -> list[tuple[int, bytes]]:
    """Received frames of a cryptofeed capture (``T: PAYLOAD`` lines), with the REST
    answers of ``http`` (``URL -> T: BODY``) merged in time order as botkit REST frames."""
    frames = []
    for line in path.read_bytes().splitlines():
        if line[:1].isdigit():
            ts, _, frame = line.partition(b": ")
            frames.append((int(float(ts) * 1e9), frame))
    for line in http.read_bytes().splitlines() if http else ():
        url, arrow, rest = line.partition(b" -> ")
        if arrow:
            ts, _, body = rest.partition(b": ")
            frames.append((int(float(ts) * 1e9), b'{"rest":"%s","data":%s}' % (url.split(host, 1)[1], body)))
    return sorted(frames, key=lambda item: item[0])


def decode_all(venue: str, frames: list[tuple[int, bytes]]) -> tuple[FrameDecoder, Counter[str]]:
    decoder = FrameDecoder(parser_for(venue))
    counts: Counter[str] = Counter()
    for ts, frame in frames:
        for event in decoder.decode(frame, ts):
            counts[type(event).__name__] += 1
    return decoder, counts


def assert_books_sound(decoder: FrameDecoder, symbols: set[str]) -> None:
    assert set(decoder.books) == symbols
    for symbol, sync in decoder.books.items():
        assert sync.synced, symbol
        assert not sync.book.crossed(), symbol
        assert sync.book.bids and sync.book.asks, symbol


def test_binance_futures_capture() -> None:
    frames = capture_frames(shared_file("cryptofeed-sample-data", "BINANCE_FUTURES.ws.1.0"),
                            shared_file("cryptofeed-sample-data", "BINANCE_FUTURES.http.0.0"))
    decoder, counts = decode_all("binance-futures", frames)
    assert (decoder.frames, decoder.parse_errors, decoder.gaps) == (1539, 0, 0)
    # 764 diffs: those older than each symbol's REST snapshot are dropped, as documented.
    assert counts == {"Quote": 613, "BookSnapshot": 4, "BookDelta": 752, "Bar": 67, "Trade": 91}
    assert_books_sound(decoder, {"SUSHI-USDT", "AKRO-USDT", "KEEP-USDT", "CTK-USDT"})


def test_coinbase_capture() -> None:
    decoder, counts = decode_all("coinbase", capture_frames(shared_file("cryptofeed-sample-data", "COINBASE.ws.28.0")))
    assert (decoder.frames, decoder.parse_errors, decoder.gaps, decoder.ignored) == (9946, 0, 0, 3)
    assert counts == {"BookSnapshot": 10, "BookDelta": 9719, "Quote": 107, "Trade": 107}
    assert_books_sound(decoder, {"BAND-GBP", "BAND-BTC", "YFI-BTC", "NU-GBP", "CRV-EUR", "SKL-GBP", "SKL-USD",
                                 "SKL-BTC", "NMR-EUR", "DASH-BTC"})
    assert decoder.parser.stale == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "frames", "ignored", "counts"), [
    ("KRAKEN.ws.48.0", 49, 41, {"Trade": 10}),
    ("KRAKEN.ws.49.0", 60, 42, {"Quote": 18}),
    ("KRAKEN.ws.50.0", 4321, 42, {"BookSnapshot": 10, "BookDelta": 4269}),
])
def test_kraken_captures(name: str, frames: int, ignored: int, counts: dict[str, int]) -> None:
    decoder, seen = decode_all("kraken", capture_frames(shared_file("cryptofeed-sample-data", name)))
    assert (decoder.frames, decoder.parse_errors, decoder.ignored) == (frames, 0, ignored)
    assert seen == counts
    if "BookDelta" in counts:
        # Every update carries the venue's CRC32 of its top ten levels: all must match.
        assert (decoder.checksums_verified, decoder.checksum_mismatches, decoder.gaps) == (4269, 0, 0)
        assert_books_sound(decoder, {"WAVES-EUR", "XMR-USD", "KSM-BTC", "GRT-ETH", "SC-EUR", "ETH-CHF",
                                     "OCEAN-BTC", "OMG-USD", "BTC-CHF", "ADA-BTC"})
        assert decoder.books["BTC-CHF"].book.last_update_id == -1  # Kraken v1 sends no ids


def test_okx_capture() -> None:
    decoder, counts = decode_all("okx", capture_frames(shared_file("cryptofeed-sample-data", "OKX.ws.1.0")))
    assert (decoder.frames, decoder.parse_errors, decoder.gaps, decoder.ignored) == (410, 0, 0, 18)
    assert counts == {"Quote": 28, "Trade": 74, "BookSnapshot": 3, "BookDelta": 287}
    assert (decoder.checksums_verified, decoder.checksum_mismatches) == (290, 0)
    assert_books_sound(decoder, {"BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT"})


def test_a_corrupted_level_fails_the_checksum_and_asks_for_a_resubscribe() -> None:
    frames = capture_frames(shared_file("cryptofeed-sample-data", "KRAKEN.ws.50.0"))
    index = next(i for i, (_, f) in enumerate(frames) if b'"c":"' in f and b"XMR/USD" in f)
    ts, frame = frames[index]
    frames[index] = (ts, frame.replace(b'"c":"', b'"c":"1', 1))  # a checksum the book cannot have
    decoder, counts = decode_all("kraken", frames[: index + 1])
    assert decoder.checksum_mismatches == 1 and counts["Gap"] == 1
    assert decoder.pending_resubscribe == {"XMR-USD"}
    assert not decoder.books["XMR-USD"].synced


def test_symbols_are_normalised_and_the_venue_spelling_is_kept() -> None:
    parser = parser_for("kraken")
    trade_line = next(f for _, f in capture_frames(shared_file("cryptofeed-sample-data", "KRAKEN.ws.48.0"))
                      if b'"trade","XMR/USD"' in f)
    trade = parser.parse(trade_line, 1)[0]
    assert isinstance(trade, botkit.Trade)
    assert (trade.symbol, trade.venue_symbol, trade.side) == ("XMR-USD", "XMR/USD", botkit.Side.SELL)
