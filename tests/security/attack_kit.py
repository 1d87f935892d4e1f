"""Tools for the attack suite: raw token building, keys, the four ways a request is run.

Every attack request goes through the public API (``Gate.authenticate`` and
the decorators' ``check_access`` rule), the WSGI adapter around a Flask app,
the ASGI adapter around a Starlette app and Django's middleware in Django's
own WSGI handler; each path reports the same ``Outcome`` so one table of
expectations serves all four.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import get_default_algorithms

from jwtgate import AuthError, Gate, require_auth, require_roles
from jwtgate.context import ANONYMOUS, PREFLIGHT_AUTH, RequestAuth, reset_auth, set_auth
from jwtgate.sources import MappingView
from jwtgate.testing import TokenFactory
from tests.asgi_helpers import http_scope, run

NOW = 1_800_000_000

#: Every call of a protected view, whichever path made it.
VIEW_CALLS: list[str] = []


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def js(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sign_raw(
    alg: str, key: Any, header: bytes | dict[str, Any], payload: bytes | dict[str, Any]
) -> str:
    """A compact JWS over exactly these header and payload bytes (no defaults added)."""
    h = header if isinstance(header, bytes) else js(header)
    p = payload if isinstance(payload, bytes) else js(payload)
    signing_input = f"{b64(h)}.{b64(p)}".encode()
    if alg.startswith("HS"):
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        signature = hmac.new(key, signing_input, digest).digest()
    else:
        signature = get_default_algorithms()[alg].sign(signing_input, key)
    return f"{signing_input.decode()}.{b64(signature)}"


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(js(header))}.{b64(js(payload))}.{b64(signature)}"


class Clock:
    def __init__(self) -> None:
        self.now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Keys:
    """The honest issuers' factories and an attacker's own keys, made once per session."""

    rs: TokenFactory
    es: TokenFactory
    hs: TokenFactory
    ps: TokenFactory
    other_rs: TokenFactory
    attacker_rsa: rsa.RSAPrivateKey
    attacker_ec: ec.EllipticCurvePrivateKey

    def claims(self, factory: TokenFactory | None = None, **overrides: Any) -> dict[str, Any]:
        payload = (factory or self.rs).claims(sub="user-1", roles=["reader"])
        payload.update(overrides)
        return {k: v for k, v in payload.items() if v is not _DROP}

    def header(self, factory: TokenFactory | None = None, **overrides: Any) -> dict[str, Any]:
        f = factory or self.rs
        header: dict[str, Any] = {"alg": f.algorithm, "typ": "JWT", "kid": f.kid}
        header.update(overrides)
        return {k: v for k, v in header.items() if v is not _DROP}

    def good(
        self,
        factory: TokenFactory | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token the factory's honest key signed: header and claims exactly as asked."""
        f = factory or self.rs
        return sign_raw(
            f.algorithm, f.signing_key, self.header(f, **(header or {})), self.claims(f, **claims)
        )


_DROP = object()
#: Pass as a claim or header value to leave the member out.
DROP: Any = _DROP


@dataclass(frozen=True)
class Req:
    """One request: its headers, query and method, and the token that must never leak."""

    headers: tuple[tuple[str, str], ...] = ()
    query: str = ""
    method: str = "GET"
    canary: str | None = None


def bearer(token: str, **kw: Any) -> Req:
    return Req(headers=(("Authorization", f"Bearer {token}"),), canary=token, **kw)


@dataclass
class Outcome:
    status: int
    challenge: str | None
    body: dict[str, Any] | None
    text: str


# --- the protected views -----------------------------------------------------------------


def _record(path: str) -> None:
    VIEW_CALLS.append(path)


@require_auth
def api_auth_view() -> None:
    _record("api:auth")


@require_roles("admin")
def api_admin_view() -> None:
    _record("api:admin")


def run_api(gate: Gate, req: Req, route: str) -> Outcome:
    """``Gate.authenticate`` then the decorator, as an adapter would run them."""
    view = MappingView(list(req.headers), query_string=req.query, method=req.method)
    if req.method == "OPTIONS" and view.header_values("access-control-request-method"):
        auth = PREFLIGHT_AUTH  # as both adapters: a CORS preflight is anonymous, unread
    else:
        try:
            user = gate.authenticate(view)
            auth = RequestAuth(user=user if user is not None else ANONYMOUS)
        except AuthError as exc:
            auth = RequestAuth(error=exc)
    token = set_auth(auth)
    try:
        (api_admin_view if route == "admin" else api_auth_view)()
    except AuthError as exc:
        return Outcome(exc.status, exc.challenge(), json.loads(exc.body()), exc.body().decode())
    finally:
        reset_auth(token)
    return Outcome(200, None, None, "")


def flask_app(gate: Gate) -> Any:
    from flask import Flask

    from jwtgate.wsgi import GateMiddleware

    app = Flask("attack")

    # OPTIONS listed, as a Django function view accepts every method: a forged
    # CORS preflight must reach no protected view.
    @app.route("/auth", methods=["GET", "POST", "OPTIONS"])
    @require_auth
    def auth() -> str:
        _record("wsgi:auth")
        return "ok"

    @app.route("/admin", methods=["GET", "POST", "OPTIONS"])
    @require_roles("admin")
    def admin() -> str:
        _record("wsgi:admin")
        return "ok"

    app.wsgi_app = GateMiddleware(app.wsgi_app, gate)  # type: ignore[method-assign]
    return app


def run_wsgi(gate: Gate, req: Req, route: str) -> Outcome:
    # use_cookies=False: the client's own cookie jar would replace the Cookie header.
    client = flask_app(gate).test_client(use_cookies=False)
    response = client.open(
        f"/{route}", method=req.method, headers=list(req.headers), query_string=req.query
    )
    text = response.get_data(as_text=True)
    body = response.get_json(silent=True)
    return Outcome(
        response.status_code,
        response.headers.get("WWW-Authenticate"),
        body,
        text + str(list(response.headers.items())),
    )


def starlette_app(gate: Gate) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from jwtgate.asgi import GateMiddleware

    @require_auth
    async def auth(request: Request) -> PlainTextResponse:
        _record("asgi:auth")
        return PlainTextResponse("ok")

    @require_roles("admin")
    async def admin(request: Request) -> PlainTextResponse:
        _record("asgi:admin")
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/auth", auth, methods=["GET", "POST", "OPTIONS"]),
            Route("/admin", admin, methods=["GET", "POST", "OPTIONS"]),
        ],
        middleware=[Middleware(GateMiddleware, gate=gate)],
    )


def run_asgi(gate: Gate, req: Req, route: str) -> Outcome:
    scope = http_scope(req.headers, method=req.method, path=f"/{route}", query=req.query)
    result = run(starlette_app(gate), scope)
    body: dict[str, Any] | None
    try:
        body = result.json()
    except ValueError:
        body = None
    return Outcome(
        result.status,
        result.headers.get("www-authenticate"),
        body,
        result.body.decode("utf-8", "replace") + str(result.headers),
    )


@functools.cache
def django_urls() -> ModuleType:
    """The URLconf of the Django path (a module object: Django caches resolvers by it)."""
    from django.http import HttpResponse
    from django.urls import path

    @require_auth
    def auth(request: Any) -> HttpResponse:
        _record("django:auth")
        return HttpResponse("ok")

    @require_roles("admin")
    def admin(request: Any) -> HttpResponse:
        _record("django:admin")
        return HttpResponse("ok")

    module = ModuleType("attack_urls")
    module.urlpatterns = [path("auth", auth), path("admin", admin)]  # type: ignore[attr-defined]
    return module


def run_django(gate: Gate, req: Req, route: str) -> Outcome:
    """Django's own WSGI handler, ``jwtgate.django.GateMiddleware`` its only middleware."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings
    from werkzeug.test import EnvironBuilder

    from tests.django_project import configure

    configure()
    environ = EnvironBuilder(
        path=f"/{route}",
        method=req.method,
        headers=list(req.headers),
        query_string=req.query,
        base_url="http://localhost/",
    ).get_environ()
    started: list[str] = []
    headers: list[tuple[str, str]] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> None:
        started.append(status)
        headers.extend(response_headers)

    with override_settings(
        MIDDLEWARE=["jwtgate.django.GateMiddleware"],
        ROOT_URLCONF=django_urls(),
        JWTGATE_GATE=gate,
        JWTGATE_NETLIFY_JWT_SECRET=None,
        ALLOWED_HOSTS=["localhost"],
    ):
        result = WSGIHandler()(environ, start_response)
        raw = b"".join(result)
        result.close()
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    challenge = next((v for n, v in headers if n.lower() == "www-authenticate"), None)
    return Outcome(int(started[0][:3]), challenge, body, text + str(headers))


RUNNERS: dict[str, Callable[[Gate, Req, str], Outcome]] = {
    "api": run_api,
    "wsgi": run_wsgi,
    "asgi": run_asgi,
    "django": run_django,
}


# --- what must not happen ------------------------------------------------------------------


@dataclass
class Watch:
    """Outbound connections attempted and every log record emitted while it was on."""

    connections: list[Any] = field(default_factory=list)
    records: list[logging.LogRecord] = field(default_factory=list)

    def log_text(self) -> str:
        parts = []
        for record in self.records:
            parts.append(record.getMessage())
            parts.append(repr(record.args))
            if record.exc_info and record.exc_info[1] is not None:
                parts.append(repr(record.exc_info[1]))
            if record.exc_text:
                parts.append(record.exc_text)
        return "\n".join(parts)


class _Capture(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@contextmanager
def watch(allowed: Callable[[Any], bool] = lambda address: False) -> Iterator[Watch]:
    """Record (and, unless ``allowed``, refuse) every outbound connect; capture all logs."""
    seen = Watch()
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        seen.connections.append(address)
        if not allowed(address):
            raise OSError("outbound connection blocked by the attack suite")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        seen.connections.append(address)
        if not allowed(address):
            raise OSError("outbound connection blocked by the attack suite")
        return original_connect_ex(self, address)

    handler = _Capture(seen.records)
    root = logging.getLogger()
    old_level = root.level
    jwtgate_logger = logging.getLogger("jwtgate")
    old_jwtgate_level = jwtgate_logger.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    jwtgate_logger.setLevel(logging.DEBUG)
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
        root.removeHandler(handler)
        root.setLevel(old_level)
        jwtgate_logger.setLevel(old_jwtgate_level)
