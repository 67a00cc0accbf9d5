"""The stream's side of the dashboard: the state, encoded once per update and handed to
every open stream.

Nothing queues: a stream that fell behind (a slow page) gets the newest state and its
series again in full, so no client can make the bot hold more than one update.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import msgspec

from ._state import StateView

__all__ = ["Publisher"]

_encode = msgspec.json.Encoder().encode


class Publisher:
    """Hands each update to the streams waiting for it.

    :param view: what is published.
    """

    def __init__(self, view: StateView) -> None:
        self.view = view
        #: Updates published so far.
        self.updates = 0
        #: Streams open now.
        self.clients = 0
        self._state = b"{}"
        # The series' totals and generations at the last update, and at the one before.
        self._marks = self._previous = (0, 0, 0, 0)
        self._changed = anyio.Event()
        self._kicked = anyio.Event()
        #: The run ended: the streams have the final state and end.
        self.closed = False

    def update(self) -> None:
        """Take the view's state now and wake every stream (the ticker calls this)."""
        view = self.view
        view.sample()
        self._previous = self._marks
        self._marks = (view.equity.total, view.price.total, view.equity.generation, view.price.generation)
        self.updates += 1
        if self.clients:
            self._state = _encode(view.snapshot())
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    def close(self) -> None:
        """The run is over: one last update (marked ``final``), then every stream ends."""
        self.closed = True
        self.update()

    def kick(self) -> None:
        """An action changed the state: update now, not at the next tick."""
        self._kicked.set()

    async def wait_kick(self, seconds: float) -> None:
        """Until :meth:`kick` or ``seconds`` pass (the ticker's sleep)."""
        with anyio.move_on_after(seconds):
            await self._kicked.wait()
        self._kicked = anyio.Event()

    async def messages(self) -> AsyncIterator[bytes]:
        """One stream: the state and the whole series first, then each update with the
        series points added since (or the whole series again after a gap)."""
        view = self.view
        self.clients += 1
        try:
            state = _encode(view.snapshot())  # the shared one is stale while no stream was open
            seen = -1
            while True:
                if seen == self.updates - 1 and self._previous[2:] == self._marks[2:]:
                    equity = view.equity.since(self._previous[0])
                    price = view.price.since(self._previous[1])
                    reset = False
                else:  # the first message, or this stream missed updates: start over
                    equity, price, reset = view.equity.points, view.price.points, True
                seen = self.updates
                series = _encode({"reset": reset, "symbol": view.symbol, "equity": equity, "price": price})
                final = self.closed
                yield b'{"update":%d,"final":%s,"series":%s,"state":%s}' % (
                    seen, b"true" if final else b"false", series, state)
                if final:
                    return
                if seen == self.updates:
                    await self._changed.wait()
                state = self._state
        finally:
            self.clients -= 1
