"""Fetch Binance's public data archives into a local cache: concurrent within a polite
limit, resumable, every file verified against its published SHA-256.

The cache keeps the venue's own layout under its directory
(``DIR/data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2025-01-01.zip``, beside its
``.CHECKSUM``), so a file already there and verified is never fetched again, and the
directory replays as it is (``botkit backtest S --data DIR``). A download goes to
``NAME.part`` first and continues from there with an HTTP range request if it was cut
off; the file takes its name only once its checksum matched.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import anyio
import attrs
import httpx

from .._exceptions import BotkitError, ConfigError, DataError, FeedError, leaf_errors
from ..protocol.binance._archive import ARCHIVE_KINDS, archive_path

__all__ = ["BASE_URL", "Download", "DownloadResult", "archive_dates", "download"]

log = logging.getLogger("botkit.download")

#: Binance's public data site; ``--base-url`` points elsewhere (a mirror, a test server).
BASE_URL = "https://data.binance.vision/"
#: Files fetched at once: the site is a CDN, but a tool should not hammer it.
CONCURRENCY = 4
_MARKETS = {"binance": "spot", "binance-futures": "futures/um"}
_CHUNK = 1 << 16


@attrs.frozen
class Download:
    """What to fetch: ``venue``'s ``kind`` archives of ``symbol`` for each of ``dates``."""

    venue: str
    symbol: str
    kind: str
    dates: tuple[str, ...]

    def paths(self) -> list[str]:
        """Each archive's path under the base URL."""
        market = _MARKETS[self.venue]
        return [archive_path(market, self.kind, self.symbol, day) for day in self.dates]


@attrs.define
class DownloadResult:
    """What a download did, file by file (paths under the cache directory)."""

    fetched: list[Path] = attrs.Factory(list)
    cached: list[Path] = attrs.Factory(list)
    #: Archives the venue does not have (HTTP 404): a day not published (yet).
    missing: list[str] = attrs.Factory(list)
    bytes: int = 0


def archive_dates(start: str, end: str) -> tuple[str, ...]:
    """Every day (``YYYY-MM-DD`` bounds) or month (``YYYY-MM``) from ``start`` to ``end``.

    :raises ConfigError: bounds that are not dates of one form, or in the wrong order.
    """
    try:
        if len(start) == len(end) == 7:
            first, last = date.fromisoformat(start + "-01"), date.fromisoformat(end + "-01")
            months = []
            while first <= last:
                months.append(first.isoformat()[:7])
                first = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            dates = months
        else:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
            dates = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    except ValueError:
        raise ConfigError(f"--from {start} --to {end}: expected two days (2025-01-01) or two months (2025-01)") \
            from None
    if not dates:
        raise ConfigError(f"--from {start} is after --to {end}")
    return tuple(dates)


def check_request(venue: str, kind: str) -> None:
    """:raises ConfigError: a venue or kind the archives do not have (one line)."""
    if venue not in _MARKETS:
        raise ConfigError(f"--venue {venue}: the archives are of {' and '.join(_MARKETS)}")
    if kind not in ARCHIVE_KINDS:
        raise ConfigError(f"--kind {kind}: one of trades, aggTrades, klines-1m (or another interval: "
                          f"{', '.join(k.removeprefix('klines-') for k in ARCHIVE_KINDS if k.startswith('klines-'))})")


async def download(request: Download, directory: str | Path, *, base_url: str = BASE_URL,
                   concurrency: int = CONCURRENCY, on_progress: Callable[[int, int], None] | None = None,
                   client: httpx.AsyncClient | None = None) -> DownloadResult:
    """Fetch ``request``'s archives into ``directory`` (see the module).

    :param on_progress: called with (files done, files in all) as each one ends.
    :raises DataError: an archive whose checksum does not match, fetched twice.
    :raises FeedError: the server failed otherwise (a status other than 200/206/404, a
        network error), naming the file.
    """
    check_request(request.venue, request.kind)
    base = base_url if base_url.endswith("/") else base_url + "/"
    root = Path(directory)
    result = DownloadResult()
    paths = request.paths()
    limiter = anyio.CapacityLimiter(max(1, concurrency))
    done = 0
    owned = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=True)

    async def one(path: str) -> None:
        nonlocal done
        async with limiter:
            await _fetch(http, base, root, path, result)
        done += 1
        if on_progress is not None:
            on_progress(done, len(paths))

    try:
        async with anyio.create_task_group() as tg:
            for path in paths:
                tg.start_soon(one, path)
    except BaseExceptionGroup as group:  # one file failed (the others were cancelled): its error
        raise next((e for e in leaf_errors(group) if isinstance(e, BotkitError)), group) from None
    finally:
        if owned:
            await http.aclose()
    result.fetched.sort()
    result.cached.sort()
    result.missing.sort()
    return result


async def _fetch(http: httpx.AsyncClient, base: str, root: Path, path: str, result: DownloadResult) -> None:
    target = root / path
    checksum_file = target.with_name(target.name + ".CHECKSUM")
    if target.is_file() and checksum_file.is_file():
        expected = _expected(checksum_file.read_text(), target)
        if await anyio.to_thread.run_sync(_sha256, target) == expected:
            result.cached.append(target)
            return
    published = await _get_text(http, base + path + ".CHECKSUM", path)
    if published is None:
        result.missing.append(path)
        return
    expected = _expected(published, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        got = await _get_file(http, base + path, target.with_name(target.name + ".part"), path)
        if got is None:
            result.missing.append(path)
            return
        part, size = got
        if await anyio.to_thread.run_sync(_sha256, part) == expected:
            part.replace(target)
            checksum_file.write_text(published)
            result.fetched.append(target)
            result.bytes += size
            return
        part.unlink()  # a bad copy: fetched again from the start, once
        if attempt == 1:
            log.warning("%s: checksum mismatch: fetching it again", path)
    raise DataError(str(target), 0, f"the archive does not match its published checksum {expected[:16]}... "
                                    f"after two downloads from {base}{path}")


async def _get_text(http: httpx.AsyncClient, url: str, path: str) -> str | None:
    try:
        answer = await http.get(url)
    except httpx.HTTPError as exc:
        raise FeedError(f"{path}.CHECKSUM: {type(exc).__name__}: {exc}") from None
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise FeedError(f"{path}.CHECKSUM: HTTP {answer.status_code} from {url}")
    return answer.text


async def _get_file(http: httpx.AsyncClient, url: str, part: Path, path: str) -> tuple[Path, int] | None:
    """Fetch ``url`` into ``part``, continuing what is there; (part, bytes fetched now),
    or None for a 404."""
    have = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    fetched = 0
    try:
        async with http.stream("GET", url, headers=headers) as answer:
            if answer.status_code == 404:
                return None
            if answer.status_code == 416:  # nothing left past what is there: it is whole
                return part, 0
            if answer.status_code not in (200, 206):
                raise FeedError(f"{path}: HTTP {answer.status_code} from {url}")
            # 206: the rest of it; 200: the server starts over.
            async with await anyio.open_file(part, "ab" if answer.status_code == 206 else "wb") as out:
                async for chunk in answer.aiter_bytes(_CHUNK):
                    await out.write(chunk)
                    fetched += len(chunk)
    except httpx.HTTPError as exc:
        raise FeedError(f"{path}: {type(exc).__name__}: {exc} (run again: it continues from what it has)") \
            from None
    return part, fetched


def _expected(text: str, target: Path) -> str:
    digest = text.strip().split()[0].lower() if text.strip() else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise DataError(str(target) + ".CHECKSUM", 1, f"not a SHA-256 checksum line: {text.strip()[:80]!r}")
    return digest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
