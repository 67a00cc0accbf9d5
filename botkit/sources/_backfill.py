"""What the live feed fetches over REST: depth snapshots and missed trades.

The sans-IO decoder says what it needs (``FrameDecoder.pending_snapshots``,
``TradeSequencer.pending``); this worker fetches it through the venue's rate limiter and
feeds the answers back as frames, recorded like any other, so a replay of the recording
holds, merges and resyncs exactly as the live run did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import anyio
import msgspec

from ..protocol import FrameDecoder, Venue
from ..protocol._common import rest_frame
from ..protocol._decoder import RESYNC_PREFIX
from ..protocol._ratelimit import RestLimiter
from ._base import Publish
from ._rest import RestClient, RestFailed

__all__ = ["RestWorker"]

log = logging.getLogger("botkit.feed")

OnFrame = Callable[[int, bytes], object]


class RestWorker:
    """Fetches what the decoder asks for, one request at a time, for the life of a feed.

    :param base: REST base URL.
    :param aggregated: the feed carries aggregated trades (backfill from that endpoint).
    :param on_frame: the recorder, given every frame the worker produces.
    """

    def __init__(self, decoder: FrameDecoder, venue: Venue, base: str, *, limiter: RestLimiter | None,
                 snapshot_limit: int, aggregated: bool, on_frame: OnFrame | None) -> None:
        self.decoder = decoder
        self.venue = venue
        self.snapshot_limit = snapshot_limit
        self.aggregated = aggregated
        self.on_frame = on_frame
        self._client = RestClient(base, limiter)
        self._wakeup = anyio.Event()
        self._answered = anyio.Event()  # set (and replaced) after each REST answer

    def wake(self) -> None:
        """The decoder may want something: look."""
        self._wakeup.set()

    def resync(self) -> None:
        """Back after an outage: fetch whatever traded meanwhile and re-anchor books,
        whether or not the next live message shows the hole (a quiet one would not). The
        request is a frame of botkit's own, recorded, so a replay resyncs at the same spot."""
        for symbol in self.decoder.symbols():
            marker = RESYNC_PREFIX + symbol.encode() + b'"}'
            ts = time.time_ns()
            if self.on_frame is not None:
                self.on_frame(ts, marker)
            self.decoder.decode(marker, ts)
        self.wake()

    async def run(self, publish: Publish) -> None:
        """The worker task: until cancelled."""
        decoder, venue = self.decoder, self.venue
        while True:
            await self._wakeup.wait()
            self._wakeup = anyio.Event()
            for symbol in list(decoder.trades.pending):
                request = decoder.trades.pending.pop(symbol)
                path = venue.trades_path(symbol, request.from_id, self.aggregated)
                if path is not None:
                    await self._fetch(path, venue.rest_weight(urlsplit(path).path), publish)
            for symbol in list(decoder.pending_snapshots):
                path = venue.snapshot_path(symbol, self.snapshot_limit)
                if symbol in decoder.pending_snapshots and path is not None:
                    await self._fetch(path, venue.rest_weight(urlsplit(path).path, self.snapshot_limit), publish)
            if decoder.trades.pending or decoder.pending_snapshots:
                self.wake()

    async def drain(self, timeout_s: float) -> None:
        """At the end of the data: let pending backfills and snapshots finish (bounded);
        the source then releases anything still held, with a Gap, so nothing received is
        lost."""
        decoder = self.decoder
        with anyio.move_on_after(timeout_s):
            while decoder.trades.pending or decoder.pending_snapshots or decoder.trades.backfills():
                answered = self._answered
                self.wake()
                await answered.wait()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def _fetch(self, path: str, weight: int, publish: Publish) -> None:
        """GET ``path``, record the answer (or the failure) as a frame, decode, publish."""
        try:
            frame = rest_frame(path, await self._client.get(path, weight))
        except RestFailed as exc:
            log.warning("REST %s failed: %s", path, exc)
            frame = msgspec.json.encode({"rest": path, "error": str(exc)})
            await anyio.sleep(0.2)  # a failing venue is not asked again at once
        ts = time.time_ns()
        if self.on_frame is not None:
            self.on_frame(ts, frame)
        events = self.decoder.decode(frame, ts)
        if events:
            await publish(events)
        self._answered.set()
        self._answered = anyio.Event()
