"""The live WebSocket source: drives the sans-IO reconnect machine over our WebSocket
connection (:mod:`._wsconn`).

Backend-neutral (anyio); its deadlines follow ``anyio.current_time()``, so tests can run
it on trio's virtual clock. The loop is short: carry out the machine's actions, feed the
outcomes (connected, frame, pong, closed, time passing) back in as inputs.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio
from anyio.abc import TaskGroup
from wsproto.frame_protocol import CloseReason

from .._events import ConnectionState, Event, FeedStatus
from .._exceptions import FeedError, UsageError
from .._redact import redact_url
from ..protocol import FrameDecoder, venue_for
from ..protocol._ratelimit import RestLimiter
from ..protocol._reconnect import (
    Close,
    Connect,
    Connected,
    ConnectFailed,
    ConnState,
    EmitStatus,
    PeerClosed,
    PongReceived,
    ReconnectMachine,
    ReconnectPolicy,
    SendPing,
    SendSubscribe,
    Shutdown,
    Start,
    Tick,
)
from ._backfill import RestWorker
from ._base import EventSource, FeedStats, Publish
from ._wsconn import ConnectionClosed, HandshakeError, HandshakeRejected, WebSocket, connect

__all__ = ["WebSocketSource"]

log = logging.getLogger("botkit.feed")

_STATUS = {
    ConnState.CONNECTING: ConnectionState.CONNECTING,
    ConnState.LIVE: ConnectionState.LIVE,
    ConnState.BACKOFF: ConnectionState.DOWN,
    ConnState.CLOSED: ConnectionState.CLOSED,
}
_NORMAL_CLOSE = 1000
_LOST = 1006
_LOGGED_ERRORS = 20


class WebSocketSource(EventSource):
    """Live market data over a WebSocket, reconnecting by the rules of
    :class:`~botkit.protocol._reconnect.ReconnectMachine`.

    Example::

        source = WebSocketSource.for_venue("kraken", ["BTC-USD"], ["trades", "books"])
        await Engine(Scalper(), source).run()

    :param url: ``ws://`` or ``wss://`` URL (TLS certificates are always verified).
    :param venue: venue name (its parser, REST paths, keep-alive and resubscribe rules).
    :param policy: reconnect/heartbeat timing.
    :param subscribe: messages to send after connecting (venues that subscribe by message).
    :param channels: botkit channels subscribed (resubscribing a broken book needs them).
    :param end_on_normal_close: treat a normal close (code 1000) from the server as the
        end of the data (used with the local simulator's recordings); otherwise reconnect.
    :param on_frame: called with every raw frame and its receive time (the recorder).
    :param rng: jitter source (seed it in tests).
    :param rest_url: REST base for depth snapshots and backfill (default: the
        simulator's own host for a loopback URL, else the venue's public REST endpoint).
    :param backfill: fetch trades missed during outages and gaps over REST (lossless).
    :param limiter: REST rate limiter (default: shared per host).
    :param snapshot_limit: depth snapshot size (Binance weight: 100 -> 5, 1000 -> 50).
    :param drain_timeout_s: at the end of the data, how long pending backfills and
        snapshots may take before what is held is released with a Gap.
    :param headers: extra headers for the upgrade request.
    :param compression: offer permessage-deflate (used when the venue accepts it).
    """

    replay = False

    def __init__(
        self,
        url: str = "",
        *,
        venue: str = "binance",
        policy: ReconnectPolicy | None = None,
        subscribe: list[str] | None = None,
        channels: list[str] | None = None,
        end_on_normal_close: bool = False,
        on_frame: Any = None,
        rng: random.Random | None = None,
        ssl_context: ssl.SSLContext | None = None,
        rest_url: str | None = None,
        backfill: bool = True,
        limiter: RestLimiter | None = None,
        snapshot_limit: int = 1000,
        drain_timeout_s: float = 10.0,
        headers: Sequence[tuple[str, str]] = (),
        compression: bool = True,
    ) -> None:
        super().__init__()
        self.url = url
        #: The URL as logs, errors, summaries and recordings show it (secrets hidden).
        self.shown_url = redact_url(url)
        self.venue = venue
        self.definition = venue_for(venue)
        self.subscribe = subscribe or []
        self.channels = channels or []
        self.policy = policy or ReconnectPolicy(
            needs_subscribe=bool(subscribe),
            # Reconnect half an hour before the venue would cut the connection.
            max_lifetime_s=max(self.definition.max_lifetime_s - 1800, 60),
        )
        self.end_on_normal_close = end_on_normal_close
        self.on_frame = on_frame
        backfill = backfill and self.definition.backfill_trades
        self.decoder = FrameDecoder(self.definition.parser(), backfill=backfill, book_levels=False)
        self.machine = ReconnectMachine(self.policy, rng)
        self._ssl = ssl_context
        self.rest_url = rest_url
        self._ended = False
        self.limiter = limiter
        self.snapshot_limit = snapshot_limit
        self.drain_timeout_s = drain_timeout_s
        self._headers = tuple(headers)
        self._compression = compression
        self._rest: RestWorker | None = None
        self._had_connection = False
        #: Connection attempts made (including the first), and when (monotonic ns).
        self.attempts = 0
        self.attempt_times: list[int] = []

    @classmethod
    def for_venue(cls, venue: str, symbols: list[str], channels: list[str], *, url: str | None = None,
                  **options: Any) -> WebSocketSource:
        """A source subscribed to ``symbols`` x ``channels`` on ``venue`` (its public
        endpoint, or ``url``: a simulator, a testnet, another product line).

        :raises ConfigError: unknown venue or channel, no symbols, too many streams.
        """
        definition = venue_for(venue)
        return cls(
            definition.url(symbols, channels, url), venue=venue, channels=channels,
            subscribe=definition.subscribe(symbols, channels), **options,
        )

    def recording_meta(self) -> dict[str, Any]:
        """Header metadata for a recording of this feed (a replay decodes it the same way)."""
        return {"venue": self.venue, "url": self.shown_url, "backfill": self.decoder.trades.backfill_enabled}

    def describe(self) -> str:
        """The URL being streamed."""
        return f"live {self.venue} feed {self.shown_url}"

    async def stream(self, publish: Publish) -> None:
        """Stream until cancelled, or until the server ends the data (see
        ``end_on_normal_close``). Bad frames are counted and skipped."""
        if not self.url:
            raise UsageError("WebSocketSource has no URL: pass url=... (a ws:// or wss:// URL)")
        machine = self.machine
        self._rest = rest = RestWorker(
            self.decoder, self.definition, self._rest_base(), limiter=self.limiter,
            snapshot_limit=self.snapshot_limit, aggregated="@aggTrade" in self.url, on_frame=self.on_frame,
        )
        try:
            async with anyio.create_task_group() as rest_tasks:
                rest_tasks.start_soon(rest.run, publish)
                actions = machine.handle(Start(), _mono())
                while machine.state is not ConnState.CLOSED and not self._ended:
                    await self._emit(actions, publish)
                    if any(isinstance(a, Connect) for a in actions):
                        actions = await self._connection(publish)
                        continue
                    delay = (machine.next_deadline() - _mono()) / 1e9
                    await anyio.sleep(max(delay, 0.0))
                    actions = machine.handle(Tick(), _mono())
                await rest.drain(self.drain_timeout_s)
                rest_tasks.cancel_scope.cancel()
            released = self.decoder.finish()  # held trades whose backfill never completed
            if released:
                await publish(released)
        finally:
            self._sync_stats()
            with anyio.CancelScope(shield=True):
                await rest.aclose()
                await self._emit(machine.handle(Shutdown(), _mono()), publish)

    async def _connection(self, publish: Publish) -> list[Any]:
        """One connection, from handshake to close; returns the machine's next actions."""
        machine = self.machine
        self.attempts += 1
        self.attempt_times.append(_mono())
        try:
            ws = await connect(self.url, self._ssl, timeout=self.policy.connect_timeout_s, disconnect_timeout=1.0,
                               headers=self._headers, compression=self._compression)
        except (OSError, HandshakeError, TimeoutError, ValueError) as exc:
            reason = _describe_connect_error(exc)
            log.warning("connect to %s failed: %s", self.shown_url, reason)
            wait = exc.retry_after_s if isinstance(exc, HandshakeRejected) else None
            return machine.handle(ConnectFailed(reason, wait), _mono())
        try:
            return await self._session(ws, publish)
        finally:
            await ws.aclose()

    async def _session(self, ws: WebSocket, publish: Publish) -> list[Any]:
        machine = self.machine
        decode_frames = self.decoder.decode_frames
        on_frame = self.on_frame
        actions = machine.handle(Connected(), _mono())
        rest = self._rest
        assert rest is not None
        if self._had_connection:
            rest.resync()
        self._had_connection = True
        self._closing: list[Any] | None = None
        async with anyio.create_task_group() as nursery:
            try:
                closing = await self._carry_out(actions, ws, nursery, publish)
                if closing is not None:
                    return closing
                # Timers (idle ping, pong timeout, lifetime, subscribe timeout) live in a
                # watchdog task, so the frame loop below has no per-frame cancel scope.
                nursery.start_soon(self._watchdog, ws, nursery, publish)
                receive = ws.receive
                decoder = self.decoder
                while True:
                    # Every message of one socket read: one batch, one wakeup of the strategy.
                    frames = await receive()
                    ts = time.time_ns()
                    actions = machine.frame_received(_mono())
                    if on_frame is not None:
                        for frame in frames:
                            on_frame(ts, frame)
                    errors = decoder.parse_errors
                    events = decode_frames(frames, ts)
                    if decoder.parse_errors != errors:
                        if errors < _LOGGED_ERRORS:
                            log.warning("skipped %d frame(s): %s", decoder.parse_errors - errors, decoder.last_error)
                        wrong = decoder.wrong_venue()
                        if wrong is not None:
                            raise FeedError(f"{self.shown_url}: {wrong}")
                    if events:
                        await publish(events)
                    if self.decoder.pending_snapshots or self.decoder.trades.pending:
                        rest.wake()
                    if self.decoder.pending_resubscribe:
                        await self._resubscribe(ws)
                    if actions:
                        done = await self._carry_out(actions, ws, nursery, publish)
                        if done is not None:
                            return done
            except ConnectionClosed as exc:
                if self._closing is not None:  # we closed it (stale, lifetime, timeout)
                    return self._closing
                if self.end_on_normal_close and exc.code == _NORMAL_CLOSE:
                    log.info("server ended the stream: %s", exc.reason or "normal close")
                    self._ended = True
                    return []  # not an outage: stream() shuts the machine down
                if exc.by_peer:
                    text = f"closed by peer ({exc.code} {exc.reason or _close_name(exc.code)})"
                else:  # lost (1006), or we closed it on a protocol error from the server
                    text = f"connection {'lost' if exc.code == _LOST else 'closed'}: {exc.reason} ({exc.code})"
                log.warning("%s: %s; reconnecting", self.shown_url, text)
                return machine.handle(PeerClosed(text), _mono())
            finally:
                nursery.cancel_scope.cancel()
                self._sync_stats()
        raise AssertionError("unreachable: the frame loop ends by returning or raising")

    async def _resubscribe(self, ws: WebSocket) -> None:
        """Books that broke on a stream-snapshot venue: ask for fresh snapshots."""
        pending = self.decoder.pending_resubscribe
        while pending:
            symbol = pending.pop()
            log.warning("resubscribing %s %s: its book broke", self.venue, symbol)
            for message in self.definition.resubscribe(symbol, self.channels):
                await ws.send(message)

    async def _carry_out(
        self, actions: list[Any], ws: WebSocket, nursery: TaskGroup, publish: Publish
    ) -> list[Any] | None:
        """Perform the machine's actions; returns the actions to hand back to stream()
        when they close this connection, else None."""
        for action in actions:
            if isinstance(action, SendSubscribe):
                for message in self.subscribe:
                    await ws.send(message)
            elif isinstance(action, SendPing):
                if self.definition.ping_message:  # venues that want an application ping too
                    await ws.send(self.definition.ping_message)
                nursery.start_soon(self._ping, ws)
            elif isinstance(action, Close):
                log.warning("closing connection: %s", action.reason)
                return [a for a in actions if not isinstance(a, Close | SendPing | SendSubscribe)]
        await self._emit(actions, publish)
        return None

    async def _watchdog(self, ws: WebSocket, nursery: TaskGroup,
                        publish: Publish) -> None:
        """Wake at the machine's deadlines; close the connection when it says so (the
        frame loop then sees ConnectionClosed and hands these actions back)."""
        machine = self.machine
        while True:
            await anyio.sleep(max((machine.next_deadline() - _mono()) / 1e9, 0.0))
            actions = machine.handle(Tick(), _mono())
            if not actions:
                continue
            done = await self._carry_out(actions, ws, nursery, publish)
            if done is not None:
                self._closing = done
                with anyio.move_on_after(2):
                    await ws.aclose()
                return

    def _rest_base(self) -> str:
        if self.rest_url:
            return self.rest_url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.hostname in ("127.0.0.1", "localhost", "::1"):
            scheme = "https" if parts.scheme == "wss" else "http"
            return f"{scheme}://{parts.netloc}"
        return self.definition.rest_base(self.url)

    async def _ping(self, ws: WebSocket) -> None:
        try:
            await ws.ping()
        except ConnectionClosed:
            return
        self.machine.handle(PongReceived(), _mono())

    async def _emit(self, actions: list[Any], publish: Publish) -> None:
        statuses: list[Event] = []
        for action in actions:
            if isinstance(action, EmitStatus):
                state = _STATUS.get(action.state)
                if state is not None:
                    statuses.append(FeedStatus(self.venue, state, action.reason, time.time_ns(), action.attempt))
        if statuses:
            await publish(statuses)

    def feeds(self) -> list[FeedStats]:
        """This feed's counters as of now (read while it runs, e.g. by the dashboard)."""
        self._sync_stats()
        return [self.stats]

    def _sync_stats(self) -> None:
        machine = self.machine
        self.stats.absorb(self.decoder)
        self.stats.reconnects = machine.reconnects
        self.stats.stale_detections = machine.stale_detections
        self.stats.state = machine.state.value
        last = machine.last_frame_ns
        try:
            now = _mono()
        except RuntimeError:  # read after the event loop ended (a failed run's summary)
            return
        self.stats.last_message_age_s = round((now - last) / 1e9, 3) if last else -1.0


def _mono() -> int:
    """The event loop's clock in ns: the machine's deadlines follow it (virtual in tests)."""
    return int(anyio.current_time() * 1e9)


def _close_name(code: int) -> str:
    try:
        return CloseReason(code).name
    except ValueError:
        return "no reason given"


def _describe_connect_error(exc: BaseException) -> str:
    if isinstance(exc, HandshakeRejected):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc}"
    if not str(exc) and exc.__cause__ is not None:  # a wrapper: say what the real cause was
        return _describe_connect_error(exc.__cause__)
    return f"{type(exc).__name__}: {exc}"
