"""The recording format: raw exchange frames with their local receive times.

See ``docs/recording-format.md``. In short, UTF-8 text, one frame per line, optionally
gzip-compressed (detected from the content, not the name)::

    #botkit-recording 1 {"venue": "binance", "symbols": ["BTCUSDT"]}
    1723161254087896568 {"stream":"btcusdt@trade","data":{...}}

Lines starting with ``#`` are metadata/comments; empty lines are skipped. A line is
``<receive time, integer ns> <single space> <frame exactly as received>``. A recording
replays through the very parser the live feed uses.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import anyio

from .._exceptions import DataError

log = logging.getLogger("botkit.recording")

__all__ = [
    "HEADER_PREFIX", "RecordingReader", "RecordingWriter", "format_header", "format_line", "parse_capture_line",
    "parse_line", "read_meta",
]

HEADER_PREFIX = b"#botkit-recording "
FORMAT_VERSION = 1
_CHUNK = 4 << 20  # plain text read per worker-thread call
_GZIP_CHUNK = 512 << 10  # compressed bytes per call (inflates to about 10x that)
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip member: header, deflate data, CRC-32 and size checked


class _Inflater:
    """Decompresses a gzip file (one member or several, as the recorder writes them) a
    large block per call.

    ``gzip.GzipFile`` inflates 8 KB of input per step and takes the GIL back between
    steps; from a worker thread reading ahead that means waiting on the busy parse
    loop thousands of times per file. Here each block is one zlib call, which runs
    without the GIL. zlib checks every member's CRC-32 and length, as GzipFile does.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._zlib = zlib.decompressobj(_GZIP_WBITS)
        self._in_member = False

    def read(self, size: int) -> bytes:
        """The next decompressed bytes (``b""`` at the end).

        :raises EOFError: if the file ends inside a member (truncated).
        :raises zlib.error: if the data is corrupt.
        """
        while True:
            data = self._raw.read(size)
            if not data:
                if self._in_member:
                    raise EOFError("compressed file ended before the end-of-stream marker")
                return b""
            out = self._inflate(data)
            if out:
                return out

    def _inflate(self, data: bytes) -> bytes:
        parts = []
        while data:
            self._in_member = True
            parts.append(self._zlib.decompress(data))
            if not self._zlib.eof:
                break
            # End of a member: what follows is the next member (GzipFile also skips
            # zero padding between members).
            data = self._zlib.unused_data.lstrip(b"\0")
            self._zlib = zlib.decompressobj(_GZIP_WBITS)
            self._in_member = False
        return b"".join(parts)

    def close(self) -> None:
        self._raw.close()


def format_header(meta: dict[str, Any]) -> bytes:
    """The first line of a recording, carrying ``meta`` (venue, url, symbols...)."""
    return HEADER_PREFIX + f"{FORMAT_VERSION} ".encode() + json.dumps(meta, sort_keys=True).encode() + b"\n"


def _parse_header(path: str, line: bytes) -> dict[str, Any]:
    version, _, meta = line[len(HEADER_PREFIX) :].partition(b" ")
    if version.strip() != str(FORMAT_VERSION).encode():
        raise DataError(path, 1, f"unsupported recording version {version.decode(errors='replace')!r}")
    try:
        parsed = json.loads(meta) if meta.strip() else {}
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise DataError(path, 1, "corrupt recording header: metadata is not a JSON object")
    return parsed


def read_meta(path: str | Path) -> dict[str, Any]:
    """The header metadata of the recording at ``path`` (``{}`` without a header), once
    its start is checked: a readable header, and a first data line ``<ns> <frame>``;
    with ``"empty": True`` when it has no data line at all.
    Synchronous (one short read): for building a run, before any event loop.

    :raises DataError: the file cannot be read, or does not start as a recording.
    """
    try:
        with open(path, "rb") as raw:
            fh: Any = gzip.GzipFile(fileobj=raw) if raw.read(2) == _GZIP_MAGIC else raw
            raw.seek(0)
            first = fh.readline(1 << 16)
            data = fh.readline(1 << 16) if first.startswith(HEADER_PREFIX) else first
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(str(path), 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    data = data.rstrip(b"\r\n")
    if data and not data.startswith(b"#") and parse_line(data) is None:
        raise DataError(str(path), 0, _not_a_recording(data))
    meta = _parse_header(str(path), first.rstrip(b"\r\n")) if first.startswith(HEADER_PREFIX) else {}
    return {**meta, "empty": True} if not data else meta


def _not_a_recording(line: bytes) -> str:
    return f"not a botkit recording (docs/recording-format.md): it starts with {line[:40]!r}"


def format_line(ts_recv: int, frame: bytes | str) -> bytes:
    """One recording line: ``<receive ns> <frame>\\n`` (the format's only writer)."""
    if isinstance(frame, str):
        frame = frame.encode()
    if b"\n" in frame or b"\r" in frame:
        # JSON allows whitespace between tokens only, so a newline becomes a space.
        frame = frame.replace(b"\r", b" ").replace(b"\n", b" ")
    return b"%d %s\n" % (ts_recv, frame)


def parse_line(line: bytes) -> tuple[int, bytes] | None:
    """``(receive ns, frame)`` of a recording line (CRLF tolerated), or None when it is
    not ``<ns> <frame>`` (the format's only reader)."""
    ts, _, frame = line.partition(b" ")
    if not ts.isdigit() or not frame:
        return None
    return int(ts), frame[:-1] if frame[-1] == 13 else frame


def parse_capture_line(line: bytes) -> tuple[int, bytes]:
    """A recording line, a cryptofeed capture line ``<secs>: <frame>``, or a bare frame
    (receive time 0): what ``botkit decode`` reads."""
    parsed = parse_line(line)
    if parsed is not None:
        return parsed
    head, sep, rest = line.partition(b" ")
    if sep and head.endswith(b":"):
        try:
            return int(float(head[:-1]) * 1e9), rest
        except ValueError:
            pass
    return 0, line


class RecordingReader:
    """Reads a recording without blocking the event loop (file reads run in a thread).

    Example::

        reader = RecordingReader("btc.txt.gz")
        async for lineno, ts_recv, frame in reader.frames():
            ...

    :ivar meta: the header's metadata (``{}`` for a headerless capture).
    :raises DataError: (from :meth:`frames`) if the file is unreadable or a line corrupt.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.meta: dict[str, Any] = {}
        #: What was tolerated while reading (a torn last line, a truncated gzip file).
        self.warnings: list[str] = []
        self.total_bytes = 0
        self.bytes_read = 0
        self._raw: IO[bytes] | None = None
        self._chunk = _CHUNK

    def _open(self) -> IO[bytes] | _Inflater:
        try:
            raw = open(self.path, "rb")  # noqa: SIM115 - closed in frames()
            self.total_bytes = Path(self.path).stat().st_size
            magic = raw.read(2)
            raw.seek(0)
        except OSError as exc:
            raise DataError(self.path, 0, f"cannot read: {exc.strerror or exc}") from None
        self._raw = raw
        if magic == _GZIP_MAGIC:
            self._chunk = _GZIP_CHUNK
            return _Inflater(raw)
        return raw

    async def blocks(self) -> AsyncIterator[tuple[bytes, int, int]]:
        """Yield ``(block, start, end)`` through the whole file: ``block[start:end]`` is
        whole lines (``\\n``-separated; the file's last line may lack its newline).

        Spans, not copies: a block is the chunk as read (megabytes), so slicing it per
        chunk would copy the file once more. The header, if any, is parsed into
        :attr:`meta` before the first block is yielded (and is its first line).

        :raises DataError: the file is unreadable.
        :raises ReadFailed: the file is truncated or corrupt past the blocks yielded; the
            caller, which counts the lines (here it would cost about 4 % of a replay),
            names the line (``ReadFailed.at``).
        """
        fh = await anyio.to_thread.run_sync(self._open)
        try:
            rest = b""
            first = True  # the header, if any, is the first line of the first block
            while True:
                chunk = await anyio.to_thread.run_sync(self._read, fh)
                if not chunk:
                    break
                start, cut = 0, chunk.rfind(b"\n") + 1
                if not cut:  # no line ends in this chunk: keep it for the next
                    rest += chunk
                    continue
                if rest:  # the line split across chunks, joined (one line: cheap)
                    start = chunk.find(b"\n") + 1
                    rest += chunk[:start]
                    yield self._first(rest, first), 0, len(rest)
                    first = False
                if start < cut:
                    yield self._first(chunk, first), start, cut
                    first = False
                rest = chunk[cut:]
            if rest:
                yield self._first(rest, first), 0, len(rest)
        finally:
            fh.close()
            if self._raw is not None:
                self._raw.close()

    def _first(self, block: bytes, first: bool) -> bytes:
        """``block``, after reading the header from it if it starts the file."""
        if first and block.startswith(HEADER_PREFIX):
            self.meta = _parse_header(self.path, block.split(b"\n", 1)[0].rstrip(b"\r"))
        return block

    async def frames(self) -> AsyncIterator[tuple[int, int, bytes]]:
        """Yield ``(line number, receive ns, frame)`` for every data line, in file order.

        What a crash while recording leaves is tolerated, with a line in
        :attr:`warnings` (and the log): a last line cut off before its newline, a gzip
        file that ends mid-member. Anything else corrupt raises :class:`DataError`.
        """
        lineno = 0
        try:
            async for block, start, end in self.blocks():
                lines = block[start:end].split(b"\n")
                cut = lines.pop()  # b"" when the block ends with its newline
                for line in lines:
                    lineno += 1
                    if line and line[0] != 35:
                        ts, frame = self.split(lineno, line)
                        yield lineno, ts, frame
                if cut:
                    lineno += 1
                    parsed = parse_line(cut) if cut[0] != 35 else None
                    if parsed is None:
                        self.warn(torn_line(self.path, lineno))
                    else:
                        yield lineno, *parsed
        except ReadFailed as exc:
            if not exc.truncated:
                raise exc.at(self.path, lineno) from None
            self.warn(truncated_file(self.path, exc.reason, lineno))

    def warn(self, message: str) -> None:
        """Note something about the file its reader should be told (logged as well)."""
        log.warning("%s", message)
        self.warnings.append(message)

    def split(self, lineno: int, line: bytes) -> tuple[int, bytes]:
        """``(receive ns, frame)`` of a data line.

        :raises DataError: naming the file and line if it is not ``<ns> <frame>``.
        """
        parsed = parse_line(line)
        if parsed is None:
            if lineno == 1:
                raise DataError(self.path, 0, _not_a_recording(line))
            raise DataError(
                self.path, lineno, f"corrupt line: expected '<receive-time-ns> <frame>', got {line[:60]!r}"
            )
        return parsed

    def _read(self, fh: IO[bytes] | _Inflater) -> bytes:
        try:
            chunk = fh.read(self._chunk)
        except (OSError, EOFError, zlib.error) as exc:
            if isinstance(exc, EOFError):
                raise ReadFailed("truncated gzip data", truncated=True) from None
            raise ReadFailed(f"corrupt data ({exc})") from None
        if self._raw is not None:
            self.bytes_read = self._raw.tell()
        return chunk


def torn_line(path: str, lineno: int) -> str:
    """The warning for a last line cut off before its newline."""
    return f"{path}:{lineno}: the last line is cut off (no newline; what a crash while recording leaves): ignored"


def truncated_file(path: str, reason: str, lines: int) -> str:
    """The warning for a file that ends early after ``lines`` whole lines."""
    return (f"{path}: {reason} after line {lines} (the file was cut off, e.g. by a crash while recording): "
            "the torn end is ignored")


class ReadFailed(Exception):
    """The file could not be read on (truncated or corrupt): ``reason``, without the line."""

    def __init__(self, reason: str, *, truncated: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        #: The file just ends early (a crash while writing), nothing in it is corrupt.
        self.truncated = truncated

    def at(self, path: str, lines: int) -> DataError:
        """The DataError for a failure after ``lines`` complete lines."""
        return DataError(path, lines + 1, f"{self.reason} after line {lines}")


class RecordingWriter:
    """Writes a recording (gzip when the name ends in ``.gz``). Synchronous: use it from
    a thread or for generated data; the live recorder wraps it.

    :param path: output file.
    :param meta: header metadata (at least ``venue``).
    """

    def __init__(self, path: str | Path, meta: dict[str, Any]) -> None:
        self.path = str(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # mtime=0 keeps generated gzip files byte-identical from run to run.
        self._fh: IO[bytes] | gzip.GzipFile = (
            gzip.GzipFile(self.path, "wb", compresslevel=6, mtime=0)
            if self.path.endswith(".gz")
            else open(self.path, "wb")  # noqa: SIM115 - closed in close()
        )
        self._fh.write(format_header(meta))
        self.lines = 0

    def write(self, ts_recv: int, frame: bytes | str) -> None:
        """Append one frame received at ``ts_recv`` ns."""
        self._fh.write(format_line(ts_recv, frame))
        self.lines += 1

    def close(self) -> None:
        """Flush and close the file."""
        self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
