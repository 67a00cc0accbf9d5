"""Record raw frames as they arrive, safely: flushed every second, complete on Ctrl-C."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path
from typing import Any

import anyio

from ._recording import format_header, format_line

__all__ = ["FrameRecorder"]

log = logging.getLogger("botkit.record")


class FrameRecorder:
    """Buffers ``(ts, frame)`` pairs in memory and appends them to a recording.

    Each flush is written as a complete unit (for ``.gz``: one gzip member; gzip readers
    read concatenated members as one stream), so a ``kill -9`` loses at most the frames
    since the last flush and the file stays readable. Writes run in a worker thread.

    Example::

        recorder = FrameRecorder("out.txt.gz", {"venue": "binance"})
        source = WebSocketSource(url, on_frame=recorder.add)
        ...  # run recorder.run() as a task beside the source; then:
        await recorder.flush()

    :param interval_s: flush period.
    """

    def __init__(self, path: str | Path, meta: dict[str, Any], *, interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.gzip = self.path.name.endswith(".gz")
        self.interval_s = interval_s
        self.frames = 0
        self._buffer: list[bytes] = [format_header(meta)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"")  # truncate now: a bad path fails before connecting

    def add(self, ts_recv: int, frame: bytes | str) -> None:
        """Buffer one frame (called by the source for every frame, before parsing)."""
        self._buffer.append(format_line(ts_recv, frame))
        self.frames += 1

    async def flush(self) -> None:
        """Write out what is buffered (shielded: a cancelled run still saves everything)."""
        if not self._buffer:
            return
        data, self._buffer = b"".join(self._buffer), []
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._append, data)
        log.debug("flushed %d bytes to %s (%d frames so far)", len(data), self.path, self.frames)

    def _append(self, data: bytes) -> None:
        if self.gzip:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        with open(self.path, "ab") as fh:
            fh.write(data)
            fh.flush()

    async def run(self) -> None:
        """Flush every ``interval_s`` until cancelled, then flush the rest."""
        try:
            while True:
                await anyio.sleep(self.interval_s)
                await self.flush()
        finally:
            await self.flush()
