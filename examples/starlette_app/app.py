"""The example as a Starlette app: a public page, /api/me, /api/admin and a websocket echo.

Also, as on Netlify: ``_redirects`` gates ``/admin/*`` and ``/members/*`` by
role (the ``/join`` page, with 403 or 401, for everyone else), and
``POST /hooks/identity`` takes Netlify Identity's signed events: a signup with
a company address becomes a member (see ``identity.py``).

Run it in development mode (it trusts the PUBLIC development secret; never
deploy it like that)::

    EXAMPLE_DEVELOPMENT=1 uvicorn examples.starlette_app.app:app

then mint a development token (``jwtgate mint --netlify`` signs with that
secret) and call it::

    TOKEN=$(jwtgate mint --netlify --role admin)
    curl -H "Authorization: Bearer $TOKEN" localhost:8000/api/me
    curl --cookie "nf_jwt=$TOKEN" localhost:8000/api/admin

Set ``JWTGATE_NETLIFY_JWT_SECRET`` (or ``PRIVY_APP_ID``) to trust a real
Netlify site (or Privy app) instead: see ``settings.py``. With neither, and
without ``EXAMPLE_DEVELOPMENT=1``, the app refuses to start.
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from jwtgate import User, require_auth, require_roles
from jwtgate.netlify import redirect_rules
from jwtgate.starlette import gate_middleware

from .identity import RULES_FILE, identity_hooks
from .settings import build_gate, user_json

logger = logging.getLogger("examples.starlette_app")
gate = build_gate()


async def home(request: Request) -> HTMLResponse:
    """Public: greets whoever the token says (or a stranger)."""
    user = request.user
    who = html.escape(user.display_name) if user.is_authenticated else "stranger"
    return HTMLResponse(
        f"<!doctype html><title>jwtgate</title><h1>Hello, {who}</h1>"
        '<p><a href="/api/me">/api/me</a> · <a href="/api/admin">/api/admin</a> · '
        "websocket <code>/ws/echo</code></p>"
    )


@require_auth
async def me(request: Request) -> JSONResponse:
    """Any verified user: who the token says they are."""
    user: User = request.user
    return JSONResponse(user_json(user))


@require_roles("admin")
async def admin(request: Request) -> JSONResponse:
    """Only users with the admin role."""
    return JSONResponse({"admin": True, "sub": request.user.subject})


@require_auth
async def echo(websocket: WebSocket) -> None:
    """Echoes text for a verified user; anyone else is refused before the handshake completes.

    Browsers send the ``nf_jwt`` cookie with the handshake (they cannot set an
    ``Authorization`` header on a websocket), and jwtgate refuses a cookie
    handshake opened by another site's page.
    """
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{websocket.user.subject}: {text}")
    except WebSocketDisconnect:
        pass


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    logger.info("jwtgate example: sources %s", [s.spec for s in gate.sources])
    yield


async def page(request: Request) -> HTMLResponse:
    """/admin/*, /members/* and /join: the _redirects rules decide who sees which."""
    who = html.escape(request.user.display_name) if request.user.is_authenticated else "stranger"
    title = html.escape(request.url.path)
    body = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>Hello, {who}.</p>"
    return HTMLResponse(body)


routes = [
    Route("/", home),
    Route("/api/me", me),
    Route("/api/admin", admin),
    WebSocketRoute("/ws/echo", echo),
    Route("/join", page),
    Route("/admin/{rest:path}", page),
    Route("/members/{rest:path}", page),
]
hooks = identity_hooks()
if hooks is not None:
    routes.append(Route("/hooks/identity", hooks.asgi, methods=["POST"]))

app = Starlette(
    routes=routes,
    middleware=[gate_middleware(gate, rules=redirect_rules(RULES_FILE.read_text()))],
    lifespan=lifespan,
)
