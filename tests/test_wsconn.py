"""Our WebSocket connection (both ends) over loopback TCP: messages, pings, the close
handshake both ways, lost connections, rejected upgrades, protocol violations and TLS."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
import trustme
from wsproto.frame_protocol import FrameProtocol

from botkit.sources._wsconn import ConnectionClosed, HandshakeError, HandshakeRejected, WebSocket, accept, connect

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"  # the connection is trio's (live runs use anyio's trio backend)


async def _read_head(stream: trio.SocketStream) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.receive_some(4096)
    return head


@asynccontextmanager
async def _raw_server(answer: Callable[[trio.SocketStream], Awaitable[None]]) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 handling one connection with ``answer``; yields its URL."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]

    async def serve_one() -> None:
        stream = await listeners[0].accept()
        async with stream:
            await answer(stream)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_one)
        yield f"ws://127.0.0.1:{port}/stream?x=1"
        nursery.cancel_scope.cancel()
    for listener in listeners:
        await listener.aclose()


@asynccontextmanager
async def _pair() -> AsyncIterator[tuple[WebSocket, WebSocket]]:
    """(client, server) ends of one connection."""
    ready: list[WebSocket] = []
    accepted = trio.Event()
    done = trio.Event()

    async def answer(stream: trio.SocketStream) -> None:
        ready.append(await accept(stream, await _read_head(stream)))
        accepted.set()
        await done.wait()

    async with _raw_server(answer) as url:
        client = await connect(url, timeout=5)
        await accepted.wait()
        try:
            yield client, ready[0]
        finally:
            done.set()
            await client.aclose()


async def test_messages_flow_both_ways_in_order() -> None:
    with trio.fail_after(10):
        async with _pair() as (client, server):
            await client.send("subscribe")
            await client.send(b"\x00binary")
            got: list[bytes] = []
            while len(got) < 2:
                got += await server.receive()
            assert got == [b"subscribe", b"\x00binary"]
            for i in range(5000):
                server.buffer(f'{{"n":{i}}}' + "x" * (i % 300))
            received: list[bytes] = []
            async with trio.open_nursery() as nursery:
                nursery.start_soon(server.flush)  # about 0.8 MB: more than the socket buffers
                while len(received) < 5000:
                    received += await client.receive()
            assert received == [(f'{{"n":{i}}}' + "x" * (i % 300)).encode() for i in range(5000)]


async def test_pings_either_way_return_when_their_pong_arrives() -> None:
    with trio.fail_after(10):
        async with _pair() as (client, server), trio.open_nursery() as nursery:
            # Receiving ends answer pings and note pongs on the way.
            nursery.start_soon(server.receive)
            nursery.start_soon(client.receive)
            await client.ping()
            await server.ping()  # venues ping too (Binance: every 3 minutes); the client answers
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("who", ["server", "client"])
async def test_the_close_handshake_carries_code_and_reason(who: str) -> None:
    with trio.fail_after(10):
        async with _pair() as (client, server):
            closer, other = (server, client) if who == "server" else (client, server)
            if who == "server":
                server.buffer("last words")
                await server.flush()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(closer.aclose, 1001, "going away")
                messages: list[bytes] = []
                with pytest.raises(ConnectionClosed) as caught:
                    while True:
                        messages += await other.receive()
            assert (caught.value.code, caught.value.reason, caught.value.by_peer) == (1001, "going away", True)
            assert messages == ([b"last words"] if who == "server" else [])
            assert closer.closed is not None and closer.closed.code == 1001
            with pytest.raises(ConnectionClosed):
                await other.send("after the close")


async def test_a_ping_waiting_for_its_pong_ends_when_the_connection_does() -> None:
    outcome: list[ConnectionClosed] = []
    with trio.fail_after(10):
        async with _pair() as (client, _server):

            async def pinger() -> None:
                try:
                    await client.ping()  # nobody reads at the server: no pong
                except ConnectionClosed as exc:
                    outcome.append(exc)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(pinger)
                await trio.testing.wait_all_tasks_blocked()
                client.disconnect_timeout = 0.05  # the server will not answer the close either
                await client.aclose(1001, "leaving")
    assert [(e.code, e.reason) for e in outcome] == [(1001, "leaving")]


async def test_a_connection_dropped_without_a_close_frame_is_1006() -> None:
    with trio.fail_after(10):
        async with _pair() as (client, server):
            await server.stream.aclose()
            with pytest.raises(ConnectionClosed) as caught:
                await client.receive()
            assert caught.value.code == 1006


async def test_messages_before_a_close_in_the_same_read_are_delivered_first() -> None:
    wire = FrameProtocol(client=False, extensions=[])

    async def answer(stream: trio.SocketStream) -> None:
        head = await _read_head(stream)
        ws = await accept(stream, head)
        # One write: two messages and the close frame (the client gets them in one read).
        await stream.send_all(bytes(wire.send_data("a", True) + wire.send_data("b", True) + wire.close(1000, "end")))
        await ws.receive()  # the client's close answer

    with trio.fail_after(10):
        async with _raw_server(answer) as url:
            client = await connect(url, timeout=5)
            got: list[bytes] = []
            with pytest.raises(ConnectionClosed) as caught:
                while True:
                    got += await client.receive()
            assert got == [b"a", b"b"]
            assert (caught.value.code, caught.value.reason) == (1000, "end")


async def test_frames_sent_with_the_upgrade_answer_are_not_lost() -> None:
    async def answer(stream: trio.SocketStream) -> None:
        class Joined:  # accept() writes its answer through this: the first frame joins it
            async def send_all(self, data: bytes) -> None:
                await stream.send_all(bytes(data) + b"\x81\x05hello")

        await accept(Joined(), await _read_head(stream))  # type: ignore[arg-type]
        await trio.sleep_forever()

    with trio.fail_after(10):
        async with _raw_server(answer) as url:
            client = await connect(url, timeout=5)
            assert await client.receive() == [b"hello"]
            await client.stream.aclose()


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        (b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n", HandshakeRejected, "HTTP 503"),
        (b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
         b"sec-websocket-accept: wrong\r\n\r\n", HandshakeError, "accept"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", HandshakeError, "bad upgrade answer"),
    ],
)
async def test_a_failed_upgrade_says_why(answer: bytes, error: type, words: str) -> None:
    async def reply(stream: trio.SocketStream) -> None:
        await _read_head(stream)
        await stream.send_all(answer)
        await trio.sleep_forever()

    with trio.fail_after(10):
        async with _raw_server(reply) as url:
            with pytest.raises(error, match=words):
                await connect(url, timeout=5)


async def test_a_silent_server_times_the_connect_out() -> None:
    async def silent(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    with trio.fail_after(10):
        async with _raw_server(silent) as url:
            with pytest.raises(trio.TooSlowError):
                await connect(url, timeout=0.2)


async def test_a_protocol_violation_closes_with_1002_and_tells_the_peer() -> None:
    with trio.fail_after(10):
        async with _pair() as (client, server):
            await server.stream.send_all(b"\xc1\x01x")  # reserved bit set: no extension was agreed
            async with trio.open_nursery() as nursery:
                peer: list[ConnectionClosed] = []

                async def server_reads() -> None:
                    try:
                        await server.receive()
                    except ConnectionClosed as exc:
                        peer.append(exc)

                nursery.start_soon(server_reads)
                with pytest.raises(ConnectionClosed) as caught:
                    await client.receive()
            assert caught.value.code == 1002 and "reserved" in caught.value.reason and not caught.value.by_peer
            assert peer and peer[0].code == 1002


async def test_not_a_websocket_url() -> None:
    with pytest.raises(ValueError, match="not a ws"):
        await connect("http://127.0.0.1:1/", timeout=1)


@asynccontextmanager
async def _tls_server(ca: trustme.CA) -> AsyncIterator[str]:
    """A wss:// server on 127.0.0.1 (certificate for "localhost" from ``ca``) that sends
    one message to whoever connects."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)

    async def answer(stream: trio.SocketStream) -> None:
        tls = trio.SSLStream(stream, context, server_side=True)
        try:
            await tls.do_handshake()
            ws = await accept(tls, await _read_head(tls))  # type: ignore[arg-type]
            await ws.send("over TLS")
            await trio.sleep_forever()
        except trio.BrokenResourceError:
            pass  # a client that refused our certificate

    async with _raw_server(answer) as url:
        yield url.replace("ws://127.0.0.1", "wss://localhost")


async def test_wss_verifies_the_certificate() -> None:
    ca = trustme.CA()
    with trio.fail_after(10):
        async with _tls_server(ca) as url:
            trusting = ssl.create_default_context()
            ca.configure_trust(trusting)
            client = await connect(url, trusting, timeout=5)
            assert await client.receive() == [b"over TLS"]
            await client.stream.aclose()
        async with _tls_server(ca) as url:
            # The default context does not know this CA: refused, and said so.
            with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
                await connect(url, timeout=5)
