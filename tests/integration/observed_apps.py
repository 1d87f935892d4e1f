"""Apps the multi-process, logging and metrics tests serve with gunicorn and uvicorn.

Configured by environment variables the tests set: ``TEST_SECRET`` (the
HS256 secret of the test issuer), ``TEST_REDIS_URL``, ``TEST_PREFIX`` and
``TEST_ON_ERROR`` (the revocation store), ``TEST_JWKS_URL`` (an issuer
whose keys are fetched), ``TEST_DEBUG`` (the jwtgate logger at DEBUG).
Every app answers ``/health`` without a token, ``/me`` with its process id
and the user's subject (``require_auth``), and ``POST /logout`` revokes the
request's token through the store.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from jwtgate import Gate, Issuer, require_auth
from jwtgate.remote import RemoteOptions

ISSUER = "https://issuer.test/"
AUDIENCE = "api"


def _issuer() -> Issuer:
    jwks_url = os.environ.get("TEST_JWKS_URL")
    if jwks_url:
        return Issuer(
            ISSUER,
            algorithms=["ES256"],
            audience=AUDIENCE,
            jwks_url=jwks_url,
            name="test",
            remote=RemoteOptions(timeout=0.5),
        )
    return Issuer(
        ISSUER,
        algorithms=["HS256"],
        audience=AUDIENCE,
        secret=os.environ["TEST_SECRET"],
        name="test",
    )


def _store() -> Any:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        return None
    from jwtgate.revocation import RedisRevocations

    return RedisRevocations(
        url,
        prefix=os.environ.get("TEST_PREFIX", "jwtgate:"),
        on_error=os.environ.get("TEST_ON_ERROR", "deny"),  # type: ignore[arg-type]
        timeout=0.3,
        heartbeat=0.2,
    )


def _gate(observer: Any = None) -> tuple[Gate, Any]:
    if os.environ.get("TEST_DEBUG"):
        logging.getLogger("jwtgate").setLevel(logging.DEBUG)
    store = _store()
    sources = ["bearer", "cookie:session"]
    return Gate(issuers=[_issuer()], sources=sources, is_revoked=store, observer=observer), store


def flask_app() -> Any:
    """The Flask app, for gunicorn."""
    from flask import Flask, jsonify, request

    from jwtgate.wsgi import GateMiddleware

    gate, store = _gate()
    app = Flask(__name__)

    @app.get("/health")
    def health() -> Any:
        return {"pid": os.getpid()}

    @app.get("/me")
    @require_auth
    def me() -> Any:
        return jsonify(pid=os.getpid(), sub=request.environ["jwtgate.user"].subject)

    @app.post("/me")
    @require_auth
    def change_me() -> Any:
        return jsonify(pid=os.getpid())

    @app.post("/logout")
    @require_auth
    def logout() -> Any:
        store.revoke(request.environ["jwtgate.user"])
        return jsonify(pid=os.getpid())

    app.wsgi_app = GateMiddleware(app.wsgi_app, gate)  # type: ignore[method-assign]
    return _wsgi_with_pid(app)


def starlette_app() -> Any:
    """The Starlette app, for uvicorn (``--factory``)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from jwtgate.asgi import GateMiddleware

    observer = None
    registry = None
    if os.environ.get("TEST_PROMETHEUS"):
        from prometheus_client import CollectorRegistry

        from jwtgate.prometheus import PrometheusObserver

        registry = CollectorRegistry()
        observer = PrometheusObserver(registry=registry)
    gate, store = _gate(observer)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"pid": os.getpid()})

    @require_auth
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"pid": os.getpid(), "sub": request.user.subject})

    @require_auth
    async def logout(request: Request) -> JSONResponse:
        await store.revoke_async(request.user)
        return JSONResponse({"pid": os.getpid()})

    routes = [
        Route("/health", health),
        Route("/me", me, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    if registry is not None:
        from prometheus_client import make_asgi_app
        from starlette.routing import Mount

        app.router.routes.append(Mount("/metrics", make_asgi_app(registry)))
    app.add_middleware(GateMiddleware, gate=gate)
    return _asgi_with_pid(app)


def _wsgi_with_pid(app: Any) -> Any:
    """Every response, refusals included, says which worker process answered."""

    def with_pid(environ: Any, start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            pid = str(os.getpid())  # per request: with --preload the app is built before fork
            return start_response(status, [*headers, ("X-Worker-Pid", pid)], *exc_info)

        return app(environ, start)

    return with_pid


def _asgi_with_pid(app: Any) -> Any:
    async def with_pid(scope: Any, receive: Any, send: Any) -> None:
        async def send_with_pid(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    *message.get("headers", []),
                    (b"x-worker-pid", str(os.getpid()).encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_pid)

    return with_pid
