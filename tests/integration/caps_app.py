"""A Netlify-style app (the ``nf_jwt`` cookie, then Bearer) as WSGI and ASGI, for real servers.

``/me`` answers the user's subject; ``/spa/me`` is the same behind a gate with
``one_token=False`` and the Bearer header first. Keyed with the public
development secret: tests only.
"""

from __future__ import annotations

from typing import Any

from jwtgate import Gate, require_auth
from jwtgate.asgi import GateMiddleware as ASGIGateMiddleware
from jwtgate.asgi import Receive, Scope, Send
from jwtgate.context import current_auth
from jwtgate.presets import netlify
from jwtgate.testing import DEVELOPMENT_SECRET
from jwtgate.wsgi import GateMiddleware as WSGIGateMiddleware

strict = Gate(issuers=[netlify(jwt_secret=DEVELOPMENT_SECRET)])
spa = Gate(
    issuers=[netlify(jwt_secret=DEVELOPMENT_SECRET)],
    sources=["bearer", "cookie:nf_jwt"],
    one_token=False,
)


@require_auth
def _subject() -> bytes:
    auth = current_auth()
    assert auth is not None
    return str(auth.user.subject).encode()


def _wsgi_endpoint(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = _subject()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


_wsgi_strict = WSGIGateMiddleware(_wsgi_endpoint, strict)
_wsgi_spa = WSGIGateMiddleware(_wsgi_endpoint, spa)


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
    spa_path = environ.get("PATH_INFO", "").startswith("/spa/")
    return (_wsgi_spa if spa_path else _wsgi_strict)(environ, start_response)


async def _asgi_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    body = _subject()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_asgi_strict = ASGIGateMiddleware(_asgi_endpoint, strict)
_asgi_spa = ASGIGateMiddleware(_asgi_endpoint, spa)


async def asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    spa_path = scope["path"].startswith("/spa/")
    await (_asgi_spa if spa_path else _asgi_strict)(scope, receive, send)
