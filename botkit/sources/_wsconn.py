"""Our WebSocket connection over an anyio byte stream, for both ends (the live source and the simulator).

Why not trio-websocket: its reader task parses each frame with wsproto, assembles a
message object and hands it over a memory channel to the task that wants it, so every
frame costs an event object, a message object and a channel hand-off (docs/live-feed.md
has the figures). Here the
task that wants the messages reads the socket itself: one ``receive`` gives every
message in it at once (:class:`~botkit.protocol._wsframes.FrameReader`), with no task in
between; control frames are answered on the way. The HTTP upgrade is wsproto's
handshake (h11), frames we send are wsproto's encoder.
"""

from __future__ import annotations

import email.utils
import os
import ssl
import time
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream
from wsproto import ConnectionType
from wsproto.events import AcceptConnection, RejectConnection, Request
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.frame_protocol import FrameProtocol
from wsproto.handshake import H11Handshake
from wsproto.utilities import ProtocolError

from .._redact import redact_url
from .._version import __version__
from ..protocol._wsframes import (
    CLOSE,
    PING,
    PONG,
    BinaryMessage,
    FrameError,
    FrameReader,
    close_payload,
    masked_text_frame,
    text_frame,
)

__all__ = [
    "USER_AGENT", "BinaryMessage", "ConnectionClosed", "HandshakeError", "HandshakeRejected", "WebSocket", "accept",
    "connect",
]

#: What the upgrade request says this client is.
USER_AGENT = f"botkit/{__version__} (+https://github.com/botkit)"
_REDIRECTS = (301, 302, 303, 307, 308)

#: Bytes taken per read. It bounds the added latency as well: every message of one read
#: is decoded before any is published, so the last waits for the ones before it (the
#: bench chose 4 KB; docs/live-feed.md has the figures).
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
    """The server answered the upgrade with an HTTP error status.

    :ivar retry_after_s: what its ``Retry-After`` header asked for (a 429 or a 503), if
        anything: the reconnect machine waits at least this long.
    :ivar location: where a redirect pointed ("" when none).
    """

    def __init__(self, status_code: int, retry_after_s: float | None = None, location: str = "") -> None:
        wait = f", retry after {retry_after_s:g} s" if retry_after_s is not None else ""
        super().__init__(f"handshake rejected with HTTP {status_code}{wait}")
        self.status_code = status_code
        self.retry_after_s = retry_after_s
        self.location = location

    def __reduce__(self) -> tuple[type, tuple[int, float | None, str]]:
        return type(self), (self.status_code, self.retry_after_s, self.location)


class WebSocket:
    """One open WebSocket connection. One task receives (:meth:`receive`); any task may
    send, ping or close.

    :param stream: the connected (TLS) stream, upgrade done.
    :param client: this end is the client (masks what it sends).
    :param leftover: bytes read past the upgrade answer (the first frames).
    :param disconnect_timeout: how long :meth:`aclose` waits for the peer's close frame.
    :param extensions: the extensions the upgrade agreed on (permessage-deflate).
    """

    def __init__(self, stream: ByteStream, *, client: bool, leftover: bytes = b"",
                 disconnect_timeout: float = 1.0, extensions: Sequence[Extension] = ()) -> None:
        self.stream = stream
        self.disconnect_timeout = disconnect_timeout
        #: Set once the connection is closed, whoever closed it.
        self.closed: ConnectionClosed | None = None
        self._client = client
        deflate = next((e for e in extensions if isinstance(e, PerMessageDeflate)), None)
        #: permessage-deflate is in use (the peer accepted our offer).
        self.compressed = deflate is not None
        peer_resets = deflate is not None and (
            deflate.server_no_context_takeover if client else deflate.client_no_context_takeover
        )
        self._reader = FrameReader(client=client, deflate=self.compressed, inflate_reset=peer_resets)
        self._writer = FrameProtocol(client=client, extensions=list(extensions))
        self._failure: FrameError | None = None
        # fast_acquire: an uncontended send does not yield first (an order goes out now).
        # A client send that finds the lock free does not yield first (an order goes out
        # now); the server side keeps the fair, yielding lock.
        self._send_lock = anyio.Lock(fast_acquire=client)
        self._pending = leftover
        self._out = bytearray()
        self._pong = anyio.Event()
        self._peer_close: tuple[int, str] | None = None
        self._close_sent = False
        self._receiving = False
        self._done = anyio.Event()  # the close handshake finished or the stream is gone

    async def receive(self) -> list[bytes]:
        """The data messages of the next read from the socket: at least one. A text
        message is ``bytes`` (valid UTF-8, checked), a binary one a
        :class:`BinaryMessage` (a ``bytes`` subclass). Pings are answered and pongs
        noted on the way; messages that arrived before a protocol error are returned
        first, and the error closes the connection at the next call.

        :raises ConnectionClosed: the peer closed, the connection broke, or we closed it.
        """
        reader = self._reader
        self._receiving = True
        try:
            while True:
                if self._failure is not None:
                    await self._fail(self._failure.code, self._failure.reason)
                if self._peer_close is not None:
                    await self._answer_close(*self._peer_close)
                if self._pending:
                    data, self._pending = self._pending, b""
                else:
                    data = await self._read()
                try:
                    messages = reader.feed(data)
                except FrameError as exc:
                    self._failure = exc
                    if exc.messages:
                        return exc.messages
                    continue
                if reader.control:
                    await self._control()
                if messages:
                    return messages
        finally:
            self._receiving = False

    async def send(self, message: str | bytes) -> None:
        """Send one text (``str``) or binary (``bytes``) message (compressed when
        permessage-deflate is in use).

        :raises ConnectionClosed: the connection is closed.
        """
        await self._send(self._writer.send_data(message, True))

    def buffer(self, text: str | bytes) -> int:
        """Queue one text message (``str``, or UTF-8 ``bytes``) for :meth:`flush`: one
        write for many messages. Returns the bytes queued."""
        if self.compressed:
            self._out += self._writer.send_data(text if isinstance(text, str) else text.decode(), True)
        elif self._client:
            # Our own framing (wsproto's masking is Python byte by byte): an order's path.
            self._out += masked_text_frame(text.encode() if isinstance(text, str) else text, os.urandom(4))
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
        with anyio.move_on_after(self.disconnect_timeout, shield=True):
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
            return await self.stream.receive(RECEIVE_BYTES)
        except anyio.EndOfStream:
            await self._close_stream()
            raise self._lost("connection closed without a close frame") from None
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            await self._close_stream()
            raise self._lost(_describe(exc)) from None

    async def _control(self) -> None:
        control = self._reader.control
        frames, control[:] = list(control), []
        for opcode, payload in frames:
            if opcode == PING:
                await self._send(self._writer.pong(payload))
            elif opcode == PONG:
                self._pong.set()
                self._pong = anyio.Event()
            elif opcode == CLOSE and self._peer_close is None:
                try:
                    self._peer_close = close_payload(payload)
                except FrameError as exc:
                    await self._fail(exc.code, exc.reason)

    async def _answer_close(self, code: int, reason: str) -> None:
        if self.closed is None:
            self.closed = ConnectionClosed(code, reason, by_peer=True)
        # Echo the peer's code (RFC 6455 5.5.1); a close without one is answered alike.
        await self._send_close(code if code not in (1005, _ABNORMAL, 1015) else None, "")
        if self._client:
            # The server closes the TCP connection first (RFC 6455 7.1.1): wait for it, briefly.
            with anyio.move_on_after(self.disconnect_timeout):
                while await self._read_quietly():
                    pass
        await self._close_stream()
        raise self.closed

    async def _read_quietly(self) -> bool:
        """Read and drop what the peer still sends; False once its side is closed."""
        try:
            await self.stream.receive(RECEIVE_BYTES)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False
        return True

    async def _fail(self, code: int, reason: str) -> None:
        """The peer broke the protocol: close with ``code`` and raise."""
        self.closed = ConnectionClosed(code, reason)
        with anyio.move_on_after(self.disconnect_timeout):
            await self._send_close(code, reason)
        await self._close_stream()
        raise self.closed

    async def _send_close(self, code: int | None, reason: str) -> None:
        """Our close frame, once (a connection already gone needs none); ``None``: a
        close frame without a code."""
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
                await self.stream.send(bytes(data))  # wsproto builds frames in a bytearray
            except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                await self._close_stream()
                raise self._lost(_describe(exc)) from None

    def _lost(self, reason: str) -> ConnectionClosed:
        if self.closed is None:
            self.closed = ConnectionClosed(_ABNORMAL, reason)
        return self.closed

    async def _close_stream(self) -> None:
        if not self._done.is_set():
            self._done.set()
            self._pong.set()  # wakes ping() waiters, which then raise
            await anyio.aclose_forcefully(self.stream)


async def connect(url: str, ssl_context: ssl.SSLContext | None = None, *, timeout: float = 10.0,
                  disconnect_timeout: float = 1.0, headers: Sequence[tuple[str, str]] = (),
                  user_agent: str = USER_AGENT, compression: bool = True, max_redirects: int = 3) -> WebSocket:
    """Open a client connection to a ``ws://`` or ``wss://`` URL (certificates verified
    unless ``ssl_context`` says otherwise).

    :param headers: extra request headers (e.g. an API key header a venue asks for).
    :param user_agent: the ``User-Agent`` header ("" sends none).
    :param compression: offer permessage-deflate (RFC 7692); used when the server accepts.
    :param max_redirects: HTTP redirects followed (301, 302, 303, 307, 308), each counted
        against ``timeout`` as a whole.
    :raises OSError: the TCP or TLS connection failed.
    :raises HandshakeError: the upgrade failed (:class:`HandshakeRejected`: HTTP status,
        with the server's ``Retry-After``).
    :raises TimeoutError: not connected within ``timeout`` seconds.
    :raises ValueError: not a WebSocket URL.
    """
    with anyio.fail_after(timeout):
        for _ in range(max_redirects + 1):
            try:
                return await _connect_once(url, ssl_context, disconnect_timeout, headers, user_agent, compression)
            except HandshakeRejected as exc:
                if exc.status_code not in _REDIRECTS or not exc.location:
                    raise
                url = _redirect_target(url, exc.location)
        raise HandshakeError(f"more than {max_redirects} redirects (last to {redact_url(url)})")


async def _connect_once(url: str, ssl_context: ssl.SSLContext | None, disconnect_timeout: float,
                        headers: Sequence[tuple[str, str]], user_agent: str, compression: bool) -> WebSocket:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a ws:// or wss:// URL: {redact_url(url)!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    extra = [(name.encode(), value.encode()) for name, value in headers]
    if user_agent:
        extra.append((b"User-Agent", user_agent.encode()))
    offer: list[Extension] = [PerMessageDeflate()] if compression else []
    stream: ByteStream = await anyio.connect_tcp(parts.hostname, port)
    try:
        if secure:
            context = ssl_context or ssl.create_default_context()
            # Venues close without TLS close_notify often enough: do not call that an error.
            stream = await TLSStream.wrap(stream, hostname=parts.hostname, ssl_context=context,
                                          standard_compatible=False)
        handshake = H11Handshake(ConnectionType.CLIENT)
        await stream.send(handshake.send(Request(host=host, target=target, extensions=offer,
                                                     extra_headers=extra)))
        head, leftover = await _read_head(stream)
        accepted = _check_answer(handshake, head)
    except (anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        await anyio.aclose_forcefully(stream)
        # anyio wraps what broke the stream (a reset during TLS): say that.
        cause = exc.__cause__
        if isinstance(cause, OSError):
            raise cause from None
        raise HandshakeError(f"connection lost during the upgrade ({_describe(exc)})") from None
    except BaseException:
        await anyio.aclose_forcefully(stream)
        raise
    return WebSocket(stream, client=True, leftover=leftover, disconnect_timeout=disconnect_timeout,
                     extensions=accepted.extensions)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _redirect_target(url: str, location: str) -> str:
    """Where a redirect leads, as a WebSocket URL (``http(s)://`` maps to ``ws(s)://``)."""
    target = urljoin(url.replace("ws://", "http://", 1).replace("wss://", "https://", 1), location)
    return target.replace("http://", "ws://", 1).replace("https://", "wss://", 1)


def _retry_after(value: bytes) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


async def accept(stream: ByteStream, head: bytes) -> WebSocket:
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
        await stream.send(handshake.send(AcceptConnection()))
    except ProtocolError as exc:
        await stream.send(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        raise HandshakeError(str(exc)) from None
    return WebSocket(stream, client=False, leftover=head[end:])


async def _read_head(stream: ByteStream) -> tuple[bytes, bytes]:
    """The HTTP answer's head, and the bytes after it (already WebSocket frames)."""
    data = b""
    while (end := data.find(b"\r\n\r\n")) < 0:
        if len(data) > _HEAD_LIMIT:
            raise HandshakeError("HTTP answer head too large")
        try:
            data += await stream.receive(RECEIVE_BYTES)
        except anyio.EndOfStream:
            raise HandshakeError("connection closed during the upgrade") from None
    return data[: end + 4], data[end + 4 :]


def _check_answer(handshake: H11Handshake, head: bytes) -> AcceptConnection:
    try:
        handshake.receive_data(head)
        events = list(handshake.events())
    except ProtocolError as exc:
        raise HandshakeError(f"bad upgrade answer: {exc}") from None
    for event in events:
        if isinstance(event, AcceptConnection):
            return event
        if isinstance(event, RejectConnection):
            fields = {name.lower(): value for name, value in event.headers}
            wait = _retry_after(fields[b"retry-after"]) if b"retry-after" in fields else None
            location = fields.get(b"location", b"").decode("latin-1")
            raise HandshakeRejected(event.status_code, wait, location)
    raise HandshakeError("no upgrade answer")
