"""The simulator's counters."""

from __future__ import annotations

import attrs

__all__ = ["SimStats"]


@attrs.define
class SimStats:
    """What the simulator did (for tests and the soak report)."""

    frames_sent: int = 0
    trades_sent: int = 0
    trades_skipped: int = 0
    depth_skipped: int = 0
    connections: int = 0
    refused: int = 0
    faults: dict[str, int] = attrs.Factory(dict)
    rest_requests: int = 0
    storm_429: int = 0
    limit_exceeded: int = 0
    max_weight_per_minute: int = 0
