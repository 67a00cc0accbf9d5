"""The hook watchdog: an ``async`` hook that never returns, or a plain hook that blocks the
event loop, is named instead of silently hanging or starving the run.

* **Stuck async hooks.** The runner awaits each async hook inside a cancel scope it
  registers here. A task of the engine's group checks it; past ``hook_timeout_s`` (or one
  second after a stop was asked for) the hook is cancelled, trading halts and the run
  fails, naming the hook.
* **Blocking plain hooks.** A plain hook cannot be interrupted, and while it blocks no
  task runs, so a thread does this part, outside the loop: it samples the loop
  thread's stack (``sys._current_frames``) and, when the same call of a strategy hook
  is still at the same instruction after ``block_warn_s``, warns once per hook with its
  name. Nothing is added to the per-event path.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType
from typing import Any

import anyio

__all__ = ["BLOCK_WARN_S", "HOOK_TIMEOUT_S", "Watchdog"]

log = logging.getLogger("botkit.watchdog")

#: Default: how long an async hook may await before it is cancelled.
HOOK_TIMEOUT_S = 10.0
#: Default: how long one call of a plain hook may hold the event loop before a warning.
BLOCK_WARN_S = 0.5
#: After a stop was asked for, how long a running async hook still gets.
STOP_GRACE_S = 1.0


class Watchdog:
    """Watches one strategy's hooks (see the module docstring).

    :param hooks: hook name -> its function's code object (what the stack sampler
        looks for).
    :param on_stuck: called with a reason when an async hook is cancelled (the engine
        halts trading with it).
    """

    def __init__(self, hooks: dict[str, CodeType], *, hook_timeout_s: float = HOOK_TIMEOUT_S,
                 block_warn_s: float = BLOCK_WARN_S, on_stuck: Callable[[str], None] | None = None) -> None:
        self.hook_timeout_s = hook_timeout_s
        self.block_warn_s = block_warn_s
        self._codes = {code: name for name, code in hooks.items()}
        self._on_stuck = on_stuck
        #: The async hook being awaited: (name, monotonic start, its cancel scope).
        self._awaiting: tuple[str, float, anyio.CancelScope] | None = None
        self._stop_at = 0.0
        #: Hooks that blocked the loop, each said once; and why a hook was cancelled.
        self.blocked: dict[str, float] = {}
        self.cancelled = ""

    def awaiting(self, hook: str, scope: anyio.CancelScope | None) -> None:
        """The runner starts (``scope``) or ends (None) awaiting async ``hook``."""
        self._awaiting = None if scope is None else (hook, time.monotonic(), scope)

    def stopping(self) -> None:
        """A stop was asked for: a running async hook has :data:`STOP_GRACE_S` left."""
        if not self._stop_at:
            self._stop_at = time.monotonic()

    async def run(self) -> None:
        """The watchdog task (cancelled with the engine's task group)."""
        stop = threading.Event()
        sampler = threading.Thread(target=self._sample, args=(threading.get_ident(), stop),
                                   name="botkit-watchdog", daemon=True)
        if self.block_warn_s > 0 and self._codes:
            sampler.start()
        try:
            period = min(0.25, self.hook_timeout_s / 4)
            while True:
                await anyio.sleep(period)
                self._check(time.monotonic())
        finally:
            stop.set()

    def _check(self, now: float) -> None:
        current = self._awaiting
        if current is None:
            return
        hook, since, scope = current
        limit = self.hook_timeout_s
        if self._stop_at:
            limit = min(limit, max(self._stop_at - since, 0.0) + STOP_GRACE_S)
        if now - since <= limit:
            return
        self.cancelled = (f"did not return within {now - since:.1f} s "
                          f"({'after the stop' if self._stop_at else f'hook timeout {self.hook_timeout_s:g} s'})")
        log.error("%s %s: cancelling it, trading halted", hook, self.cancelled)
        if self._on_stuck is not None:
            self._on_stuck(f"{hook} {self.cancelled}")
        scope.cancel()

    def _sample(self, loop_thread: int, stop: threading.Event) -> None:
        """The sampler thread: the same hook call at the same instruction for longer than
        ``block_warn_s`` is a blocking call."""
        step = max(self.block_warn_s / 5, 0.01)
        seen: tuple[str, int, int] | None = None
        since = 0.0
        while not stop.wait(step):
            frame: Any = sys._current_frames().get(loop_thread)
            found = None
            while frame is not None:  # innermost first: the hook nearest the blocking call
                name = self._codes.get(frame.f_code)
                if name is not None:
                    found = (name, id(frame), frame.f_lasti)
                    break
                frame = frame.f_back
            del frame
            now = time.monotonic()
            if found != seen:
                seen, since = found, now
                continue
            if found is not None and now - since >= self.block_warn_s and found[0] not in self.blocked:
                self.blocked[found[0]] = now - since
                log.warning("%s has blocked the event loop for %.1f s (time.sleep, a blocking socket or file "
                            "call?): nothing else runs meanwhile; await anyio.sleep(...) or "
                            "anyio.to_thread.run_sync(...) instead", found[0], now - since)
