"""The one small interface every event source implements (like httpx's transports)."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable

import attrs

from .._events import Event
from ..protocol import FrameDecoder

__all__ = ["FEED_COUNTERS", "EventSource", "FeedStats", "Publish"]

Publish = Callable[[list[Event]], Awaitable[None]]
"""Hands a batch of events (in order) to the engine's bus; may block (backpressure)."""


#: FeedStats' counters, which add up across feeds.
FEED_COUNTERS = ("frames", "parse_errors", "ignored_frames", "gaps", "duplicates", "outliers", "reconnects",
                 "stale_detections")


@attrs.define
class FeedStats:
    """What a source did, for the run summary."""

    #: The venue whose feed these are ("" when the source does not say).
    venue: str = ""
    frames: int = 0
    parse_errors: int = 0
    ignored_frames: int = 0
    gaps: int = 0
    duplicates: int = 0
    reconnects: int = 0
    stale_detections: int = 0
    outliers: int = 0
    #: Symbols the data held (trades or books), normalised.
    symbols: list[str] = attrs.Factory(list)
    #: Things about the data the user should know (a torn last line...), one line each.
    warnings: list[str] = attrs.Factory(list)
    #: A live feed's connection now: ``connecting``, ``live``, ``backoff``, ``closed``
    #: ("" for a replay); read by the dashboard, not summed.
    state: str = ""
    #: A live feed: seconds since its last frame when the stats were read (-1: none yet).
    last_message_age_s: float = -1.0

    @classmethod
    def total(cls, feeds: list[FeedStats]) -> FeedStats:
        """The counters of ``feeds`` summed, their symbols and warnings joined."""
        total = cls()
        for stats in feeds:
            for name in FEED_COUNTERS:
                setattr(total, name, getattr(total, name) + getattr(stats, name))
            total.symbols += [s for s in stats.symbols if s not in total.symbols]
            total.warnings += stats.warnings
        return total

    @classmethod
    def by_venue(cls, feeds: list[FeedStats]) -> dict[str, list[FeedStats]]:
        """``feeds`` grouped by venue, in the order given ("feed" when one names none)."""
        venues: dict[str, list[FeedStats]] = {}
        for stats in feeds:
            venues.setdefault(stats.venue or "feed", []).append(stats)
        return venues

    def absorb(self, decoder: FrameDecoder) -> None:
        """Copy a frame decoder's counters."""
        self.venue = decoder.venue
        self.frames = decoder.frames
        self.parse_errors = decoder.parse_errors
        self.ignored_frames = decoder.ignored
        self.gaps = decoder.gaps
        self.duplicates = decoder.duplicates
        self.outliers = decoder.outliers
        self.symbols = decoder.symbols()


class EventSource(abc.ABC):
    """Produces events for the engine: live WebSocket, recorded replay, simulator, memory.

    The engine runs :meth:`stream` as its feed task and swaps nothing else between a
    backtest and a live run, so the same strategy sees the same kinds of events.
    """

    #: True when events carry the time the engine should follow (replay): the engine
    #: then uses a :class:`~botkit.VirtualClock`.
    replay: bool = True

    def __init__(self) -> None:
        self.stats = FeedStats()

    @abc.abstractmethod
    async def stream(self, publish: Publish) -> None:
        """Produce events by awaiting ``publish(batch)`` until done or cancelled.

        Returning means the source is exhausted (end of a recording). Bad frames are
        counted in :attr:`stats` and skipped, never raised.
        """

    def feeds(self) -> list[FeedStats]:
        """The counters of each feed this source reads (one, but for a merge)."""
        return [self.stats]

    def describe(self) -> str:
        """One line saying what this source reads, for logs and summaries."""
        return type(self).__name__

    def progress(self) -> tuple[int, int] | None:
        """``(done, total)`` in some unit (e.g. bytes) when known, for progress bars."""
        return None
