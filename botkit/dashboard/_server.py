"""The dashboard as one of the engine's tasks: Hypercorn serving the app on the engine's
own event loop (trio or asyncio, whichever the run uses), and the ticker that publishes
the state at a bounded rate.

Example::

    listener = Listener.open(DashboardSettings(port=0))
    dashboard = Dashboard(engine, listener)
    print(listener.start_line())
    await engine.run(services=[dashboard.serve])
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio
import sniffio
from anyio.abc import TaskStatus

from ._app import create_app
from ._publisher import Publisher
from ._settings import DashboardSettings, Listener
from ._state import StateView

if TYPE_CHECKING:
    from .._engine import Engine

__all__ = ["Dashboard"]

log = logging.getLogger("botkit.dashboard")

#: Who pressed the buttons, as the halts, the journal and the logs say.
BY = "dashboard"
#: At the end of the run, how long the server may take to send the final state and stop.
SHUTDOWN_S = 1.0


class Dashboard:
    """Serves a running engine's state and takes the operator's actions.

    :param engine: the engine it shows (its actions go through the engine's methods:
        :meth:`~botkit.Engine.pause`, ``resume``, ``cancel_all``, ``kill_switch``).
    :param listener: the bound socket and its token (:meth:`Listener.open`).
    """

    def __init__(self, engine: Engine, listener: Listener, settings: DashboardSettings | None = None) -> None:
        self.engine = engine
        self.listener = listener
        self.settings = settings or DashboardSettings()
        self.view = StateView(engine)
        self.publisher = Publisher(self.view)
        self.app = create_app(self.view, self.publisher, listener, {
            "pause": self._pause, "resume": self._resume, "cancel-all": self._cancel_all, "kill": self._kill,
        })

    # -- actions (each the engine's own code path: the kill switch is the signal's) ---------

    def _pause(self) -> dict[str, Any]:
        self.engine.pause()  # logged by the risk manager, as every halt
        return {"paused": self.engine.paused}

    def _resume(self) -> dict[str, Any]:
        self.engine.resume()
        return {"paused": self.engine.paused}

    def _cancel_all(self) -> dict[str, Any]:
        return {"cancelled": self.engine.cancel_all(BY)}

    def _kill(self) -> dict[str, Any]:
        self.engine.kill_switch(f"manual ({BY})")
        return {"killed": self.engine.risk.killed}

    # -- the task ------------------------------------------------------------------------

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled (with the engine's task group). The socket listens
        already, so the page can be opened as soon as this has started.

        Hypercorn is not cancelled but told to stop (its asyncio server fails when
        cancelled mid-shutdown): on cancellation the streams get the final state and
        end, then the server shuts down, within :data:`SHUTDOWN_S`.
        """
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"fd://{self.listener.sock.detach()}"]
        config.accesslog = None  # request lines carry ?token=
        config.errorlog = log
        config.include_server_header = False
        config.graceful_timeout = SHUTDOWN_S / 2
        serve: Any
        if sniffio.current_async_library() == "trio":
            from hypercorn.trio import serve
        else:
            from hypercorn.asyncio import serve
        stop, stopped = anyio.Event(), anyio.Event()
        shield = anyio.CancelScope(shield=True)

        async def server() -> None:
            with shield:
                try:
                    await serve(self.app, config, shutdown_trigger=stop.wait)
                finally:
                    stopped.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(server)
            tg.start_soon(self._ticker)
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                self.publisher.close()
                stop.set()
                shield.deadline = anyio.current_time() + SHUTDOWN_S
                with anyio.CancelScope(shield=True):
                    await stopped.wait()

    async def _ticker(self) -> None:
        interval = 1 / self.settings.updates_per_s
        publisher = self.publisher
        while True:
            publisher.update()
            await publisher.wait_kick(interval)
