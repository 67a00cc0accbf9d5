"""A progress bar for long replays (terminal only), run as a task in the engine's group."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from ..sources import EventSource

__all__ = ["progress_monitor"]

_REFRESH_S = 0.2


def progress_monitor(source: EventSource) -> Callable[[], Coroutine[Any, Any, None]]:
    """A monitor task that draws ``source.progress()`` on stderr until cancelled."""

    async def monitor() -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        columns = (TextColumn("replay"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
        # auto_refresh off: rich would start a refresh thread; this task drives it instead.
        with Progress(*columns, console=Console(file=sys.stderr), auto_refresh=False, transient=True) as bar:
            task = bar.add_task("replay", total=None)
            while True:
                progress = source.progress()
                if progress is not None:
                    bar.update(task, completed=progress[0], total=progress[1] or None, refresh=True)
                await anyio.sleep(_REFRESH_S)

    return monitor
