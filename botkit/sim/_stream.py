"""A trio stream wrapper the simulator controls: stalls, aborts."""

from __future__ import annotations

import trio

__all__ = ["ControlledStream"]


class ControlledStream(trio.abc.Stream):
    """Wraps a TCP stream so the simulator can misbehave on purpose.

    :param inner: the accepted TCP stream.
    """

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.stalled = False

    def stall(self) -> None:
        """From now on, neither read nor write: the peer's pings go unanswered."""
        self.stalled = True

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self.stalled:
            await trio.sleep_forever()
        return bytes(await self.inner.receive_some(max_bytes))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.stalled:
            await trio.sleep_forever()
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.inner.aclose()
