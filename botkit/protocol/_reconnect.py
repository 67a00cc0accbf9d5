"""Sans-IO connection state machine: when to connect, ping, give up on a peer, back off.

The I/O layer feeds it inputs with the current time and carries out the actions it
returns; the machine never touches a socket or reads a clock (h11's model)::

    machine = ReconnectMachine(ReconnectPolicy(), rng=random.Random())
    actions = machine.handle(Start(), now_ns)
    ...
    deadline = machine.next_deadline()   # call handle(Tick(), now) when it passes

States::

    IDLE ──Start──▶ CONNECTING ──Connected──▶ SUBSCRIBING ──SubscribeAcked/Frame──▶ LIVE
                        │ ConnectFailed/timeout       │ PeerClosed/timeout          │ PeerClosed,
                        ▼                             ▼                             │ no pong, lifetime
                     BACKOFF ◀────────────────────────┴─────────────────────────────┘
                        │ retry time reached (and attempts/minute allow)
                        └──▶ CONNECTING
    any state ──Shutdown──▶ CLOSED (terminal)

Rules enforced: exponential backoff with jitter, capped; the attempt counter resets only
after a connection stayed LIVE for ``healthy_after_s``; never more than
``max_attempts_per_minute`` connection attempts in any 60 s window whatever the server
does; no frame for ``idle_timeout_s`` -> ping -> no pong within ``pong_timeout_s`` ->
reconnect; a planned reconnect before ``max_lifetime_s``; at most one connection at a time
(a Connect is only ever issued with no connection open).
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Callable

import attrs

from .._exceptions import UsageError

__all__ = [
    "TRANSITIONS",
    "Close",
    "ConnState",
    "Connect",
    "ConnectFailed",
    "Connected",
    "EmitStatus",
    "FrameReceived",
    "PeerClosed",
    "PongReceived",
    "ReconnectMachine",
    "ReconnectPolicy",
    "SendPing",
    "SendSubscribe",
    "Shutdown",
    "Start",
    "SubscribeAcked",
    "Tick",
]

_S = 1_000_000_000
_MINUTE = 60 * _S
NEVER = 1 << 62


class ConnState(enum.Enum):
    """States of :class:`ReconnectMachine`."""

    IDLE = "idle"
    CONNECTING = "connecting"
    SUBSCRIBING = "subscribing"
    LIVE = "live"
    BACKOFF = "backoff"
    CLOSED = "closed"


@attrs.frozen
class ReconnectPolicy:
    """Timing rules (seconds). Defaults suit Binance: 24 h connection limit, 300
    connection attempts per 5 minutes per IP."""

    backoff_base_s: float = attrs.field(default=0.5, validator=attrs.validators.gt(0))
    backoff_cap_s: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    healthy_after_s: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    max_attempts_per_minute: int = attrs.field(default=20, validator=attrs.validators.ge(1))
    connect_timeout_s: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    subscribe_timeout_s: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    idle_timeout_s: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    pong_timeout_s: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))
    max_lifetime_s: float = attrs.field(default=23.5 * 3600, validator=attrs.validators.gt(0))
    needs_subscribe: bool = False


# -- inputs -----------------------------------------------------------------------------


@attrs.frozen
class Start:
    """Begin connecting."""


@attrs.frozen
class Connected:
    """The connection (TCP + TLS + WebSocket handshake) is open."""


@attrs.frozen
class ConnectFailed:
    """Opening the connection failed; ``retry_after_s``: the server asked for at least
    that long before the next attempt (an HTTP ``Retry-After``)."""

    reason: str
    retry_after_s: float | None = None


@attrs.frozen
class SubscribeAcked:
    """The venue acknowledged the subscription."""


@attrs.frozen
class FrameReceived:
    """A frame arrived (any frame proves the peer is alive)."""


@attrs.frozen
class PongReceived:
    """The peer answered our ping."""


@attrs.frozen
class PeerClosed:
    """The open connection ended (close frame, reset, EOF)."""

    reason: str


@attrs.frozen
class Tick:
    """Time passed: the driver calls this when :meth:`ReconnectMachine.next_deadline` is due."""


@attrs.frozen
class Shutdown:
    """Stop for good."""


Input = Start | Connected | ConnectFailed | SubscribeAcked | FrameReceived | PongReceived | PeerClosed | Tick | Shutdown

# -- actions ----------------------------------------------------------------------------


@attrs.frozen
class Connect:
    """Open a connection (attempt number ``attempt``, 1-based since the last healthy one)."""

    attempt: int


@attrs.frozen
class SendSubscribe:
    """Send the subscription request(s)."""


@attrs.frozen
class SendPing:
    """Send a WebSocket ping."""


@attrs.frozen
class Close:
    """Close the open connection (or abandon the pending attempt)."""

    reason: str


@attrs.frozen
class EmitStatus:
    """Tell the strategy/risk the feed changed state."""

    state: ConnState
    reason: str
    attempt: int


Action = Connect | SendSubscribe | SendPing | Close | EmitStatus


class ReconnectMachine:
    """The connection lifecycle as a pure state machine (see the module docstring).

    :param policy: timing rules.
    :param rng: random source for jitter (inject a seeded one in tests).
    """

    def __init__(self, policy: ReconnectPolicy | None = None, rng: random.Random | None = None) -> None:
        self.policy = policy or ReconnectPolicy()
        self.rng = rng or random.Random()
        self.state = ConnState.IDLE
        #: Failed attempts since the last healthy connection.
        self.failures = 0
        #: Connections opened that later dropped (for summaries).
        self.reconnects = 0
        #: Pings sent that got no pong in time.
        self.stale_detections = 0
        self._attempts: deque[int] = deque()  # start times of recent attempts
        self._state_since = 0
        self._retry_at = NEVER
        self._last_frame = 0
        self._ping_sent = -1
        self._live_since = -1
        self._connected_at = 0
        self._was_live = False

    # -- public -------------------------------------------------------------------------

    def handle(self, inp: Input, now_ns: int) -> list[Action]:
        """Advance with ``inp`` at time ``now_ns``; returns the actions to carry out.

        Which inputs each state takes is the table :data:`TRANSITIONS`.

        :raises UsageError: for an input that makes no sense in the current state
            (e.g. ``Connected`` while not connecting); the state is left unchanged.
        """
        rule = TRANSITIONS.get(type(inp))
        if rule is None:
            raise UsageError(f"unknown input {inp!r}")
        takes, ignores, step = rule
        if self.state in ignores:
            return []
        if self.state not in takes:
            raise UsageError(f"can't handle {type(inp).__name__} in state {self.state.name}")
        return step(self, inp, now_ns)

    def _on_shutdown(self, inp: Input, now_ns: int) -> list[Action]:
        actions: list[Action] = []
        if self.state in (ConnState.CONNECTING, ConnState.SUBSCRIBING, ConnState.LIVE):
            actions.append(Close("shutdown"))
        self._enter(ConnState.CLOSED, now_ns)
        return [*actions, EmitStatus(ConnState.CLOSED, "shutdown", self.failures)]

    def _on_tick(self, inp: Input, now_ns: int) -> list[Action]:
        return self._tick(now_ns)

    def _on_start(self, inp: Input, now_ns: int) -> list[Action]:
        return self._connect(now_ns)

    def _on_connected(self, inp: Input, now_ns: int) -> list[Action]:
        self._connected_at = self._last_frame = now_ns
        self._ping_sent = -1
        if self.policy.needs_subscribe:
            self._enter(ConnState.SUBSCRIBING, now_ns)
            return [SendSubscribe()]
        return self._go_live(now_ns)

    def _on_connect_failed(self, inp: Input, now_ns: int) -> list[Action]:
        assert isinstance(inp, ConnectFailed)
        return self._backoff(now_ns, f"connect failed: {inp.reason}", close=False, at_least_s=inp.retry_after_s)

    def _on_peer_closed(self, inp: Input, now_ns: int) -> list[Action]:
        assert isinstance(inp, PeerClosed)
        return self._backoff(now_ns, f"connection lost: {inp.reason}", close=False)

    def _on_heard(self, inp: Input, now_ns: int) -> list[Action]:
        """Anything from the venue: a frame, a pong, the subscription's ack."""
        self._last_frame = now_ns
        self._ping_sent = -1
        if self.state is ConnState.SUBSCRIBING and not isinstance(inp, PongReceived):
            return self._go_live(now_ns)
        return self._check_healthy(now_ns)

    def frame_received(self, now_ns: int) -> list[Action]:
        """Fast path for ``handle(FrameReceived(), now_ns)`` (called for every frame)."""
        if self.state is ConnState.LIVE:
            self._last_frame = now_ns
            self._ping_sent = -1
            return []
        return self.handle(FrameReceived(), now_ns)

    @property
    def last_frame_ns(self) -> int:
        """When the last frame (or the connection) arrived, on the caller's clock (0: never)."""
        return self._last_frame

    def next_deadline(self) -> int:
        """When the machine next needs a :class:`Tick` (ns), or a far-future value."""
        p = self.policy
        state = self.state
        if state is ConnState.BACKOFF:
            return self._retry_at
        if state is ConnState.CONNECTING:
            return self._state_since + _ns(p.connect_timeout_s)
        if state is ConnState.SUBSCRIBING:
            return self._state_since + _ns(p.subscribe_timeout_s)
        if state is ConnState.LIVE:
            deadlines = [self._connected_at + _ns(p.max_lifetime_s)]
            if self._ping_sent >= 0:
                deadlines.append(self._ping_sent + _ns(p.pong_timeout_s))
            else:
                deadlines.append(self._last_frame + _ns(p.idle_timeout_s))
            if self.failures:
                deadlines.append(self._live_since + _ns(p.healthy_after_s))
            return min(deadlines)
        return NEVER

    @property
    def connection_open(self) -> bool:
        """True while a connection is (being) established or open."""
        return self.state in (ConnState.CONNECTING, ConnState.SUBSCRIBING, ConnState.LIVE)

    # -- transitions ----------------------------------------------------------------------

    def _tick(self, now_ns: int) -> list[Action]:
        p = self.policy
        state = self.state
        if state is ConnState.BACKOFF and now_ns >= self._retry_at:
            return self._connect(now_ns)
        if state is ConnState.CONNECTING and now_ns >= self._state_since + _ns(p.connect_timeout_s):
            return self._backoff(now_ns, "connect timed out", close=True)
        if state is ConnState.SUBSCRIBING and now_ns >= self._state_since + _ns(p.subscribe_timeout_s):
            return self._backoff(now_ns, "subscription not acknowledged", close=True)
        if state is not ConnState.LIVE:
            return []
        if now_ns >= self._connected_at + _ns(p.max_lifetime_s):
            return self._backoff(now_ns, "planned reconnect before the venue's connection lifetime", close=True,
                                 planned=True)
        if self._ping_sent >= 0:
            if now_ns >= self._ping_sent + _ns(p.pong_timeout_s):
                self.stale_detections += 1
                return self._backoff(now_ns, "stale: no pong", close=True)
        elif now_ns >= self._last_frame + _ns(p.idle_timeout_s):
            self._ping_sent = now_ns
            return [SendPing()]
        return self._check_healthy(now_ns)

    def _connect(self, now_ns: int) -> list[Action]:
        window = self._attempts
        while window and window[0] <= now_ns - _MINUTE:
            window.popleft()
        if len(window) >= self.policy.max_attempts_per_minute:
            # Rate bound: wait until the oldest attempt leaves the 60 s window.
            self._retry_at = window[0] + _MINUTE
            self._enter(ConnState.BACKOFF, now_ns)
            return []
        window.append(now_ns)
        self._enter(ConnState.CONNECTING, now_ns)
        attempt = self.failures + 1
        return [EmitStatus(ConnState.CONNECTING, "connecting", attempt), Connect(attempt)]

    def _go_live(self, now_ns: int) -> list[Action]:
        self._enter(ConnState.LIVE, now_ns)
        self._live_since = now_ns
        self._was_live = True
        return [EmitStatus(ConnState.LIVE, "live", self.failures + 1), *self._check_healthy(now_ns)]

    def _check_healthy(self, now_ns: int) -> list[Action]:
        if self.state is ConnState.LIVE and self.failures and now_ns >= self._live_since + _ns(
            self.policy.healthy_after_s
        ):
            self.failures = 0
        return []

    def _backoff(self, now_ns: int, reason: str, *, close: bool, planned: bool = False,
                 at_least_s: float | None = None) -> list[Action]:
        was_live = self.state is ConnState.LIVE
        if was_live:
            self.reconnects += 1
        if not planned:
            self.failures += 1
        p = self.policy
        exp = min(p.backoff_cap_s, p.backoff_base_s * 2 ** min(self.failures - 1, 30)) if self.failures else 0.0
        # "Equal jitter": half fixed, half random, so retries never synchronise.
        delay = exp / 2 + self.rng.uniform(0, exp / 2)
        if at_least_s is not None:  # the server's word wins over a shorter backoff
            delay = max(delay, at_least_s)
        self._retry_at = now_ns + _ns(delay)
        self._enter(ConnState.BACKOFF, now_ns)
        actions: list[Action] = [Close(reason)] if close else []
        actions.append(EmitStatus(ConnState.BACKOFF, reason, self.failures))
        return actions

    def _enter(self, state: ConnState, now_ns: int) -> None:
        self.state = state
        self._state_since = now_ns
        if state is not ConnState.LIVE:
            self._ping_sent = -1



_ALL = frozenset(ConnState)
_OPEN = frozenset({ConnState.SUBSCRIBING, ConnState.LIVE})
_Step = Callable[[ReconnectMachine, Input, int], list[Action]]
#: Input type -> (states that take it, states that ignore it, what it does). Any other
#: state raises :class:`~botkit.UsageError`. Once CLOSED, everything is ignored; a late
#: frame or pong from a connection being torn down is harmless anywhere.
TRANSITIONS: dict[type, tuple[frozenset[ConnState], frozenset[ConnState], _Step]] = {
    Start: (frozenset({ConnState.IDLE}), frozenset({ConnState.CLOSED}), ReconnectMachine._on_start),
    Connected: (frozenset({ConnState.CONNECTING}), frozenset({ConnState.CLOSED}), ReconnectMachine._on_connected),
    ConnectFailed: (frozenset({ConnState.CONNECTING}), frozenset({ConnState.CLOSED}),
                    ReconnectMachine._on_connect_failed),
    PeerClosed: (_OPEN, frozenset({ConnState.CLOSED}), ReconnectMachine._on_peer_closed),
    SubscribeAcked: (_OPEN, _ALL - _OPEN, ReconnectMachine._on_heard),
    FrameReceived: (_OPEN, _ALL - _OPEN, ReconnectMachine._on_heard),
    PongReceived: (_OPEN, _ALL - _OPEN, ReconnectMachine._on_heard),
    Tick: (_ALL - {ConnState.CLOSED}, frozenset({ConnState.CLOSED}), ReconnectMachine._on_tick),
    Shutdown: (_ALL - {ConnState.CLOSED}, frozenset({ConnState.CLOSED}), ReconnectMachine._on_shutdown),
}

def _ns(seconds: float) -> int:
    return int(seconds * _S)
