"""Typed events: immutable values flowing from sources through the bus to strategies.

Prices and sizes are :class:`decimal.Decimal` (exact, as the venue sent them); every
timestamp is an integer of nanoseconds since the Unix epoch. ``ts_recv`` is when botkit
received the event (live) or when it was received at recording time (replay); the
engine clock follows it. A changed copy is ``attrs.evolve(event, price=...)``.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any, TypeAlias

import attrs

__all__ = [
    "Bar",
    "BookDelta",
    "BookSnapshot",
    "ConnectionState",
    "Event",
    "FeedStatus",
    "Gap",
    "Level",
    "MarketEvent",
    "Quote",
    "Side",
    "Timer",
    "Trade",
]

Level: TypeAlias = tuple[Decimal, Decimal]
"""One book level: ``(price, size)``; in a delta, size 0 removes the level."""


class Side(enum.Enum):
    """Order or aggressor side."""

    BUY = "buy"
    SELL = "sell"


# Events are values: no weak references to them (``weakref_slot=False`` on each), which
# also lets ``fast_constructor`` fill a layout twin and retype it (a ``__weakref__`` slot
# breaks CPython's layout check). Spelt out per class so type checkers see attrs' fields.


class ConnectionState(enum.Enum):
    """State of a feed's connection, as reported by :class:`FeedStatus`."""

    CONNECTING = "connecting"
    LIVE = "live"
    DOWN = "down"
    CLOSED = "closed"


@attrs.frozen(weakref_slot=False)
class Trade:
    """A public trade (one match) on a venue.

    ``side`` is the aggressor (taker) side: ``Side.BUY`` means a buyer lifted the ask.
    """

    venue: str
    symbol: str
    price: Decimal
    size: Decimal
    side: Side
    trade_id: int
    ts_exchange: int
    ts_recv: int
    #: The venue's own spelling of ``symbol`` (``symbol`` is normalised, e.g. ``BTC-USDT``).
    venue_symbol: str = ""


@attrs.frozen(weakref_slot=False)
class Quote:
    """Best bid and ask (top of book) with their sizes."""

    venue: str
    symbol: str
    bid_price: Decimal
    bid_size: Decimal
    ask_price: Decimal
    ask_size: Decimal
    update_id: int
    ts_exchange: int
    ts_recv: int
    #: The venue's own spelling of ``symbol`` (``symbol`` is normalised, e.g. ``BTC-USDT``).
    venue_symbol: str = ""


@attrs.frozen(weakref_slot=False)
class BookSnapshot:
    """A full L2 book: bids best-first (descending), asks best-first (ascending)."""

    venue: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    last_update_id: int
    ts_exchange: int
    ts_recv: int
    #: The venue's own spelling of ``symbol`` (``symbol`` is normalised, e.g. ``BTC-USDT``).
    venue_symbol: str = ""
    #: The venue's checksum of this book (OKX), else None.
    checksum: int | None = None


@attrs.frozen(weakref_slot=False)
class BookDelta:
    """Changes to L2 levels covering exchange update ids ``first_update_id..last_update_id``.

    A level with size 0 is removed. ``prev_update_id`` is the venue's link to the
    previous delta where it sends one (Binance futures ``pu``), else -1.
    """

    venue: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    first_update_id: int
    last_update_id: int
    ts_exchange: int
    ts_recv: int
    prev_update_id: int = -1
    #: The venue's own spelling of ``symbol`` (``symbol`` is normalised, e.g. ``BTC-USDT``).
    venue_symbol: str = ""
    #: The venue's checksum of its book after this update (Kraken, OKX), else None.
    checksum: int | None = None


@attrs.frozen(weakref_slot=False)
class Bar:
    """An OHLCV bar; ``closed`` is False while the venue still updates it."""

    venue: str
    symbol: str
    interval: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    ts_open: int
    ts_close: int
    closed: bool
    ts_recv: int
    #: The venue's own spelling of ``symbol`` (``symbol`` is normalised, e.g. ``BTC-USDT``).
    venue_symbol: str = ""


@attrs.frozen(weakref_slot=False)
class Timer:
    """A timer a strategy scheduled; ``ts_recv`` is the engine time it was due at."""

    name: str
    ts_recv: int


@attrs.frozen(weakref_slot=False)
class FeedStatus:
    """A feed's connection changed state (e.g. went down, came back)."""

    venue: str
    state: ConnectionState
    reason: str
    ts_recv: int
    attempt: int = 0
    #: Trades fetched over REST to fill the outage this status closes.
    backfilled: int = 0


@attrs.frozen(weakref_slot=False)
class Gap:
    """A feed skipped exchange sequence ids: ``expected`` was due, ``received`` came.

    For trades the missing ids are ``expected .. received - 1``.
    """

    venue: str
    symbol: str
    channel: str
    expected: int
    received: int
    ts_recv: int


@attrs.frozen(weakref_slot=False)
class BrokerWake:
    """Engine event: a live broker has order updates or fills for the strategy (the
    engine hands them over; no hook sees this event)."""

    venue: str
    ts_recv: int


MarketEvent: TypeAlias = Trade | Quote | BookSnapshot | BookDelta | Bar
Event: TypeAlias = Trade | Quote | BookSnapshot | BookDelta | Bar | Timer | FeedStatus | Gap | BrokerWake

MARKET_EVENT_TYPES: tuple[type, ...] = (Trade, Quote, BookSnapshot, BookDelta, Bar)
EVENT_TYPES: tuple[type, ...] = (*MARKET_EVENT_TYPES, Timer, FeedStatus, Gap)


def fields_twin(cls: type) -> type:
    """A mutable class with exactly the slots of the frozen event ``cls``.

    Building an event field by field through attrs' frozen ``__init__`` costs an
    ``object.__setattr__`` call per field; storing the fields into a twin (plain
    attribute stores, the interpreter's fastest) and then setting ``obj.__class__ = cls``
    gives the same object for much less (docs/architecture.md). The hot parsing paths
    build millions.
    """
    fields = attrs.fields(cls)
    if any(f.validator or f.converter for f in fields) or hasattr(cls, "__attrs_post_init__"):
        raise TypeError(f"{cls.__name__} has validators or converters: use its constructor")
    twin = type(f"_{cls.__name__}Fields", (), {"__slots__": vars(cls)["__slots__"]})
    probe: Any = object.__new__(twin)
    probe.__class__ = cls  # raises TypeError now if the layouts differ
    return twin


def fast_constructor(cls: type) -> Any:
    """A positional constructor for a frozen, slotted attrs event through its
    :func:`fields_twin`: the result is indistinguishable from ``cls(...)``."""
    names = [f.name for f in attrs.fields(cls)]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "twin": fields_twin(cls)}
    lines = [f"def make({', '.join(names)}):", "    obj = new(twin)"]
    lines += [f"    obj.{name} = {name}" for name in names]
    lines += ["    obj.__class__ = cls", "    return obj"]
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from field names only
    return namespace["make"]
