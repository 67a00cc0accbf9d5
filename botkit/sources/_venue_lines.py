"""Recordings that hold several venues: each data line names its venue
(``<ns> <venue> <frame>``, see docs/recording-format.md), and each venue's frames go
through a decoder of their own, so every venue is sequenced exactly as its live feed was."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._events import Event
from .._exceptions import ParseError
from ..protocol import FrameDecoder, parser_for

__all__ = ["VenueDecoders", "venue_frame"]


def venue_frame(venue: str) -> Callable[[bytes | str], bytes]:
    """What a recording of several venues stores for a frame of ``venue``."""
    prefix = venue.encode() + b" "

    def tagged(frame: bytes | str) -> bytes:
        return prefix + (frame.encode() if isinstance(frame, str) else frame)

    return tagged


class VenueDecoders:
    """A frame decoder per venue named in the header's ``venues``, behind the part of
    :class:`~botkit.protocol.FrameDecoder`'s interface a replay uses. A line of a venue
    the header does not name is a counted parse error, as a frame no parser knows is."""

    def __init__(self, venues: Mapping[str, Mapping[str, Any]],
                 make: Callable[[str, bool], FrameDecoder]) -> None:
        self.decoders = {name.encode(): make(name, bool(meta.get("backfill", False)))
                         for name, meta in venues.items()}
        self.venue = "+".join(venues)
        self._unknown = 0
        self.last_error: ParseError | None = None

    def decode(self, line: bytes | str, ts_recv: int) -> list[Event]:
        """The events of one ``<venue> <frame>``."""
        if isinstance(line, str):
            line = line.encode()
        venue, _, frame = line.partition(b" ")
        decoder = self.decoders.get(venue)
        if decoder is None:
            self._unknown += 1
            self.last_error = ParseError(f"venue {venue.decode(errors='replace')!r} is not one of the header's "
                                         f"venues ({self.venue.replace('+', ', ')})", line)
            return []
        events = decoder.decode(frame, ts_recv)
        if not events and decoder.last_error is not None:
            self.last_error = decoder.last_error
        return events

    def decode_run(self, block: bytes, pos: int, end: int, out: list[Event], limit: int) -> tuple[int, int]:
        """No compiled runs here: every line takes :meth:`decode`."""
        return pos, 0

    def finish(self) -> list[Event]:
        """What every venue's decoder still holds at the end of the data."""
        return [event for decoder in self.decoders.values() for event in decoder.finish()]

    def wrong_venue(self, *, at_end: bool = False) -> str | None:
        """The first venue whose frames are nearly all unreadable, said as for one venue."""
        for decoder in self.decoders.values():
            wrong = decoder.wrong_venue(at_end=at_end)
            if wrong is not None:
                return wrong
        return None

    @property
    def parse_errors(self) -> int:
        """Frames that failed to parse, of every venue, and lines of unknown venues."""
        return self._unknown + sum(d.parse_errors for d in self.decoders.values())

    def each(self) -> list[FrameDecoder]:
        """The venues' decoders, in the header's order."""
        return list(self.decoders.values())


def replay_venues(meta: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]] | None:
    """The header's ``venues`` (name -> that venue's feed metadata), or None for a
    recording of one venue."""
    venues = meta.get("venues")
    if not isinstance(venues, dict) or not venues:
        return None
    for name in venues:
        parser_for(name)  # an unknown venue fails here, in one line
    return {name: (value if isinstance(value, dict) else {}) for name, value in venues.items()}
