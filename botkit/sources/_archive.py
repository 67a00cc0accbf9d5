"""Replay Binance's public data archives (daily or monthly zipped CSV): trades and
aggregated trades as :class:`~botkit.Trade`, klines as closed :class:`~botkit.Bar`.

A path may be one archive, a directory (its archives, at any depth) or a glob. The files
of one symbol and kind are one series, read day after day; several series (symbols,
kinds) are merged by time. Each file streams (read and inflated in a worker thread, a
block at a time), so memory stays flat in the number of days.
"""

from __future__ import annotations

import glob
import logging
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._events import Event
from .._exceptions import ConfigError, DataError, ParseError, leaf_errors
from .._symbols import normalise_symbol
from ..protocol.binance._archive import ArchiveRows, archive_name
from ._base import EventSource, Publish
from ._merge import MergedSource

__all__ = ["ArchiveSource", "archive_files", "archive_sources", "is_archive_path"]

log = logging.getLogger("botkit.archive")

_BATCH = 1024
_BLOCK = 4 << 20  # inflated bytes per worker-thread call
_LOGGED = 20


def is_archive_path(path: str) -> bool:
    """Whether ``--data PATH`` names archives: a ``.zip`` or archive-named ``.csv``
    file, a directory, or a glob."""
    if path.rstrip("/").endswith(".parquet"):
        return False
    if any(c in path for c in "*?["):
        return True
    p = Path(path)
    return p.is_dir() or p.suffix == ".zip" or archive_name(p.name) is not None


def archive_files(paths: Iterable[str]) -> list[Path]:
    """The archives ``paths`` name (files, directories, globs), each once.

    :raises ConfigError: a path that names none (one line).
    """
    found: dict[Path, None] = {}
    for path in paths:
        if any(c in path for c in "*?["):
            matches = [Path(p) for p in sorted(glob.glob(path, recursive=True))]
        elif Path(path).is_dir():
            matches = sorted(p for p in Path(path).rglob("*") if p.is_file())
        elif Path(path).is_file():
            matches = [Path(path)]
        else:
            raise ConfigError(f"data file not found: {path}")
        archives = [p for p in matches if archive_name(p.name) is not None]
        if not archives:
            what = "a directory with" if Path(path).is_dir() else "a path naming"
            raise ConfigError(f"{path}: {what} no Binance archive (pass a recording file, or archives named like "
                              "BTCUSDT-trades-2025-01-01.zip, BTCUSDT-aggTrades-2025-01.zip, "
                              "BTCUSDT-1m-2025-01-01.zip)")
        found.update(dict.fromkeys(archives))
    return list(found)


def archive_venue(path: Path, venue: str | None) -> str:
    """The venue of an archive: ``venue`` if given, else its path's market (``spot`` ->
    binance, ``futures/um`` or ``futures/cm`` -> binance-futures), else binance."""
    if venue:
        return venue
    parts = path.resolve().parts
    return "binance-futures" if "futures" in parts else "binance"


class ArchiveSource(EventSource):
    """One series of archives (one symbol and kind), file after file in date order.

    :param files: the archives (see :func:`archive_files`); sorted here by date.
    :param venue: the venue the events name; default: from each file's path.
    :param skip_bad_rows: count a row that does not parse and go on (default: stop with
        a :class:`~botkit.DataError` naming the file and the row's line).
    """

    replay = True

    def __init__(self, files: list[Path], *, venue: str | None = None, skip_bad_rows: bool = False) -> None:
        super().__init__()
        named = [(archive_name(f.name), f) for f in files]
        if any(name is None for name, _ in named):
            raise ConfigError(f"not a Binance archive name: {next(f for n, f in named if n is None)}")
        self.files = [f for _, f in sorted(named, key=lambda item: (item[0].date, str(item[1])))]  # type: ignore[union-attr]
        self.venue = venue
        self.skip_bad_rows = skip_bad_rows
        self.stats.venue = archive_venue(self.files[0], venue) if self.files else (venue or "binance")
        self.stats.symbols = [normalise_symbol(n.symbol) for f in self.files[:1] if (n := archive_name(f.name))]
        self._total = sum(f.stat().st_size for f in self.files)
        self._done = 0


    async def stream(self, publish: Publish) -> None:
        """Every file's rows, in order, as events."""
        for path in self.files:
            name = archive_name(path.name)
            assert name is not None
            rows = ArchiveRows(archive_venue(path, self.venue), name)
            await self._file(path, rows, publish)
            self._done += path.stat().st_size

    async def _file(self, path: Path, rows: ArchiveRows, publish: Publish) -> None:
        """One archive: its next block is read and inflated (a worker thread) while this
        one is parsed, by a reader task in a task group of the file's own."""
        handle = await anyio.to_thread.run_sync(_open, path)
        send, receive = anyio.create_memory_object_stream[bytes | DataError](1)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_read_ahead, handle, path, send)
                with receive:
                    await self._parse(path, rows, receive, publish)
        except BaseExceptionGroup as group:  # the parser's one error (the reader's comes through it)
            raise next((e for e in leaf_errors(group) if isinstance(e, DataError)), group) from None
        finally:
            handle.close()

    async def _parse(self, path: Path, rows: ArchiveRows, blocks: MemoryObjectReceiveStream[bytes | DataError],
                     publish: Publish) -> None:
        batch: list[Event] = []
        lineno = 0
        rest = b""
        try:
            async for block in blocks:
                if isinstance(block, DataError):  # after every block before it: the line is known
                    raise DataError(block.path, lineno + 1, block.reason)
                data = rest + block if rest else block
                size = data.rfind(b"\n") + 1  # whole lines; the rest waits for the next block
                rest = data[size:]
                lineno = await self._lines(rows, data, size, path, lineno, batch, publish)
            if rest:  # the last line, without its line end
                lineno = await self._lines(rows, rest, len(rest), path, lineno, batch, publish)
        except DataError:
            if batch:
                await publish(batch)  # what came before the bad row still arrives
            raise
        if batch:
            await publish(batch)

    async def _lines(self, rows: ArchiveRows, data: bytes, size: int, path: Path, lineno: int, batch: list[Event],
                     publish: Publish) -> int:
        """The lines of ``data[:size]`` into ``batch``, a copy of it published each time it
        fills (it is the one list the file's rows go into); returns the last line's number."""
        pos = 0
        while pos < size:
            if lineno:  # the first row may be a header: _row (parse) knows
                pos, done = rows.run(data, pos, size, batch, _BATCH)
                self.stats.frames += done
                lineno += done
            if pos < size and len(batch) < _BATCH:
                end = data.find(b"\n", pos, size)
                end = size if end < 0 else end
                lineno += 1
                event = self._row(rows, data[pos:end], path, lineno)
                if event is not None:
                    batch.append(event)
                pos = end + 1
            if len(batch) >= _BATCH:
                await publish(batch.copy())
                batch.clear()
        return lineno

    def _row(self, rows: ArchiveRows, line: bytes, path: Path, lineno: int) -> Event | None:
        if not line.strip():
            return None
        self.stats.frames += 1
        try:
            return rows.parse(line, first=lineno == 1)
        except ParseError as exc:
            if not self.skip_bad_rows:
                raise DataError(str(path), lineno, f"{exc.reason} (--skip-bad-rows counts such rows and goes on)") \
                    from None
            self.stats.parse_errors += 1
            if self.stats.parse_errors <= _LOGGED:
                log.warning("%s:%d: %s: skipped", path, lineno, exc.reason)
            return None

    def describe(self) -> str:
        """The archives being replayed."""
        first, last = self.files[0], self.files[-1]
        return f"archives {first}" if first == last else f"archives {first} .. {last.name} ({len(self.files)} files)"

    def progress(self) -> tuple[int, int]:
        """Compressed bytes of the files done so far, of all of them."""
        return self._done, self._total


def archive_sources(paths: Iterable[str], *, venue: str | None = None, skip_bad_rows: bool = False) -> EventSource:
    """The archives ``paths`` name, as one source: a series per symbol and kind, merged
    by time when there are several."""
    series: dict[tuple[str, str, str, str], list[Path]] = {}
    for path in archive_files(paths):
        name = archive_name(path.name)
        assert name is not None
        series.setdefault((archive_venue(path, venue), name.symbol, name.kind, name.interval), []).append(path)
    sources: list[EventSource] = [ArchiveSource(files, venue=venue, skip_bad_rows=skip_bad_rows)
                                  for files in series.values()]
    return sources[0] if len(sources) == 1 else MergedSource(sources)


class _Member:
    """The one CSV of a zip archive, read as a stream; closing it closes the archive."""

    def __init__(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
        self._archive = archive
        self._file = archive.open(member)

    def read(self, size: int) -> bytes:
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()
        self._archive.close()


def _open(path: Path) -> IO[bytes] | _Member:
    """The archive's CSV, opened for streaming (a plain ``.csv`` as it is)."""
    try:
        if path.suffix != ".zip":
            return open(path, "rb")
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            archive.close()
            raise DataError(str(path), 0, f"expected one CSV in the archive, found {len(members)}")
        return _Member(archive, members[0])
    except zipfile.BadZipFile as exc:
        raise DataError(str(path), 0, f"not a readable zip archive (truncated or corrupt: {exc})") from None
    except OSError as exc:
        raise DataError(str(path), 0, f"cannot read: {exc.strerror or exc}") from None


async def _read_ahead(handle: IO[bytes] | _Member, path: Path, send: MemoryObjectSendStream[bytes | DataError]) -> None:
    """The file's blocks into ``send``; a read that fails goes in as its error."""
    with send:
        while True:
            try:
                block = await anyio.to_thread.run_sync(handle.read, _BLOCK)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                await send.send(DataError(str(path), 0, f"the archive is corrupt or truncated here ({exc})"))
                return
            if not block:
                return
            await send.send(block)
