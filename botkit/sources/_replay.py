"""Replay a recording through the live parser, as fast as the strategy consumes it."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._events import Event, Trade
from .._exceptions import ConfigError, DataError, leaf_errors
from ..protocol import FrameDecoder, Parser, parser_for
from ..protocol._compiled import load
from ._base import EventSource, FeedStats, Publish
from ._recording import ReadFailed, RecordingReader, parse_line, torn_line, truncated_file
from ._venue_lines import VenueDecoders, replay_venues

__all__ = ["ReplaySource", "replay_decoder"]

log = logging.getLogger("botkit.replay")

_BATCH = 1024
_LINES = load("botkit.sources._clines")  # runs of trade lines in C, where it is built
_SWITCH_INTERVAL_S = 0.0005
_LOGGED_ERRORS = 20  # log the first parse errors in full, then only count them


def replay_decoder(parser: Parser, *, backfill: bool = False) -> FrameDecoder:
    """The frame decoder a replay uses: with the compiled recording-line scanner where it
    is built (``FrameDecoder.decode_run`` then takes runs of trade lines in C)."""
    scanner = _LINES.run_lines if _LINES is not None else None
    return FrameDecoder(parser, backfill=backfill, line_scanner=scanner, book_levels=False)


class ReplaySource(EventSource):
    """Events from a recorded file (see ``docs/recording-format.md``).

    Example::

        summary = await Engine(Scalper(), ReplaySource("examples/data/sample.txt.gz")).run()

    :param path: the recording (plain or gzip).
    :param venue: venue whose parser decodes the frames; default: the recording's
        header, else ``"binance"`` (headerless captures such as hftbacktest's).
    :param switch_interval_s: the interpreter's thread switch interval while the replay
        streams (restored after it; ``None`` leaves it alone). The read-ahead thread
        needs the GIL a few times per block, and at CPython's default 5 ms it waits longer
        for it than the block takes to parse.
    :raises DataError: (while streaming) if the file is unreadable or a line corrupt;
        frames that fail to parse are counted and skipped, exactly as live.
    """

    replay = True

    def __init__(self, path: str | Path, *, venue: str | None = None,
                 switch_interval_s: float | None = _SWITCH_INTERVAL_S) -> None:
        super().__init__()
        self.path = str(path)
        self.venue = venue
        self.switch_interval_s = switch_interval_s
        self.reader = RecordingReader(path)
        self.decoder: FrameDecoder | VenueDecoders | None = None
        self._feeds: list[FeedStats] = []

    async def stream(self, publish: Publish) -> None:
        """Parse every frame and publish the events in batches.

        The next chunk of the file is read (and decompressed, in a worker thread)
        while this one is parsed: a reader task in a task group of the feed's own.
        """
        send, receive = anyio.create_memory_object_stream[tuple[bytes, int, int] | ReadFailed](1)
        interval = sys.getswitchinterval()
        if self.switch_interval_s is not None:  # see the constructor: scoped to this replay
            sys.setswitchinterval(min(interval, self.switch_interval_s))
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._read_ahead, send)
                with receive:
                    await self._decode(receive, publish)
        except BaseExceptionGroup as group:
            raise _sole(group) from None
        finally:
            sys.setswitchinterval(interval)

    async def _read_ahead(self, send: MemoryObjectSendStream[tuple[bytes, int, int] | ReadFailed]) -> None:
        with send:
            try:
                async for block in self.reader.blocks():
                    await send.send(block)
            except ReadFailed as exc:
                await send.send(exc)  # after the blocks before it: _decode knows the line

    async def _decode(self, blocks: MemoryObjectReceiveStream[tuple[bytes, int, int] | ReadFailed],
                      publish: Publish) -> None:
        reader = self.reader
        batch: list[Event] = []
        decoder = None
        errors = 0
        after_trade = True
        try:
            lineno = 0
            async for item in blocks:
                if isinstance(item, ReadFailed):
                    if item.truncated:  # what a crash while writing leaves: keep what is whole
                        reader.warn(truncated_file(self.path, item.reason, lineno))
                        break
                    if batch:
                        await publish(batch)
                        batch = []
                    raise item.at(self.path, lineno)
                block, pos, size = item
                if decoder is None:
                    decoder = self._decoder(reader.meta)
                    self.decoder = decoder
                    decode, decode_run, split = decoder.decode, decoder.decode_run, reader.split
                while pos < size:
                    # Runs of plain trade lines go through the compiled path in one call;
                    # the line it stops at (anything else) takes the general path below.
                    # It is tried after a trade only: a run starts with one, and asking
                    # at every quote or depth line of a mixed feed costs a call each.
                    if after_trade:
                        pos, done = decode_run(block, pos, size, batch, _BATCH)
                        if done:
                            lineno += done
                            if len(batch) >= _BATCH:
                                await publish(batch)
                                batch = []
                            if pos >= size:
                                break
                    end = block.find(b"\n", pos, size)
                    unterminated = end < 0  # only the file's last line may lack its newline
                    if unterminated:
                        end = size
                    line = block[pos:end]
                    pos = end + 1
                    lineno += 1
                    if not line or line[0] == 35:  # b"#": header or comment
                        continue
                    parsed = parse_line(line)
                    if parsed is None:
                        if unterminated:
                            reader.warn(torn_line(self.path, lineno))
                            continue
                        if batch:  # every good line before it reaches the strategy
                            await publish(batch)
                            batch = []
                        split(lineno, line)  # raises the DataError naming file and line
                        continue
                    events = decode(parsed[1], parsed[0])
                    after_trade = bool(events) and type(events[-1]) is Trade
                    if events:
                        batch += events
                    elif decoder.parse_errors != errors:  # no events: maybe a skipped frame
                        errors = decoder.parse_errors
                        if unterminated:  # counted as the parse error it is, and said why
                            reader.warn(torn_line(self.path, lineno))
                        elif errors <= _LOGGED_ERRORS:
                            log.warning("%s:%d: skipped frame: %s", self.path, lineno, decoder.last_error)
                    if len(batch) >= _BATCH:
                        await publish(batch)
                        batch = []
                if decoder is not None and decoder.parse_errors:
                    await self._refuse_wrong_venue(decoder, batch, publish)
            if decoder is not None:
                await self._refuse_wrong_venue(decoder, batch, publish, at_end=True)
                batch += decoder.finish()  # trades still held for a backfill the file lacks
            if batch:
                await publish(batch)
        finally:
            if isinstance(decoder, VenueDecoders):
                self._feeds = []
                for each in decoder.each():
                    self._feeds.append(FeedStats())
                    self._feeds[-1].absorb(each)
                self.stats = FeedStats.total(self._feeds)
                self.stats.parse_errors = decoder.parse_errors  # with lines of venues the header lacks
            elif decoder is not None:
                self.stats.absorb(decoder)
            self.stats.warnings = list(reader.warnings)

    def _decoder(self, meta: dict[str, Any]) -> FrameDecoder | VenueDecoders:
        """The recording's decoder: its venue's, or one per venue of a recording of several."""
        backfill = bool(meta.get("backfill", False))
        try:
            venues = None if self.venue else replay_venues(meta)
        except ConfigError as exc:
            raise DataError(self.path, 1, f"the header's venues: {exc}") from None
        if venues is None:
            return replay_decoder(parser_for(self.venue or meta.get("venue", "binance")), backfill=backfill)
        return VenueDecoders(venues, lambda name, each: replay_decoder(parser_for(name), backfill=each or backfill))

    def feeds(self) -> list[FeedStats]:
        """One venue's counters, or each venue's of a recording of several."""
        return self._feeds or [self.stats]

    async def _refuse_wrong_venue(self, decoder: FrameDecoder | VenueDecoders, batch: list[Event], publish: Publish, *,
                                  at_end: bool = False) -> None:
        wrong = decoder.wrong_venue(at_end=at_end)
        if wrong is not None:
            if batch:
                await publish(batch)
            raise DataError(self.path, 0, wrong)

    def describe(self) -> str:
        """The file being replayed."""
        return f"replay of {self.path}"

    def progress(self) -> tuple[int, int]:
        """Bytes of the file read so far, of its size."""
        return self.reader.bytes_read, self.reader.total_bytes


def _sole(group: BaseExceptionGroup) -> BaseException:
    """The one error inside ``group`` (the reader's or the decoder's: when one fails the
    other is cancelled), so callers see a :class:`DataError`, not a group."""
    leaves = leaf_errors(group)
    errors = [e for e in leaves if isinstance(e, Exception)]
    return (errors or leaves)[0] if len(errors) <= 1 else group
