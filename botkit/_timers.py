"""Named one-shot and repeating timers on engine time (a heap with lazy cancellation)."""

from __future__ import annotations

import heapq

__all__ = ["Timers"]

_NEVER = 1 << 62


class Timers:
    """Timer schedule for one strategy.

    Entries are ``(due_ns, seq, name, interval_ns)``; replacing or cancelling a timer
    bumps its sequence so stale heap entries are skipped when they surface.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, str, int]] = []
        self._live: dict[str, int] = {}
        self._seq = 0
        #: Due time of the earliest timer (possibly a stale one), or a far-future value.
        self.next_due = _NEVER

    def set(self, name: str, interval_ns: int, repeat: bool, now_ns: int) -> None:
        """Schedule ``name`` at ``now_ns + interval_ns`` (repeating if ``repeat``)."""
        self._seq += 1
        self._live[name] = self._seq
        heapq.heappush(self._heap, (now_ns + interval_ns, self._seq, name, interval_ns if repeat else 0))
        self.next_due = self._heap[0][0]

    def cancel(self, name: str) -> bool:
        """Cancel ``name``; False if no such timer is pending."""
        return self._live.pop(name, None) is not None

    def pop_due(self, now_ns: int) -> tuple[str, int] | None:
        """The next timer due at or before ``now_ns`` as ``(name, due_ns)``, rescheduling
        repeating timers; ``None`` when nothing is due."""
        heap = self._heap
        while heap and heap[0][0] <= now_ns:
            due, seq, name, interval = heapq.heappop(heap)
            if self._live.get(name) != seq:
                continue
            if interval:
                self._seq += 1
                self._live[name] = self._seq
                heapq.heappush(heap, (due + interval, self._seq, name, interval))
            else:
                del self._live[name]
            self.next_due = heap[0][0] if heap else _NEVER
            return name, due
        self.next_due = heap[0][0] if heap else _NEVER
        return None

    def __len__(self) -> int:
        return len(self._live)
