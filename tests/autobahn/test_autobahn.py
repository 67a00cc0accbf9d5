"""botkit's WebSocket client against the Autobahn|Testsuite fuzzing server (517 cases:
framing, pings, fragmentation, UTF-8, close handling, limits, permessage-deflate).

The suite runs under Python 2.7; ``.ci/run`` installs it into ``.autobahn/`` (or point
``BOTKIT_AUTOBAHN_PYTHON`` at a Python 2.7 that has ``autobahntestsuite``). Run with
``pytest -m autobahn tests/autobahn``: it takes a few minutes, so the default run
leaves it out.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import trio

from .client import run

ROOT = Path(__file__).resolve().parents[2]
PYTHON27 = os.environ.get("BOTKIT_AUTOBAHN_PYTHON") or str(ROOT / ".autobahn" / "bin" / "python")
#: The ``websockets`` library's client, measured by the same run (see the closing note
#: of the issue): 496 OK. botkit must do at least as well, and fail nothing.
WEBSOCKETS_OK = 496

pytestmark = [pytest.mark.autobahn, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


def summary(index: Path, agent: str) -> Counter[str]:
    """Behaviour -> number of cases, from the fuzzing server's report."""
    cases = json.loads(index.read_text())[agent]
    return Counter(case["behavior"] for case in cases.values())


async def test_the_client_passes_the_autobahn_testsuite(tmp_path: Path) -> None:
    if not Path(PYTHON27).exists():
        pytest.skip(f"no Python 2.7 with autobahntestsuite at {PYTHON27} (.ci/run installs it under pyenv's 2.7)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"url": f"ws://127.0.0.1:{port}", "outdir": str(tmp_path / "reports"),
                                "cases": os.environ.get("BOTKIT_AUTOBAHN_CASES", "*").split(","),
                                "exclude-cases": [], "exclude-agent-cases": {}}))
    log = tmp_path / "fuzzingserver.log"
    server = subprocess.Popen([PYTHON27, "-u", str(Path(__file__).with_name("fuzzingserver.py")), str(spec)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    listening = trio.Event()

    async def drain() -> None:
        # Read everything the server prints (a full pipe would stall it) into its log.
        assert server.stdout is not None
        with log.open("wb") as out:
            while line := await trio.to_thread.run_sync(server.stdout.readline, abandon_on_cancel=True):
                out.write(line)
                if b"will run" in line:
                    listening.set()
        listening.set()  # it exited: the wait below sees why

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            try:
                with trio.fail_after(60):
                    await listening.wait()
                assert server.poll() is None, f"the fuzzing server exited: {log.read_text()[-2000:]}"
                with trio.fail_after(1800):  # 517 cases; 13-25 minutes on a slow day of a 2-core VM
                    cases = await run(f"ws://127.0.0.1:{port}", "botkit")
            finally:
                # Inside the nursery: the server's exit ends drain's read, so a timeout
                # above fails the test instead of leaving the nursery waiting on it.
                server.kill()
    finally:
        server.wait(timeout=30)
    result = summary(tmp_path / "reports" / "index.json", "botkit")
    print(f"autobahn: {cases} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(result.items())), file=sys.stderr)
    assert result["FAILED"] == 0 and result["UNIMPLEMENTED"] == 0, result
    if "BOTKIT_AUTOBAHN_CASES" not in os.environ:
        assert result["OK"] >= WEBSOCKETS_OK, result
