"""The reconnect machine: table examples, then invariants over arbitrary input sequences."""

from __future__ import annotations

import random

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import botkit
from botkit.protocol._reconnect import (
    Close,
    Connect,
    Connected,
    ConnectFailed,
    ConnState,
    EmitStatus,
    FrameReceived,
    PeerClosed,
    PongReceived,
    ReconnectMachine,
    ReconnectPolicy,
    SendPing,
    SendSubscribe,
    Shutdown,
    Start,
    SubscribeAcked,
    Tick,
)

S = 1_000_000_000
POLICY = ReconnectPolicy(
    backoff_base_s=1, backoff_cap_s=8, healthy_after_s=5, max_attempts_per_minute=6,
    connect_timeout_s=3, subscribe_timeout_s=3, idle_timeout_s=2, pong_timeout_s=1, max_lifetime_s=100,
    needs_subscribe=True,
)


def kinds(actions: list) -> list[type]:
    return [type(a) for a in actions if not isinstance(a, EmitStatus)]


def test_happy_path_then_idle_ping_then_stale_reconnect() -> None:
    m = ReconnectMachine(POLICY, random.Random(1))
    assert kinds(m.handle(Start(), 0)) == [Connect]
    assert kinds(m.handle(Connected(), 1)) == [SendSubscribe]
    m.handle(SubscribeAcked(), 2)
    assert m.state is ConnState.LIVE
    assert m.next_deadline() == 2 + 2 * S  # idle timeout after the last frame
    assert kinds(m.handle(Tick(), 2 + 2 * S)) == [SendPing]
    assert m.next_deadline() == 2 + 3 * S  # pong timeout
    actions = m.handle(Tick(), 2 + 3 * S)
    assert kinds(actions) == [Close] and actions[0].reason == "stale: no pong"
    assert m.state is ConnState.BACKOFF and m.stale_detections == 1 and m.reconnects == 1


def test_pong_keeps_the_connection() -> None:
    m = ReconnectMachine(POLICY, random.Random(1))
    m.handle(Start(), 0)
    m.handle(Connected(), 0)
    m.handle(FrameReceived(), 0)  # a data frame also proves the subscription
    assert m.state is ConnState.LIVE
    m.handle(Tick(), 2 * S)
    m.handle(PongReceived(), 2 * S + 10)
    assert m.handle(Tick(), 3 * S) == [] and m.state is ConnState.LIVE


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    m = ReconnectMachine(POLICY, random.Random(1))
    now = 0
    m.handle(Start(), now)
    delays = []
    for _ in range(6):
        m.handle(ConnectFailed("refused"), now)
        delays.append(m.next_deadline() - now)
        now = m.next_deadline()
        m.handle(Tick(), now)
        if m.state is not ConnState.CONNECTING:  # rate bound kicked in
            now = m.next_deadline()
            m.handle(Tick(), now)
    caps = [min(8, 2**i) * S for i in range(6)]
    for delay, cap in zip(delays, caps, strict=True):
        assert cap / 2 <= delay <= cap


def test_a_servers_retry_after_outlasts_a_shorter_backoff() -> None:
    m = ReconnectMachine(POLICY, random.Random(1))
    m.handle(Start(), 0)
    m.handle(ConnectFailed("HTTP 429", retry_after_s=30.0), 0)
    assert m.state is ConnState.BACKOFF and m.next_deadline() == 30 * S  # not the first backoff's 0.5-1 s
    m.handle(Tick(), 30 * S)
    assert m.state is ConnState.CONNECTING
    m.handle(ConnectFailed("HTTP 429", retry_after_s=0.1), 30 * S)  # shorter than the backoff: backoff wins
    assert m.next_deadline() - 30 * S >= 1 * S


def test_planned_reconnect_before_lifetime() -> None:
    m = ReconnectMachine(POLICY, random.Random(1))
    m.handle(Start(), 0)
    m.handle(Connected(), 0)
    m.handle(SubscribeAcked(), 0)
    now = 0
    while m.state is ConnState.LIVE:
        now = m.next_deadline()
        actions = m.handle(Tick(), now)
        m.handle(PongReceived(), now)
    assert now == 100 * S
    assert any(isinstance(a, Close) and "planned" in a.reason for a in actions)
    assert m.next_deadline() == now  # no penalty for a planned reconnect


def test_illegal_input_is_refused_and_state_kept() -> None:
    m = ReconnectMachine(POLICY)
    with pytest.raises(botkit.UsageError, match="^can't handle Connected in state IDLE$"):
        m.handle(Connected(), 0)
    assert m.state is ConnState.IDLE


def test_shutdown_is_terminal() -> None:
    m = ReconnectMachine(POLICY)
    m.handle(Start(), 0)
    m.handle(Connected(), 0)
    assert kinds(m.handle(Shutdown(), 1)) == [Close]
    assert m.handle(Tick(), 10**12) == [] and m.handle(FrameReceived(), 10**12) == []
    assert m.state is ConnState.CLOSED


class ReconnectInvariants(RuleBasedStateMachine):
    """Whatever the server and the network do, the rules hold."""

    def __init__(self) -> None:
        super().__init__()
        self.m = ReconnectMachine(POLICY, random.Random(0))
        self.now = 0
        self.open = 0  # connections open or being opened, as the I/O layer would see
        self.attempts: list[int] = []
        self.last_good_live = -1
        self.handle(Start())

    def handle(self, inp: object) -> None:
        for action in self.m.handle(inp, self.now):  # type: ignore[arg-type]
            if isinstance(action, Connect):
                assert self.open == 0, "Connect issued while a connection is open"
                self.open = 1
                self.attempts.append(self.now)
            elif isinstance(action, Close):
                self.open = 0

    @rule(dt=st.integers(0, 120 * S))
    def time_passes(self, dt: int) -> None:
        target = self.now + dt
        # The driver wakes at every deadline on the way (as the real one does).
        for _ in range(1000):
            deadline = self.m.next_deadline()
            if deadline > target:
                break
            self.now = max(self.now, deadline)
            self.handle(Tick())
        self.now = target
        self.handle(Tick())

    @precondition(lambda self: self.m.state is ConnState.CONNECTING)
    @rule(ok=st.booleans())
    def connect_outcome(self, ok: bool) -> None:
        if ok:
            self.handle(Connected())
        else:
            self.open = 0
            self.handle(ConnectFailed("refused"))

    @precondition(lambda self: self.m.state in (ConnState.SUBSCRIBING, ConnState.LIVE))
    @rule(kind=st.sampled_from(["ack", "frame", "pong", "close"]))
    def peer(self, kind: str) -> None:
        if kind == "close":
            self.open = 0
            self.handle(PeerClosed("reset"))
        else:
            self.handle({"ack": SubscribeAcked, "frame": FrameReceived, "pong": PongReceived}[kind]())

    @rule()
    def late_frame(self) -> None:
        self.handle(FrameReceived())  # may arrive in any state: never an error

    @precondition(lambda self: self.m.state is not ConnState.CLOSED)
    @rule()
    def shutdown(self) -> None:
        self.handle(Shutdown())
        assert self.m.state is ConnState.CLOSED and self.open == 0

    @invariant()
    def at_most_one_connection(self) -> None:
        assert self.open <= 1
        assert self.m.connection_open == (self.open == 1)

    @invariant()
    def attempts_per_minute_are_bounded(self) -> None:
        recent = [t for t in self.attempts if t > self.now - 60 * S]
        assert len(recent) <= POLICY.max_attempts_per_minute
        for i in range(len(self.attempts)):
            window = [t for t in self.attempts[i:] if t < self.attempts[i] + 60 * S]
            assert len(window) <= POLICY.max_attempts_per_minute

    @invariant()
    def backoff_is_capped(self) -> None:
        if self.m.state is ConnState.BACKOFF:
            assert self.m.next_deadline() - self.now <= 60 * S  # cap 8 s, or the rate window

    @invariant()
    def closed_is_terminal_and_quiet(self) -> None:
        if self.m.state is ConnState.CLOSED:
            assert self.m.next_deadline() >= 1 << 62


TestReconnectInvariants = ReconnectInvariants.TestCase
