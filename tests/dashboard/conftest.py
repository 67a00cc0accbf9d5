"""A bot with its dashboard, run as a user runs it: `botkit run ... --dashboard 127.0.0.1:0`
in a process of its own, the URL read from its start line."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
MAKER = str(HERE / "maker.py")
_START = re.compile(r"botkit: dashboard on (http://\S+?)/\?token=(\S+)")


class BotRun:
    """A running bot: its dashboard's base URL and token, its process, its stderr so far."""

    def __init__(self, proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
        self.proc = proc
        self._lines = lines
        self.stderr: list[str] = []
        self.base = self.token = ""
        self.start_line = ""

    def wait_for_start(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            self.stderr.append(line)
            found = _START.search(line)
            if found:
                self.start_line = line.strip()
                self.base, self.token = found.group(1), found.group(2)
                return
        raise AssertionError(f"no dashboard start line: {''.join(self.stderr)[-2000:]}")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **options: Any) -> httpx.Response:
        return httpx.get(self.base + path, headers=self.auth, timeout=10, **options)

    def post(self, path: str) -> httpx.Response:
        return httpx.post(self.base + path, headers=self.auth, timeout=10)

    def until(self, check: Callable[[dict[str, Any]], bool], timeout: float = 40) -> dict[str, Any]:
        """Read the stream until a state passes ``check`` (the run's own pace, no sleeps)."""
        with httpx.stream("GET", self.base + "/api/stream", headers=self.auth, timeout=timeout) as answer:
            assert answer.status_code == 200
            deadline = time.monotonic() + timeout
            for line in answer.iter_lines():
                if line.startswith("data: "):
                    state = json.loads(line[6:])["state"]
                    if check(state):
                        return state
                if time.monotonic() > deadline:
                    break
        raise AssertionError("the state never got there")

    def stop(self, timeout: float = 30) -> str:
        """SIGTERM (a clean stop, as Ctrl-C) and what it printed after."""
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=timeout)
        while not self._lines.empty():
            self.stderr.append(self._lines.get())
        return "".join(self.stderr)


def botkit_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTKIT_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@contextmanager
def bot(args: list[str], env: dict[str, str] | None = None) -> Iterator[BotRun]:
    """``botkit run ARGS`` until the block ends (then stopped with SIGTERM)."""
    proc = subprocess.Popen([sys.executable, "-m", "botkit", "run", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or botkit_env())
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    run = BotRun(proc, lines)
    try:
        run.wait_for_start()
        yield run
    finally:
        run.stop()
        if proc.stdout is not None:
            proc.stdout.close()


def maker_run(*extra: str, speed: str = "10") -> list[str]:
    """The test strategy on the shipped sample, paced (it lasts minutes: the test stops it)."""
    return [MAKER, "--speed", speed, "--dashboard", "127.0.0.1:0", "-q", *extra]
