"""Our WebSocket connection (both ends) over loopback TCP: messages, pings, the close
handshake both ways, lost connections, rejected upgrades, protocol violations and TLS."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest
import trustme
from anyio.abc import SocketAttribute, SocketStream
from anyio.streams.tls import TLSStream
from wsproto.frame_protocol import FrameProtocol

from botkit.sources._wsconn import ConnectionClosed, HandshakeError, HandshakeRejected, WebSocket, accept, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["trio", "asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)  # the connection is anyio's: both backends


async def _read_head(stream: SocketStream) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.receive(4096)
    return head


@asynccontextmanager
async def _raw_server(answer: Callable[[SocketStream], Awaitable[None]]) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 handling one connection with ``answer``; yields its URL."""
    listener = (await anyio.create_tcp_listener(local_host="127.0.0.1")).listeners[0]
    port = listener.extra(SocketAttribute.local_port)

    async def serve_one() -> None:
        stream = await listener.accept()
        async with stream:
            await answer(stream)

    async with anyio.create_task_group() as nursery:
        nursery.start_soon(serve_one)
        yield f"ws://127.0.0.1:{port}/stream?x=1"
        nursery.cancel_scope.cancel()
    await listener.aclose()


@asynccontextmanager
async def _pair() -> AsyncIterator[tuple[WebSocket, WebSocket]]:
    """(client, server) ends of one connection."""
    ready: list[WebSocket] = []
    accepted = anyio.Event()
    done = anyio.Event()

    async def answer(stream: SocketStream) -> None:
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
    with anyio.fail_after(10):
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
            async with anyio.create_task_group() as nursery:
                nursery.start_soon(server.flush)  # about 0.8 MB: more than the socket buffers
                while len(received) < 5000:
                    received += await client.receive()
            assert received == [(f'{{"n":{i}}}' + "x" * (i % 300)).encode() for i in range(5000)]


async def test_pings_either_way_return_when_their_pong_arrives() -> None:
    with anyio.fail_after(10):
        async with _pair() as (client, server), anyio.create_task_group() as nursery:
            # Receiving ends answer pings and note pongs on the way.
            nursery.start_soon(server.receive)
            nursery.start_soon(client.receive)
            await client.ping()
            await server.ping()  # venues ping too (Binance: every 3 minutes); the client answers
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("who", ["server", "client"])
async def test_the_close_handshake_carries_code_and_reason(who: str) -> None:
    with anyio.fail_after(10):
        async with _pair() as (client, server):
            closer, other = (server, client) if who == "server" else (client, server)
            if who == "server":
                server.buffer("last words")
                await server.flush()
            async with anyio.create_task_group() as nursery:
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
    with anyio.fail_after(10):
        async with _pair() as (client, _server):

            async def pinger() -> None:
                try:
                    await client.ping()  # nobody reads at the server: no pong
                except ConnectionClosed as exc:
                    outcome.append(exc)

            async with anyio.create_task_group() as nursery:
                nursery.start_soon(pinger)
                await anyio.wait_all_tasks_blocked()
                client.disconnect_timeout = 0.05  # the server will not answer the close either
                await client.aclose(1001, "leaving")
    assert [(e.code, e.reason) for e in outcome] == [(1001, "leaving")]


async def test_a_connection_dropped_without_a_close_frame_is_1006() -> None:
    with anyio.fail_after(10):
        async with _pair() as (client, server):
            await server.stream.aclose()
            with pytest.raises(ConnectionClosed) as caught:
                await client.receive()
            assert caught.value.code == 1006


async def test_messages_before_a_close_in_the_same_read_are_delivered_first() -> None:
    wire = FrameProtocol(client=False, extensions=[])

    async def answer(stream: SocketStream) -> None:
        head = await _read_head(stream)
        ws = await accept(stream, head)
        # One write: two messages and the close frame (the client gets them in one read).
        await stream.send(bytes(wire.send_data("a", True) + wire.send_data("b", True) + wire.close(1000, "end")))
        with pytest.raises(ConnectionClosed):
            await ws.receive()  # the client's close answer

    with anyio.fail_after(10):
        async with _raw_server(answer) as url:
            client = await connect(url, timeout=5)
            got: list[bytes] = []
            with pytest.raises(ConnectionClosed) as caught:
                while True:
                    got += await client.receive()
            assert got == [b"a", b"b"]
            assert (caught.value.code, caught.value.reason) == (1000, "end")


async def test_frames_sent_with_the_upgrade_answer_are_not_lost() -> None:
    async def answer(stream: SocketStream) -> None:
        class Joined:  # accept() writes its answer through this: the first frame joins it
            async def send(self, data: bytes) -> None:
                await stream.send(bytes(data) + b"\x81\x05hello")

        await accept(Joined(), await _read_head(stream))  # type: ignore[arg-type]
        await anyio.sleep_forever()

    with anyio.fail_after(10):
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
    async def reply(stream: SocketStream) -> None:
        await _read_head(stream)
        await stream.send(answer)
        await anyio.sleep_forever()

    with anyio.fail_after(10):
        async with _raw_server(reply) as url:
            with pytest.raises(error, match=words):
                await connect(url, timeout=5)


async def test_a_silent_server_times_the_connect_out() -> None:
    async def silent(stream: SocketStream) -> None:
        await anyio.sleep_forever()

    with anyio.fail_after(10):
        async with _raw_server(silent) as url:
            with pytest.raises(TimeoutError):
                await connect(url, timeout=0.2)


async def test_a_protocol_violation_closes_with_1002_and_tells_the_peer() -> None:
    with anyio.fail_after(10):
        async with _pair() as (client, server):
            await server.stream.send(b"\xc1\x01x")  # reserved bit set: no extension was agreed
            async with anyio.create_task_group() as nursery:
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

    async def answer(stream: SocketStream) -> None:
        try:
            tls = await TLSStream.wrap(stream, server_side=True, ssl_context=context)
            ws = await accept(tls, await _read_head(tls))
            await ws.send("over TLS")
            await anyio.sleep_forever()
        except (anyio.BrokenResourceError, anyio.EndOfStream, ssl.SSLError):
            pass  # a client that refused our certificate

    async with _raw_server(answer) as url:
        yield url.replace("ws://127.0.0.1", "wss://localhost")


async def test_wss_verifies_the_certificate() -> None:
    ca = trustme.CA()
    with anyio.fail_after(10):
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


async def test_the_upgrade_names_the_client_and_sends_extra_headers() -> None:
    heads: list[bytes] = []

    async def answer(stream: SocketStream) -> None:
        head = await _read_head(stream)
        heads.append(head)
        await accept(stream, head)
        await anyio.sleep_forever()

    with anyio.fail_after(10):
        async with _raw_server(answer) as url:
            client = await connect(url, timeout=5, headers=[("X-MBX-APIKEY", "not-a-secret")])
            await client.stream.aclose()
    head = heads[0].lower()
    assert b"\r\nuser-agent: botkit/" in head and b"\r\nx-mbx-apikey: not-a-secret\r\n" in head
    assert b"\r\nsec-websocket-extensions: permessage-deflate" in head  # offered by default


@pytest.mark.parametrize(("value", "seconds"), [(b"7", 7.0), (b"Wed, 21 Oct 2015 07:28:00 GMT", 0.0), (b"soon", None)])
async def test_a_429_says_how_long_to_wait(value: bytes, seconds: float | None) -> None:
    async def reply(stream: SocketStream) -> None:
        await _read_head(stream)
        await stream.send(b"HTTP/1.1 429 Too Many Requests\r\nretry-after: " + value + b"\r\ncontent-length: 0\r\n\r\n")
        await anyio.sleep_forever()

    with anyio.fail_after(10):
        async with _raw_server(reply) as url:
            with pytest.raises(HandshakeRejected) as caught:
                await connect(url, timeout=5)
    assert caught.value.status_code == 429 and caught.value.retry_after_s == seconds


async def test_redirects_are_followed_to_the_websocket_they_name() -> None:
    targets: list[bytes] = []

    async def there(stream: SocketStream) -> None:
        head = await _read_head(stream)
        targets.append(head.split(b" ", 2)[1])
        ws = await accept(stream, head)
        await ws.send("arrived")
        await anyio.sleep_forever()

    async def moved(stream: SocketStream) -> None:
        await _read_head(stream)
        await stream.send(b"HTTP/1.1 308 Permanent Redirect\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n")

    with anyio.fail_after(10):
        async with _raw_server(there) as final:
            async def redirect(stream: SocketStream) -> None:
                await _read_head(stream)
                await stream.send(b"HTTP/1.1 301 Moved Permanently\r\nlocation: " + final.encode()
                                      + b"\r\ncontent-length: 0\r\n\r\n")

            async with _raw_server(redirect) as first:
                client = await connect(first, timeout=5)
                assert await client.receive() == [b"arrived"]
                await client.stream.aclose()
        assert targets == [b"/stream?x=1"]
        async with _raw_server(moved) as url:
            with pytest.raises(HandshakeError, match="more than 0 redirects .*/elsewhere"):
                await connect(url, timeout=5, max_redirects=0)


async def test_permessage_deflate_is_used_when_the_server_accepts_it() -> None:
    from wsproto import ConnectionType
    from wsproto.events import AcceptConnection, Request
    from wsproto.extensions import PerMessageDeflate
    from wsproto.handshake import H11Handshake

    echoed: list[str] = []

    async def answer(stream: SocketStream) -> None:
        handshake = H11Handshake(ConnectionType.SERVER)
        handshake.receive_data(await _read_head(stream))
        request = next(e for e in handshake.events() if isinstance(e, Request))
        assert any("permessage-deflate" in str(x) for x in request.extensions)
        pmd = PerMessageDeflate()
        await stream.send(handshake.send(AcceptConnection(extensions=[pmd])))
        proto = FrameProtocol(client=False, extensions=[pmd])
        await stream.send(bytes(proto.send_data("squeezed " * 50, True) + proto.send_data(b"\x00bin", True)))
        while not echoed:
            proto.receive_bytes(await stream.receive(4096))
            for frame in proto.received_frames():
                assert frame.payload and frame.message_finished
                echoed.append(frame.payload)
        await anyio.sleep_forever()

    with anyio.fail_after(10):
        async with _raw_server(answer) as url:
            client = await connect(url, timeout=5)
            assert client.compressed
            got: list[bytes] = []
            while len(got) < 2:
                got += await client.receive()
            assert got == [("squeezed " * 50).encode(), b"\x00bin"]
            await client.send("back, compressed")
            while not echoed:
                await anyio.sleep(0)
            await client.stream.aclose()
    assert echoed == ["back, compressed"]


async def test_messages_before_a_protocol_error_are_delivered_then_it_closes() -> None:
    with anyio.fail_after(10):
        async with _pair() as (client, server):
            await server.stream.send(b"\x81\x01a\x81\x01b\x83\x00")  # two messages, then opcode 3
            assert await client.receive() == [b"a", b"b"]
            with pytest.raises(ConnectionClosed) as caught:
                await client.receive()
            assert caught.value.code == 1002
