"""The dashboard's ASGI app (Starlette): the page, the JSON API under ``/api/``, the
Server-Sent Events stream and the actions.

Every request needs the run's token (``Authorization: Bearer TOKEN`` or ``?token=``),
the page's included, or gets 401. Actions are POST only: a GET changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._publisher import Publisher
from ._settings import Listener
from ._state import StateView
from ._static import CHART_SCRIPTS, CHART_STYLE, static_text

__all__ = ["ACTIONS", "API", "create_app", "page_html"]

#: The API, as ``GET /api/`` lists it: path -> what it answers.
API = {
    "GET /api/status": "mode, strategy, venues, uptime, event counters and rate, feed health per venue",
    "GET /api/portfolio": "equity, return, realised P&L, fees, cash per venue, open positions",
    "GET /api/orders": "open orders",
    "GET /api/fills?limit=N": "the most recent fills (default 50, at most 1000), newest last",
    "GET /api/risk": "paused, kill switch, active halts, the last 50 halts, the limits",
    "GET /api/equity": "the equity and price series (bounded; [ms, value] points)",
    "GET /api/snapshot": "status, portfolio, orders, fills and risk in one answer",
    "GET /api/stream": "Server-Sent Events: a 'state' event per update (the snapshot and new series points)",
    "POST /api/actions/pause": "refuse new orders until resumed (working orders stay)",
    "POST /api/actions/resume": "lift the pause",
    "POST /api/actions/cancel-all": "cancel every open order (trading goes on)",
    "POST /api/actions/kill": "the kill switch: cancel every open order, halt trading for the run",
}
ACTIONS = ("pause", "resume", "cancel-all", "kill")
_MAX_FILLS = 1_000
_NO_STORE = {"Cache-Control": "no-store"}
_encode = msgspec.json.Encoder().encode


def _script_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def page_html() -> tuple[str, str]:
    """The page with its styles and scripts inline (one request, no CDN: it works
    offline), and the Content-Security-Policy allowing exactly those scripts."""
    scripts = [static_text(name) for name in (*CHART_SCRIPTS, "app.js")]
    css = static_text(CHART_STYLE) + static_text("style.css")
    body = static_text("index.html")
    html = body.replace("/*STYLE*/", css).replace(
        "<!--SCRIPTS-->", "".join(f"<script>{script}</script>" for script in scripts))
    policy = ("default-src 'none'; connect-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; "
              f"script-src {' '.join(_script_hash(s) for s in scripts)}; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")
    return html, policy


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encode(content)


class TokenGuard:
    """401 for any request without the token; the token never reaches a log or answer."""

    def __init__(self, app: ASGIApp, listener: Listener) -> None:
        self.app = app
        self.listener = listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self._authorised(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSON({"error": "unauthorized: pass the run's token as 'Authorization: Bearer TOKEN' or ?token="},
                        status_code=401, headers={"WWW-Authenticate": 'Bearer realm="botkit"', **_NO_STORE})
        await response(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                kind, _, given = value.decode("latin-1").partition(" ")
                if kind.lower() == "bearer" and self.listener.accepts(given.strip()):
                    return True
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return any(self.listener.accepts(given) for given in query.get("token", ()))


def create_app(view: StateView, publisher: Publisher, listener: Listener,
               actions: dict[str, Callable[[], dict[str, Any]]]) -> ASGIApp:
    """The app: ``actions`` maps each of :data:`ACTIONS` to what it does (the engine's
    methods), returning what the answer says."""
    html, policy = page_html()
    page_headers = {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer",
                    "X-Content-Type-Options": "nosniff", **_NO_STORE}

    async def page(request: Request) -> Response:
        return HTMLResponse(html, headers=page_headers)

    async def index(request: Request) -> Response:
        return JSON({"endpoints": API}, headers=_NO_STORE)

    def section(read: Callable[[], Any]) -> Callable[[Request], Any]:
        async def answer(request: Request) -> Response:
            return JSON(read(), headers=_NO_STORE)
        return answer

    async def fills(request: Request) -> Response:
        text = request.query_params.get("limit", "50")
        if not text.isdigit() or not 0 < int(text) <= _MAX_FILLS:
            return JSON({"error": f"limit must be 1 to {_MAX_FILLS}, got {text!r}"}, status_code=400)
        return JSON(view.fills(int(text)), headers=_NO_STORE)

    async def stream(request: Request) -> Response:
        async def lines() -> AsyncIterator[bytes]:
            async for message in publisher.messages():
                yield b"event: state\ndata: " + message + b"\n\n"

        return StreamingResponse(lines(), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no", **_NO_STORE})

    async def act(request: Request) -> Response:
        name = request.path_params["name"]
        action = actions.get(name)
        if action is None:
            return JSON({"error": f"no action {name!r}; actions: {', '.join(ACTIONS)}"}, status_code=404)
        answer = action()
        publisher.kick()
        return JSON({"action": name, **answer}, headers=_NO_STORE)

    routes = [
        Route("/", page),
        Route("/api", index),
        Route("/api/", index),
        Route("/api/status", section(view.status)),
        Route("/api/portfolio", section(view.portfolio)),
        Route("/api/orders", section(view.orders)),
        Route("/api/fills", fills),
        Route("/api/risk", section(view.risk)),
        Route("/api/equity", section(view.series)),
        Route("/api/snapshot", section(view.snapshot)),
        Route("/api/stream", stream),
        Route("/api/actions/{name}", act, methods=["POST"]),
    ]
    return TokenGuard(Starlette(routes=routes), listener)
