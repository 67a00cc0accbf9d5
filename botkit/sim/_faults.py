"""Fault schedule for the exchange simulator: ``KIND@N`` = inject KIND every N frames."""

from __future__ import annotations

import attrs

from .._exceptions import ConfigError

__all__ = ["FAULT_KINDS", "Fault", "parse_fault"]

FAULT_KINDS = {
    "drop": "cut the TCP connection without a close frame",
    "stall": "stop sending and stop answering pings (the connection stays open)",
    "garbage": "send a frame that is not valid JSON",
    "gap": "skip the next trade frame (a hole in the trade ids)",
    "refuse": "drop the connection and refuse the next connection attempts",
    "close": "close with WebSocket code 1011 (server error)",
    "429": "answer the next REST requests with 429 Too Many Requests (a rate-limit storm)",
}


@attrs.frozen
class Fault:
    """Inject ``kind`` after every ``every``-th frame sent."""

    kind: str = attrs.field(validator=attrs.validators.in_(FAULT_KINDS))
    every: int = attrs.field(validator=attrs.validators.ge(1))


def parse_fault(text: str) -> Fault:
    """Parse ``KIND@N``.

    :raises ConfigError: naming the bad part.
    """
    kind, at, every = text.partition("@")
    if kind not in FAULT_KINDS:
        raise ConfigError(f"--fault {text!r}: unknown kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
    if not at or not every.isdigit() or int(every) < 1:
        raise ConfigError(f"--fault {text!r}: expected KIND@N with N a positive number of frames")
    return Fault(kind, int(every))
