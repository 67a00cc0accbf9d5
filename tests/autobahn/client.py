"""The Autobahn|Testsuite client run: botkit's WebSocket client echoes every case of a
``wstest -m fuzzingserver`` and asks it to write its report.

``python -m tests.autobahn.client ws://127.0.0.1:9001 [AGENT]``; the report lands in
the fuzzing server's ``outdir`` (``index.json`` per agent). With the agent
``websockets`` it runs the ``websockets`` library's client instead (``pip install
websockets``), the comparison the issue asks for.
"""

from __future__ import annotations

import sys

import anyio
import msgspec

from botkit.sources._wsconn import BinaryMessage, ConnectionClosed, HandshakeError, connect


async def _case(base: str, case: int, agent: str) -> None:
    try:
        ws = await connect(f"{base}/runCase?case={case}&agent={agent}", timeout=30, disconnect_timeout=5)
    except (OSError, HandshakeError):
        return
    try:
        while True:
            for message in await ws.receive():
                if isinstance(message, BinaryMessage):
                    await ws.send(bytes(message))
                else:
                    await ws.send(message.decode())
    except ConnectionClosed:
        pass
    finally:
        await ws.aclose()


async def _text(url: str) -> bytes:
    ws = await connect(url, timeout=30)
    try:
        messages = await ws.receive()
    finally:
        await ws.aclose()
    return bytes(messages[0])


async def run(base: str, agent: str = "botkit") -> int:
    """Run every case; returns how many there were."""
    count = int(msgspec.json.decode(await _text(f"{base}/getCaseCount")))
    for case in range(1, count + 1):
        with anyio.move_on_after(120):
            await _case(base, case, agent)
    ws = await connect(f"{base}/updateReports?agent={agent}", timeout=30)
    try:
        await ws.receive()
    except ConnectionClosed:
        pass
    finally:
        await ws.aclose()
    return count


async def run_websockets(base: str) -> int:
    """The same run with the ``websockets`` library's asyncio client (its defaults,
    permessage-deflate offered, no message size limit)."""
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import WebSocketException

    async with ws_connect(f"{base}/getCaseCount") as ws:
        count = int(await ws.recv())
    for case in range(1, count + 1):
        try:
            async with ws_connect(f"{base}/runCase?case={case}&agent=websockets", max_size=None) as ws:
                async for message in ws:
                    await ws.send(message)
        except (OSError, WebSocketException):
            pass
    async with ws_connect(f"{base}/updateReports?agent=websockets"):
        pass
    return count


if __name__ == "__main__":
    agent = sys.argv[2] if len(sys.argv) > 2 else "botkit"
    if agent == "websockets":
        cases = anyio.run(run_websockets, sys.argv[1], backend="asyncio")
    else:
        cases = anyio.run(run, sys.argv[1], agent, backend="trio")
    print(f"ran {cases} cases")
