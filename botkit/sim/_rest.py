"""The simulator's REST side: depth snapshots and trade history with Binance-like
request weights (429 over the limit, 418 for a client that keeps going), and 429 storms."""

from __future__ import annotations

import json
import time
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import anyio
from anyio.abc import ByteStream

from .._symbols import normalise_symbol
from ..protocol._book import OrderBook
from ..protocol.binance import rest_weight
from ._stats import SimStats

__all__ = ["RestVenue", "Timeline"]


class Timeline(Protocol):
    """What the REST side reads of the simulator's market (the simulator is one)."""

    stats: SimStats
    books: dict[str, OrderBook]

    @property
    def trade_history(self) -> list[tuple[int, str, str, int, bool]]:
        """Every trade so far: (id, price, qty, ms, buyer_is_maker)."""
        ...


class RestVenue:
    """Answers the simulator's REST requests from its timeline state."""

    def __init__(self, sim: Timeline, weight_limit: int) -> None:
        self.sim = sim
        self.weight_limit = weight_limit
        self.storm = 0  # requests still to answer 429 (a storm fault)
        self._weights: list[tuple[float, int]] = []  # (anyio time, weight) of the last minute
        self._ignored_429 = 0

    def used(self) -> int:
        now = anyio.current_time()
        self._weights = [(t, w) for t, w in self._weights if t > now - 60]
        return sum(w for _, w in self._weights)

    def _throttle(self, weight: int) -> tuple[int, int] | None:
        """``(status, retry_after_s)`` when this request must be refused, else None."""
        if self.storm > 0:
            self.storm -= 1
            self.sim.stats.storm_429 += 1
            return 429, 1
        used = self.used()
        if used + weight > self.weight_limit:
            self.sim.stats.limit_exceeded += 1
            self._ignored_429 += 1
            # A client that keeps asking after being told to wait gets banned, as on Binance.
            status = 418 if self._ignored_429 > 3 else 429
            oldest = self._weights[0][0] if self._weights else anyio.current_time()
            return status, max(1, int(oldest + 60 - anyio.current_time()) + 1)
        self._ignored_429 = 0
        self._weights.append((anyio.current_time(), weight))
        self.sim.stats.max_weight_per_minute = max(self.sim.stats.max_weight_per_minute, used + weight)
        return None

    def _trades_from(self, start: int, limit: int) -> list[tuple[int, str, str, int, bool]]:
        history = self.sim.trade_history
        lo, hi = 0, len(history)
        while lo < hi:  # ids ascend: binary search for the first id >= start
            mid = (lo + hi) // 2
            if history[mid][0] < start:
                lo = mid + 1
            else:
                hi = mid
        return history[lo : lo + limit]

    async def handle(self, stream: ByteStream, head: bytes) -> None:
        """Answer one HTTP request whose head was already read."""
        self.sim.stats.rest_requests += 1
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        target = urlsplit(parts[1] if len(parts) > 1 else "/")
        query = parse_qs(target.query)
        limit_text = query.get("limit", ["500"])[0]
        limit = min(int(limit_text), 1000) if limit_text.isdigit() else 500
        weight = rest_weight(target.path, limit)
        throttled = self._throttle(weight)
        if throttled is not None:
            status, retry_after = throttled
            await http_answer(stream, status, {"code": -1003, "msg": "simulated: too much request weight used"},
                        {"Retry-After": str(retry_after), "X-MBX-USED-WEIGHT-1M": str(self.used())})
            return
        # Spot (/api/v3) and futures (/fapi/v1, /dapi/v1) paths: the same answers.
        if target.path in ("/api/v3/historicalTrades", "/api/v3/aggTrades", "/fapi/v1/aggTrades", "/dapi/v1/aggTrades"):
            from_id = query.get("fromId", ["0"])[0]
            start = int(from_id) if from_id.isdigit() else 0
            rows = self._trades_from(start, limit)
            if target.path.endswith("/aggTrades"):
                body: object = [{"a": i, "p": p, "q": q, "f": i, "l": i, "T": t, "m": m, "M": True}
                                for i, p, q, t, m in rows]
            else:
                body = [{"id": i, "price": p, "qty": q, "quoteQty": "0", "time": t, "isBuyerMaker": m,
                         "isBestMatch": True} for i, p, q, t, m in rows]
            await http_answer(stream, 200, body, {"X-MBX-USED-WEIGHT-1M": str(self.used())})
            return
        if target.path in ("/api/v3/depth", "/fapi/v1/depth", "/dapi/v1/depth"):
            book = self.sim.books.get(normalise_symbol(query.get("symbol", [""])[0]))
            if book is None:
                await http_answer(stream, 400, {"code": -1121, "msg": "Invalid symbol."})
                return
            bids, asks = book.levels(limit)
            body = {
                "lastUpdateId": book.last_update_id,
                "bids": [[str(p), str(q)] for p, q in bids],
                "asks": [[str(p), str(q)] for p, q in asks],
            }
            await http_answer(stream, 200, body)
            return
        await http_answer(stream, 404, {"code": -1, "msg": f"not found: {target.path}"})


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 418: "I'm a teapot", 429: "Too Many Requests",
            503: "Service Unavailable"}


async def http_answer(
    stream: ByteStream, status: int, body: object, headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\nconnection: close\r\n{extra}"
        f"date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}\r\n\r\n"
    ).encode()
    try:
        await stream.send(head + payload)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
    finally:
        await stream.aclose()
