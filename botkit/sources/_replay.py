"""Replay a recording through the live parser, as fast as the strategy consumes it."""

from __future__ import annotations

import logging
from pathlib import Path

from .._events import Event
from ..protocol import FrameDecoder, parser_for
from ._base import EventSource, Publish
from ._recording import RecordingReader

__all__ = ["ReplaySource"]

log = logging.getLogger("botkit.replay")

_BATCH = 1024
_LOGGED_ERRORS = 20  # log the first parse errors in full, then only count them


class ReplaySource(EventSource):
    """Events from a recorded file (see ``docs/recording-format.md``).

    Example::

        summary = await Engine(Scalper(), ReplaySource("examples/data/sample.txt.gz")).run()

    :param path: the recording (plain or gzip).
    :param venue: venue whose parser decodes the frames; default: the recording's
        header, else ``"binance"`` (headerless captures such as hftbacktest's).
    :raises DataError: (while streaming) if the file is unreadable or a line corrupt;
        frames that fail to parse are counted and skipped, exactly as live.
    """

    replay = True

    def __init__(self, path: str | Path, *, venue: str | None = None) -> None:
        super().__init__()
        self.path = str(path)
        self.venue = venue
        self.reader = RecordingReader(path)
        self.decoder: FrameDecoder | None = None

    async def stream(self, publish: Publish) -> None:
        """Parse every frame and publish the events in batches."""
        reader = self.reader
        batch: list[Event] = []
        decoder = None
        errors = 0
        try:
            async for lineno, lines in reader.chunks():
                if decoder is None:
                    decoder = FrameDecoder(
                        parser_for(self.venue or reader.meta.get("venue", "binance")),
                        backfill=bool(reader.meta.get("backfill", False)),
                    )
                    self.decoder = decoder
                    decode = decoder.decode
                for line in lines:
                    lineno += 1
                    if not line or line[0] == 35:  # b"#": header or comment
                        continue
                    ts_text, _, frame = line.partition(b" ")
                    if not ts_text.isdigit() or not frame:
                        reader.split(lineno, line)  # raises the DataError naming file and line
                    ts = int(ts_text)
                    if frame[-1] == 13:  # b"\r"
                        frame = frame[:-1]
                    events = decode(frame, ts)
                    if events:
                        batch += events
                    elif decoder.parse_errors != errors:  # no events: maybe a skipped frame
                        errors = decoder.parse_errors
                        if errors <= _LOGGED_ERRORS:
                            log.warning("%s:%d: skipped frame: %s", self.path, lineno, decoder.last_error)
                    if len(batch) >= _BATCH:
                        await publish(batch)
                        batch = []
            if decoder is not None:
                batch += decoder.finish()  # trades still held for a backfill the file lacks
            if batch:
                await publish(batch)
        finally:
            if decoder is not None:
                self.stats.absorb(decoder)

    def describe(self) -> str:
        """The file being replayed."""
        return f"replay of {self.path}"

    def progress(self) -> tuple[int, int]:
        """Bytes of the file read so far, of its size."""
        return self.reader.bytes_read, self.reader.total_bytes
