"""Our WebSocket connection over a trio stream, for both ends (the live source and the simulator).

Why not trio-websocket: its reader task parses each frame with wsproto, assembles a
message object and hands it over a memory channel to the task that wants it, so every
frame costs an event object, a message object and a channel hand-off (the bench measured
its bare client below the asyncio ``websockets`` client on the same stream). Here the
task that wants the messages reads the socket itself: one ``receive_some`` gives every
message in it at once (:class:`~botkit.protocol._wsframes.FrameReader`), with no task in
between; control frames are answered on the way. The HTTP upgrade is wsproto's
handshake (h11), frames we send are wsproto's encoder.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import trio
from wsproto import ConnectionType
from wsproto.events import AcceptConnection, RejectConnection, Request
from wsproto.frame_protocol import FrameProtocol
from wsproto.handshake import H11Handshake
from wsproto.utilities import ProtocolError

from ..protocol._wsframes import CLOSE, PING, PONG, FrameError, FrameReader, close_payload, text_frame

__all__ = ["ConnectionClosed", "HandshakeError", "HandshakeRejected", "WebSocket", "accept", "connect"]

#: Bytes taken per read. It bounds the added latency as well: every message of one read
#: is decoded before any is published, so the last waits for the ones before it. 4 KB
#: (about 24 trade frames) measured p99 93-119 us at 420k frames/s; 8 KB 135-199 us at
#: 500k/s, too close to the 200 us target.
RECEIVE_BYTES = 4096
_HEAD_LIMIT = 64 * 1024
_ABNORMAL = 1006  # no close frame (RFC 6455 7.4.1)


class ConnectionClosed(Exception):
    """The connection is closed: by the peer (its close code and reason; ``by_peer``),
    by us, or lost (1006)."""

    def __init__(self, code: int, reason: str = "", *, by_peer: bool = False) -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason
        self.by_peer = by_peer


class HandshakeError(Exception):
    """The HTTP upgrade failed (not an HTTP answer, bad upgrade headers)."""


class HandshakeRejected(HandshakeError):
    """The server answered the upgrade with an HTTP error status."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"handshake rejected with HTTP {status_code}")
        self.status_code = status_code


class WebSocket:
    """One open WebSocket connection. One task receives (:meth:`receive`); any task may
    send, ping or close.

    :param stream: the connected (TLS) stream, upgrade done.
    :param client: this end is the client (masks what it sends).
    :param leftover: bytes read past the upgrade answer (the first frames).
    :param disconnect_timeout: how long :meth:`aclose` waits for the peer's close frame.
    """

    def __init__(self, stream: trio.abc.Stream, *, client: bool, leftover: bytes = b"",
                 disconnect_timeout: float = 1.0) -> None:
        self.stream = stream
        self.disconnect_timeout = disconnect_timeout
        #: Set once the connection is closed, whoever closed it.
        self.closed: ConnectionClosed | None = None
        self._client = client
        self._reader = FrameReader(client=client)
        self._writer = FrameProtocol(client=client, extensions=[])
        self._send_lock = trio.Lock()
        self._pending = leftover
        self._out = bytearray()
        self._pong = trio.Event()
        self._peer_close: tuple[int, str] | None = None
        self._close_sent = False
        self._receiving = False
        self._done = trio.Event()  # the close handshake finished or the stream is gone

    async def receive(self) -> list[bytes]:
        """The data messages (text and binary, as bytes) of the next read from the
        socket: at least one. Pings are answered and pongs noted on the way.

        :raises ConnectionClosed: the peer closed, the connection broke, or we closed it.
        """
        reader = self._reader
        self._receiving = True
        try:
            while True:
                if self._peer_close is not None:
                    await self._answer_close(*self._peer_close)
                if self._pending:
                    data, self._pending = self._pending, b""
                else:
                    data = await self._read()
                try:
                    messages = reader.feed(data)
                except FrameError as exc:
                    await self._fail(exc.code, exc.reason)
                if reader.control:
                    await self._control()
                if messages:
                    return messages
        finally:
            self._receiving = False

    async def send(self, message: str | bytes) -> None:
        """Send one text (``str``) or binary (``bytes``) message.

        :raises ConnectionClosed: the connection is closed.
        """
        await self._send(self._writer.send_data(message, True))

    def buffer(self, text: str | bytes) -> int:
        """Queue one text message (``str``, or UTF-8 ``bytes``) for :meth:`flush`: one
        write for many messages. Returns the bytes queued."""
        if self._client:
            self._out += self._writer.send_data(text if isinstance(text, str) else text.decode(), True)
        else:
            self._out += text_frame(text.encode() if isinstance(text, str) else text)
        return len(self._out)

    async def flush(self) -> None:
        """Send what :meth:`buffer` queued."""
        if self._out:
            data, self._out = bytes(self._out), bytearray()
            await self._send(data)

    async def ping(self) -> None:
        """Send a ping and return when a pong comes back (while a task receives).

        :raises ConnectionClosed: the connection closed first.
        """
        pong = self._pong
        await self._send(self._writer.ping(b""))
        await pong.wait()
        if self._done.is_set() and self.closed is not None:
            raise self.closed

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close: send a close frame, wait (``disconnect_timeout`` at most) for the peer's,
        then close the stream. Safe to call more than once and from any task."""
        if self._done.is_set():
            return
        if self.closed is None:
            self.closed = ConnectionClosed(code, reason)
        with trio.move_on_after(self.disconnect_timeout) as scope:
            scope.shield = True
            await self._send_close(code, reason)
            if self._receiving:
                await self._done.wait()
            else:  # nobody reads: read up to the peer's close frame here
                try:
                    while True:
                        await self.receive()
                except ConnectionClosed:
                    pass
        await self._close_stream()

    async def _read(self) -> bytes:
        try:
            data = await self.stream.receive_some(RECEIVE_BYTES)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            await self._close_stream()
            raise self._lost(str(exc) or type(exc).__name__) from None
        if not data:
            await self._close_stream()
            raise self._lost("connection closed without a close frame")
        return bytes(data)  # already bytes from a socket: no copy

    async def _control(self) -> None:
        control = self._reader.control
        frames, control[:] = list(control), []
        for opcode, payload in frames:
            if opcode == PING:
                await self._send(self._writer.pong(payload))
            elif opcode == PONG:
                self._pong.set()
                self._pong = trio.Event()
            elif opcode == CLOSE and self._peer_close is None:
                try:
                    self._peer_close = close_payload(payload)
                except FrameError as exc:
                    await self._fail(exc.code, exc.reason)

    async def _answer_close(self, code: int, reason: str) -> None:
        if self.closed is None:
            self.closed = ConnectionClosed(code, reason, by_peer=True)
        await self._send_close(code if code not in (1005, _ABNORMAL, 1015) else 1000, "")
        await self._close_stream()
        raise self.closed

    async def _fail(self, code: int, reason: str) -> None:
        """The peer broke the protocol: close with ``code`` and raise."""
        self.closed = ConnectionClosed(code, reason)
        with trio.move_on_after(self.disconnect_timeout):
            await self._send_close(code, reason)
        await self._close_stream()
        raise self.closed

    async def _send_close(self, code: int, reason: str) -> None:
        """Our close frame, once (a connection already gone needs none)."""
        if not self._close_sent:
            self._close_sent = True
            try:
                await self._send(self._writer.close(code, reason or None))
            except ConnectionClosed:
                pass

    async def _send(self, data: bytes | bytearray) -> None:
        if self.closed is not None and self._done.is_set():
            raise self.closed
        async with self._send_lock:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                await self._close_stream()
                raise self._lost(str(exc) or type(exc).__name__) from None

    def _lost(self, reason: str) -> ConnectionClosed:
        if self.closed is None:
            self.closed = ConnectionClosed(_ABNORMAL, reason)
        return self.closed

    async def _close_stream(self) -> None:
        if not self._done.is_set():
            self._done.set()
            self._pong.set()  # wakes ping() waiters, which then raise
            await trio.aclose_forcefully(self.stream)


async def connect(url: str, ssl_context: ssl.SSLContext | None = None, *, timeout: float = 10.0,
                  disconnect_timeout: float = 1.0) -> WebSocket:
    """Open a client connection to a ``ws://`` or ``wss://`` URL (certificates verified
    unless ``ssl_context`` says otherwise).

    :raises OSError: the TCP or TLS connection failed.
    :raises HandshakeError: the upgrade failed (:class:`HandshakeRejected`: HTTP status).
    :raises trio.TooSlowError: not connected within ``timeout`` seconds.
    :raises ValueError: not a WebSocket URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a ws:// or wss:// URL: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with trio.fail_after(timeout):
        stream: trio.abc.Stream = await trio.open_tcp_stream(parts.hostname, port)
        try:
            if secure:
                context = ssl_context or ssl.create_default_context()
                stream = trio.SSLStream(stream, context, server_hostname=parts.hostname, https_compatible=True)
                await stream.do_handshake()
            handshake = H11Handshake(ConnectionType.CLIENT)
            await stream.send_all(handshake.send(Request(host=host, target=target)))
            head, leftover = await _read_head(stream)
            _check_answer(handshake, head)
        except trio.BrokenResourceError as exc:
            await trio.aclose_forcefully(stream)
            # trio wraps what broke the stream (a TLS certificate refused, a reset): say that.
            cause = exc.__cause__
            if isinstance(cause, OSError):
                raise cause from None
            raise HandshakeError(f"connection lost during the upgrade ({exc or type(exc).__name__})") from None
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
    return WebSocket(stream, client=True, leftover=leftover, disconnect_timeout=disconnect_timeout)


async def accept(stream: trio.abc.Stream, head: bytes) -> WebSocket:
    """The server end: answer the upgrade request ``head`` (the bytes read so far,
    the request head first) and return the connection.

    :raises HandshakeError: not a WebSocket upgrade request (answered with HTTP 400).
    """
    handshake = H11Handshake(ConnectionType.SERVER)
    end = head.find(b"\r\n\r\n") + 4
    try:
        handshake.receive_data(head[:end])
        requests = [e for e in handshake.events() if isinstance(e, Request)]
        if not requests:
            raise HandshakeError("no upgrade request")
        await stream.send_all(handshake.send(AcceptConnection()))
    except ProtocolError as exc:
        await stream.send_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        raise HandshakeError(str(exc)) from None
    return WebSocket(stream, client=False, leftover=head[end:])


async def _read_head(stream: trio.abc.Stream) -> tuple[bytes, bytes]:
    """The HTTP answer's head, and the bytes after it (already WebSocket frames)."""
    data = b""
    while (end := data.find(b"\r\n\r\n")) < 0:
        if len(data) > _HEAD_LIMIT:
            raise HandshakeError("HTTP answer head too large")
        chunk = await stream.receive_some(RECEIVE_BYTES)
        if not chunk:
            raise HandshakeError("connection closed during the upgrade")
        data += chunk
    return data[: end + 4], data[end + 4 :]


def _check_answer(handshake: H11Handshake, head: bytes) -> None:
    try:
        handshake.receive_data(head)
        events = list(handshake.events())
    except ProtocolError as exc:
        raise HandshakeError(f"bad upgrade answer: {exc}") from None
    for event in events:
        if isinstance(event, AcceptConnection):
            return
        if isinstance(event, RejectConnection):
            raise HandshakeRejected(event.status_code)
    raise HandshakeError("no upgrade answer")
