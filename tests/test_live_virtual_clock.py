"""The live path's timeouts follow the event loop's clock: on trio's virtual clock a feed
that goes silent is found stale, closed and reconnected after its default timeouts (10 s
idle, 5 s for the pong), in a fraction of a second of real time."""

from __future__ import annotations

import time

import anyio
import pytest
import trio.testing
from anyio.abc import SocketAttribute, SocketStream

import botkit
from botkit.sources._wsconn import ConnectionClosed, accept

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    # Jump the clock when every task has waited 20 ms of real time (loopback I/O included).
    return "trio", {"clock": trio.testing.MockClock(autojump_threshold=0.02)}


async def test_a_silent_feed_is_stale_after_its_timeouts_on_a_virtual_clock() -> None:
    connections: list[float] = []

    async def silent(stream: SocketStream) -> None:
        async with stream:
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive(4096)
            ws = await accept(stream, head)
            connections.append(anyio.current_time())
            try:
                await ws.stream.receive()  # answer nothing: no frames, no pongs
                await anyio.sleep_forever()
            except (ConnectionClosed, anyio.EndOfStream, anyio.BrokenResourceError):
                pass

    class Watch(botkit.Strategy):
        channels = ("trades",)

        def __init__(self) -> None:
            self.downs: list[str] = []

        def on_status(self, status: botkit.FeedStatus) -> None:
            if status.state is botkit.ConnectionState.DOWN:
                self.downs.append(status.reason)
                self.stop("seen the feed go stale")

    listener = (await anyio.create_tcp_listener(local_host="127.0.0.1")).listeners[0]
    port = listener.extra(SocketAttribute.local_port)
    strategy = Watch()
    started, real = anyio.current_time(), time.monotonic()
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, silent)
        source = botkit.WebSocketSource(f"ws://127.0.0.1:{port}/stream", backfill=False)
        with anyio.fail_after(120):  # virtual seconds
            summary = await botkit.Engine(strategy, source).run()
        tg.cancel_scope.cancel()
    assert strategy.downs and "stale" in strategy.downs[0], strategy.downs
    assert summary.stale_detections == 1
    waited = anyio.current_time() - started
    assert 15 <= waited < 60  # idle 10 s + pong 5 s of loop time ...
    assert time.monotonic() - real < 10  # ... in far less real time
    assert len(connections) >= 1
