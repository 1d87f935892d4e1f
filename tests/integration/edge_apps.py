"""Apps served by real servers in ``test_edges_servers.py``; configured by environment variables.

``EDGES_SECRET`` is the Netlify-style HMAC secret the apps trust (tokens in the
``nf_jwt`` cookie or a Bearer header).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from jwtgate import Gate, presets, require_auth, require_roles

_lock = threading.Lock()
_ran: list[str] = []


def _gate() -> Gate:
    return Gate(issuers=[presets.netlify(jwt_secret=os.environ["EDGES_SECRET"])])


def _record(what: str) -> None:
    with _lock:
        _ran.append(what)


# --- a plain WSGI app whose views accept every method, as Django function views do ------


@require_roles("admin")
def _admin_users(environ: dict[str, Any]) -> list[str]:
    _record(f"{environ['REQUEST_METHOD']} /admin/users")
    return ["ada", "grace"]


@require_roles("admin")
def _delete_user(environ: dict[str, Any]) -> str:
    _record(f"{environ['REQUEST_METHOD']} /admin/delete")
    return "deleted"


def plain_wsgi() -> Any:
    """``/admin/users`` and ``/admin/delete`` (any method, role admin), ``/ran`` (what ran)."""
    from jwtgate.wsgi import GateMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/admin/users":
            body: Any = _admin_users(environ)
        elif path == "/admin/delete":
            body = _delete_user(environ)
        elif path == "/ran":
            with _lock:
                body = list(_ran)
        else:
            body = "public"
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return GateMiddleware(app, _gate())


# --- Flask websockets under gunicorn: simple-websocket and flask-sock --------------------------


def flask_websockets() -> Any:
    """Websocket routes of both kinds, each sending the user's data after the handshake.

    ``/ws/feed``: a Flask route with ``@require_auth`` that opens the websocket
    itself (``simple_websocket.Server.accept``), so a refusal is an HTTP answer
    before the handshake. ``/ws/sock``: flask-sock's ``@sock.route``, whose
    handler runs after the handshake and reads ``current_user``;
    ``/ws/sock-guarded``: the same with ``@require_auth`` on the handler.
    """
    import simple_websocket
    from flask import Flask, request
    from flask_sock import Sock

    from jwtgate.flask import JWTGate, current_user

    app = Flask("edges_ws")
    JWTGate(app, _gate())
    sock = Sock(app)

    @app.get("/")
    def index() -> str:
        return "up"

    @app.route("/ws/feed", websocket=True)
    @require_auth
    def feed() -> Any:
        ws = simple_websocket.Server.accept(request.environ)
        try:
            ws.send(json.dumps({"sub": current_user.subject, "data": "the user's data"}))
            ws.receive(timeout=5)
        except simple_websocket.ConnectionClosed:
            pass
        finally:
            ws.close()
        return ""

    @sock.route("/ws/sock")
    def sock_feed(ws: Any) -> None:
        if not current_user.is_authenticated:
            ws.close(reason=1008, message="authentication required")
            return
        ws.send(json.dumps({"sub": current_user.subject, "data": "the user's data"}))
        ws.receive(timeout=5)

    @sock.route("/ws/sock-guarded")
    @require_auth
    def sock_guarded(ws: Any) -> None:
        ws.send(json.dumps({"sub": current_user.subject, "data": "the user's data"}))
        ws.receive(timeout=5)

    return app


# --- apps with the decorator-order trap ---------------------------------------------------------


def trapped_flask() -> Any:
    """A Flask app whose ``/admin`` has ``@require_roles`` above ``@app.get``."""
    from flask import Flask

    from jwtgate.flask import JWTGate

    app = Flask("trapped")
    JWTGate(app, _gate())

    @app.get("/")
    def index() -> str:
        return "public"

    @require_roles("admin")
    @app.get("/admin")
    def admin() -> str:
        _record("GET /admin")
        return "the admin data"

    return app


def trapped_fastapi() -> Any:
    """A FastAPI app whose ``/admin`` has ``@require_roles`` above ``@app.get``."""
    from fastapi import FastAPI

    from jwtgate.asgi import GateMiddleware

    app = FastAPI()

    @require_roles("admin")
    @app.get("/admin")
    async def admin() -> dict[str, str]:
        _record("GET /admin")
        return {"secret": "the admin data"}

    app.add_middleware(GateMiddleware, gate=_gate())
    return app
