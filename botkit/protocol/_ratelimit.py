"""Sans-IO REST rate limiter: request weight per minute, ``Retry-After`` on 429, hard
back-off on 418. Time is an input; the caller sleeps.

Binance counts request *weight* per IP per rolling minute (6,000 on spot) and says how
much is used in ``X-MBX-USED-WEIGHT-1M``. Going over earns 429 with ``Retry-After``;
ignoring 429s earns 418 (an IP ban, escalating from 2 minutes). So the limiter:

* keeps our own sliding 60 s window of weights and never starts a request that would
  exceed ``weight_per_minute`` (a safety margin below the venue's limit is the caller's
  choice), and adopts the venue's own count when it reports a higher one;
* after a 429 blocks everything until ``Retry-After`` (default 60 s);
* after a 418 blocks for ``Retry-After`` or at least ``ban_s``, doubling on repeats.

One limiter per venue host is shared by every REST user (snapshots, backfill, orders):
see :func:`shared_limiter`.
"""

from __future__ import annotations

from collections import deque

__all__ = ["OrderLimiter", "RestLimiter", "shared_limiter"]

_MINUTE = 60_000_000_000
_S = 1_000_000_000


class RestLimiter:
    """Decides when the next REST request may start.

    Example::

        delay = limiter.reserve(weight, now_ns)   # 0.0: go now; else sleep and ask again
        ...
        limiter.on_response(status, headers, now_ns)

    :param weight_per_minute: budget per rolling minute.
    :param ban_s: minimum block after a 418.
    """

    def __init__(self, weight_per_minute: int = 5_000, *, ban_s: float = 120.0) -> None:
        if weight_per_minute < 1:
            raise ValueError("weight_per_minute must be >= 1")
        self.weight_per_minute = weight_per_minute
        self.ban_s = ban_s
        self.blocked_until = 0
        self.throttled = 0  # 429s seen
        self.banned = 0  # 418s seen
        self._window: deque[tuple[int, int]] = deque()  # (time, weight)
        self._used = 0
        self._venue_used = (0, 0)  # (time, weight the venue reported)

    def reserve(self, weight: int, now_ns: int) -> float:
        """Seconds to wait before a request of ``weight`` may start; 0.0 reserves it now."""
        if weight > self.weight_per_minute:
            raise ValueError(f"a request of weight {weight} can never fit {self.weight_per_minute}/minute")
        if now_ns < self.blocked_until:
            return (self.blocked_until - now_ns) / _S
        window = self._window
        while window and window[0][0] <= now_ns - _MINUTE:
            self._used -= window.popleft()[1]
        used = self._used
        reported_at, reported = self._venue_used
        if now_ns - reported_at < _MINUTE:
            used = max(used, reported)
        if used + weight > self.weight_per_minute:
            if window:
                return max((window[0][0] + _MINUTE - now_ns) / _S, 0.001)
            return max((reported_at + _MINUTE - now_ns) / _S, 0.001)
        window.append((now_ns, weight))
        self._used += weight
        return 0.0

    def on_response(self, status: int, headers: dict[str, str], now_ns: int) -> None:
        """Learn from an answer: the venue's weight count, 429 and 418."""
        used = headers.get("x-mbx-used-weight-1m")
        if used is not None and used.isdigit():
            self._venue_used = (now_ns, int(used))
        retry = headers.get("retry-after", "")
        retry_s = float(retry) if retry.replace(".", "", 1).isdigit() else None
        if status == 429:
            self.throttled += 1
            self._block(now_ns, retry_s if retry_s is not None else 60.0)
        elif status == 418:
            self.banned += 1
            hard = self.ban_s * 2 ** min(self.banned - 1, 6)
            self._block(now_ns, max(retry_s or 0.0, hard))

    def _block(self, now_ns: int, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, now_ns + int(seconds * _S))


_SHARED: dict[str, RestLimiter] = {}


def shared_limiter(host: str, weight_per_minute: int = 5_000) -> RestLimiter:
    """The process-wide limiter for REST ``host`` (created on first use)."""
    limiter = _SHARED.get(host)
    if limiter is None:
        limiter = _SHARED[host] = RestLimiter(weight_per_minute)
    return limiter


def _since(sent: deque[int], at_ns: int) -> int:
    """How many of ``sent`` (in time order) are later than ``at_ns``: counted from the
    newest end, as the venue's last count is recent and the day's window is long."""
    n = 0
    for t in reversed(sent):
        if t <= at_ns:
            break
        n += 1
    return n


class OrderLimiter:
    """The venue's order-rate rules (Binance: ``ORDERS`` per 10 s and per day, from
    ``exchangeInfo``), kept locally so an order over them is refused before it is sent.

    Each window counts our own placements and adopts the venue's count when a response
    reports a higher one (another session of the account places orders too). A 429 or
    418 blocks every order until its ``retryAfter``.

    :param limits: ``(window seconds, orders allowed)`` pairs.
    """

    def __init__(self, limits: list[tuple[int, int]] | None = None) -> None:
        self.limits = sorted(limits or [])
        self._sent: dict[int, deque[int]] = {window: deque() for window, _ in self.limits}
        self._venue: dict[int, tuple[int, int]] = {}  # window -> (time, count reported)
        self.blocked_until = 0
        self.refused = 0

    def refuse(self, now_ns: int) -> str:
        """Why an order must not be sent now (``""``: it may, and is counted)."""
        if now_ns < self.blocked_until:
            self.refused += 1
            return f"order rate limit: the venue said to wait {(self.blocked_until - now_ns) / _S:.1f} s more"
        for window, allowed in self.limits:
            sent = self._sent[window]
            span = window * _S
            while sent and sent[0] <= now_ns - span:
                sent.popleft()
            count = len(sent)
            reported_at, reported = self._venue.get(window, (0, 0))
            if now_ns - reported_at < span:
                count = max(count, reported + _since(sent, reported_at))
            if count >= allowed:
                self.refused += 1
                return f"order rate limit: {allowed} orders per {_window_name(window)} (the venue's rule)"
        for window, _ in self.limits:
            self._sent[window].append(now_ns)
        return ""

    def on_counts(self, counts: list[tuple[int, int]], now_ns: int) -> None:
        """The venue's own counts, ``(window seconds, orders counted)``."""
        for window, count in counts:
            if window in self._sent:
                self._venue[window] = (now_ns, count)

    def block(self, now_ns: int, seconds: float) -> None:
        """A 429 or 418: no order until ``seconds`` from now."""
        self.blocked_until = max(self.blocked_until, now_ns + int(seconds * _S))


def _window_name(seconds: int) -> str:
    return {86_400: "day", 60: "minute", 1: "second"}.get(seconds, f"{seconds} s")
