"""A byte stream wrapper the simulator controls: stalls, aborts."""

from __future__ import annotations

from typing import Any

import anyio
from anyio.abc import ByteStream

__all__ = ["ControlledStream"]


class ControlledStream(ByteStream):
    """Wraps a TCP stream so the simulator can misbehave on purpose.

    :param inner: the accepted TCP stream.
    """

    def __init__(self, inner: ByteStream) -> None:
        self.inner = inner
        self.stalled = False

    def stall(self) -> None:
        """From now on, neither read nor write: the peer's pings go unanswered."""
        self.stalled = True

    async def receive(self, max_bytes: int = 65536) -> bytes:
        if self.stalled:
            await anyio.sleep_forever()
        return await self.inner.receive(max_bytes)

    async def send(self, item: bytes) -> None:
        if self.stalled:
            await anyio.sleep_forever()
        await self.inner.send(item)

    async def send_eof(self) -> None:
        await self.inner.send_eof()

    async def aclose(self) -> None:
        await self.inner.aclose()

    @property
    def extra_attributes(self) -> Any:
        return self.inner.extra_attributes
