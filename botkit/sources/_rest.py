"""REST for the live feed (depth snapshots, trade backfill) through the shared limiter."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import anyio
import httpx

from ..protocol._ratelimit import RestLimiter, shared_limiter

__all__ = ["RestClient", "RestFailed"]

log = logging.getLogger("botkit.rest")


class RestFailed(Exception):
    """A REST request did not succeed within its attempts (internal to the source)."""


class RestClient:
    """GETs with request-weight accounting, Retry-After on 429, hard back-off on 418.

    :param base_url: e.g. ``https://api.binance.com``.
    :param limiter: defaults to the process-wide limiter of the host.
    """

    def __init__(self, base_url: str, limiter: RestLimiter | None = None, *, attempts: int = 6,
                 timeout_s: float = 10.0, max_wait_s: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter or shared_limiter(urlsplit(self.base_url).netloc)
        self.attempts = attempts
        self.max_wait_s = max_wait_s
        self.requests = 0
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def get(self, path: str, weight: int) -> bytes:
        """The body of a 200 answer to ``GET path``.

        Throttling (429/418) is waited out as the venue says, up to ``max_wait_s`` in
        all; network errors and 5xx are retried ``attempts`` times with back-off.

        :raises RestFailed: when that budget is spent, or on another 4xx.
        """
        last = ""
        failures = 0
        deadline = time.monotonic() + self.max_wait_s
        while failures < self.attempts and time.monotonic() < deadline:
            while (delay := self.limiter.reserve(weight, time.monotonic_ns())) > 0:
                await anyio.sleep(delay)
            self.requests += 1
            try:
                response = await self._client.get(self.base_url + path)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                headers = {k.lower(): v for k, v in response.headers.items()}
                self.limiter.on_response(response.status_code, headers, time.monotonic_ns())
                if response.status_code == 200:
                    return response.content
                last = f"HTTP {response.status_code}"
                if response.status_code in (429, 418):
                    log.warning("REST %s: %s, waiting as the venue asks", path, last)
                    continue  # the limiter now blocks until Retry-After: not a failure of ours
                if 400 <= response.status_code < 500:
                    raise RestFailed(f"{last}: {response.text[:200]}")
            failures += 1
            await anyio.sleep(min(0.1 * 2**failures, 5.0))
        raise RestFailed(last or "no answer")
