"""The example as a FastAPI app: the same routes as ``app.py``, with jwtgate's dependencies.

Run it in development mode (it trusts the PUBLIC development secret; never
deploy it like that)::

    EXAMPLE_DEVELOPMENT=1 uvicorn examples.starlette_app.fastapi_app:app

``/docs`` shows the token schemes (Bearer, and the ``nf_jwt`` cookie): paste a
token minted with ``jwtgate mint --netlify ...`` into "Authorize".
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

from jwtgate import User
from jwtgate.fastapi import current_user, install, optional_user, require_roles

from .settings import build_gate, user_json

gate = build_gate()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


app = FastAPI(title="jwtgate example", lifespan=lifespan)
install(app, gate)

CurrentUser = Annotated[User, Depends(current_user)]


@app.get("/", response_class=HTMLResponse)
async def home(user: Annotated[User | None, Depends(optional_user)]) -> str:
    """Public: greets whoever the token says (or a stranger)."""
    who = html.escape(user.display_name) if user else "stranger"
    return (
        f"<!doctype html><title>jwtgate</title><h1>Hello, {who}</h1>"
        '<p><a href="/api/me">/api/me</a> · <a href="/api/admin">/api/admin</a> · '
        '<a href="/docs">/docs</a> · websocket <code>/ws/echo</code></p>'
    )


@app.get("/api/me")
async def me(user: CurrentUser) -> dict[str, object]:
    """Any verified user: who the token says they are."""
    return user_json(user)


@app.get("/api/admin")
async def admin(user: Annotated[User, Depends(require_roles("admin"))]) -> dict[str, object]:
    """Only users with the admin role."""
    return {"admin": True, "sub": user.subject}


@app.websocket("/ws/echo")
async def echo(websocket: WebSocket, user: CurrentUser) -> None:
    """Echoes text for a verified user; anyone else is refused before the handshake completes."""
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{user.subject}: {text}")
    except WebSocketDisconnect:
        pass
