"""Several venues at once: one simulator per venue of a multi-venue recording, on one
timeline.

A simulator's market is Binance frames (it re-encodes them for the venue it speaks), so
each venue's lines of the recording are decoded with that venue's parser and written
again as Binance frames: trades (their ids, prices, sizes, sides and times kept), quotes,
and book changes as depth diffs (a snapshot becomes the diff from the book before it).
Every simulator of the set shares a :class:`~botkit.sim._server.Timeline`, so at a
``speed`` above 0 their frames keep the recorded timing relative to each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from .._events import BookDelta, BookSnapshot, Level, Quote, Trade
from .._exceptions import ConfigError, ParseError
from ..protocol import venue_for
from ..protocol._book import OrderBook
from ..protocol.binance._encode import encode_book, encode_quote, encode_trade
from ..sources import RecordingReader
from ._server import ExchangeSimulator, Timeline

__all__ = ["recording_venues", "venue_market", "venue_simulators"]

_ZERO = Decimal(0)


def recording_venues(meta: Mapping[str, Any]) -> list[str]:
    """The venues a recording's header names (one, for a single-venue recording)."""
    venues = meta.get("venues")
    if isinstance(venues, Mapping) and venues:
        return [str(v) for v in venues]
    return [str(meta.get("venue", "binance"))]


async def venue_market(path: str | Path, venue: str) -> AsyncIterator[tuple[int, bytes]]:
    """``venue``'s lines of a multi-venue recording, as ``(receive ns, Binance frame)``:
    a simulator's market. A frame its parser cannot read goes on as it was (a simulator
    sends garbage as garbage)."""
    prefix = venue.encode() + b" "
    verbatim = venue == "binance"
    parser = venue_for(venue).parser()
    books: dict[str, OrderBook] = {}
    ids: dict[str, int] = {}
    async for _, ts, line in RecordingReader(path).frames():
        if not line.startswith(prefix):
            continue
        frame = line[len(prefix):]
        if verbatim:
            yield ts, frame
            continue
        try:
            events = parser.parse(frame, ts)
        except ParseError:
            yield ts, frame
            continue
        for event in events:
            out = _binance_frame(event, books, ids)
            if out is not None:
                yield ts, out


def _binance_frame(event: object, books: dict[str, OrderBook], ids: dict[str, int]) -> bytes | None:
    """One event as the Binance frame a simulator serves (None: nothing Binance sends)."""
    if type(event) is Trade:
        return encode_trade(attrs.evolve(event, venue="binance", venue_symbol=""))
    if type(event) is Quote:
        seq = ids[event.symbol] = ids.get(event.symbol, 0) + 1
        return encode_quote(attrs.evolve(event, venue="binance", venue_symbol="", update_id=seq))
    if type(event) is BookSnapshot or type(event) is BookDelta:
        book = books.setdefault(event.symbol, OrderBook())
        bids, asks = event.bids, event.asks
        if type(event) is BookSnapshot:  # what changed since the book before it, removals too
            old_bids, old_asks = book.levels()
            bids, asks = _changes(old_bids, bids), _changes(old_asks, asks)
        seq = ids[event.symbol] = ids.get(event.symbol, 0) + 1
        delta = BookDelta("binance", event.symbol, bids, asks, seq, seq, event.ts_exchange, event.ts_recv)
        book.apply(delta)
        return encode_book(delta)
    return None


def _changes(old: tuple[Level, ...], new: tuple[Level, ...]) -> tuple[Level, ...]:
    kept = {price for price, _ in new}
    return (*new, *((price, _ZERO) for price, _ in old if price not in kept))


def venue_simulators(path: str | Path, venues: list[str], meta: Mapping[str, Any],
                     **options: Any) -> dict[str, ExchangeSimulator]:
    """One simulator per venue in ``venues``, each serving that venue's share of the
    multi-venue recording at ``path`` in its protocol, on one shared timeline
    (``options``: :class:`~botkit.sim.ExchangeSimulator`'s, ``faults`` may map a venue
    to its faults).

    :raises ConfigError: a venue the recording does not hold.
    """
    recorded = recording_venues(meta)
    missing = [v for v in venues if v not in recorded]
    if missing:
        raise ConfigError(f"{path} holds {', '.join(recorded)}; it has no {missing[0]} to serve")
    several = isinstance(meta.get("venues"), Mapping)
    if not several and recorded != ["binance"]:
        raise ConfigError(f"{path} is a {recorded[0]} recording; the exchange simulator replays Binance recordings "
                          "and recordings of several venues")
    timeline = Timeline()
    faults = options.pop("faults", None) or {}
    return {venue: ExchangeSimulator(venue_market(path, venue) if several else path, venue=venue, timeline=timeline,
                                     faults=list(faults.get(venue, ())), **options)
            for venue in venues}
