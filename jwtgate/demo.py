"""``jwtgate demo``: a development tool, the example app on 127.0.0.1 trusting the public
development key.

It only ever binds 127.0.0.1, and says on start that anyone can mint tokens
for it: it shows what jwtgate answers, and is never a way to serve an app.

A small WSGI app (werkzeug + ``GateMiddleware`` + ``require_auth`` /
``require_roles``) with the routes of ``examples/flask_app``: ``/`` and
``GET /comments`` (public), ``POST /comments`` and ``/me`` (a logged-in
user), ``/admin`` (role ``admin``). It needs no Flask, so it runs after a
plain ``pip install jwtgate``. On start it prints ``curl`` commands with
development tokens and the status each one answers.
"""

from __future__ import annotations

import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .context import current_auth
from .decorators import require_auth, require_roles
from .errors import MissingToken
from .gate import Gate
from .presets import netlify
from .testing import DEVELOPMENT_SECRET, TokenFactory
from .user import User
from .wsgi import GateMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DemoRequest", "create_app", "demo_requests", "serve"]

MAX_COMMENT = 500
MAX_COMMENTS = 100
#: How long the printed development tokens stay valid.
TOKEN_LIFETIME = 24 * 3600


def _user() -> User:
    # Only called behind require_auth, which has already refused anonymous requests.
    auth = current_auth()
    if auth is None or not isinstance(auth.user, User):  # pragma: no cover - require_auth's job
        raise MissingToken()
    return auth.user


class DemoApp:
    """The blog-with-comments app of ``examples/flask_app``, as plain werkzeug."""

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = [
            {"author": "Ada", "text": "Lovely post!", "at": int(time.time())}
        ]
        self._lock = threading.Lock()
        self._views: dict[str, Callable[[Request], Response]] = {
            "index": self.index,
            "list_comments": self.list_comments,
            "add_comment": self.add_comment,
            "me": self.me,
            "admin": self.admin,
        }
        self.url_map = Map(
            [
                Rule("/", endpoint="index", methods=["GET"]),
                Rule("/comments", endpoint="list_comments", methods=["GET"]),
                Rule("/comments", endpoint="add_comment", methods=["POST"]),
                Rule("/me", endpoint="me", methods=["GET"]),
                Rule("/admin", endpoint="admin", methods=["GET"]),
            ]
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, _ = self.url_map.bind_to_environ(environ).match()
            response = self._views[str(endpoint)](request)
        except HTTPException as error:
            return error(environ, start_response)
        return response(environ, start_response)

    def index(self, request: Request) -> Response:
        """The public page: what this app is and which routes it has."""
        return Response(
            "jwtgate demo: a blog with comments.\n"
            "GET /comments (public), POST /comments (logged in), "
            "GET /me (logged in), GET /admin (role admin)\n",
            content_type="text/plain; charset=utf-8",
        )

    def list_comments(self, request: Request) -> Response:
        """Everyone may read the comments."""
        with self._lock:
            return _json(list(self.comments))

    @require_auth
    def add_comment(self, request: Request) -> Response:
        """A logged-in user adds a comment: JSON ``{"text": "..."}``."""
        data = request.get_json(silent=True) if request.is_json else None
        if not isinstance(data, dict):
            return _json({"error": 'send JSON: {"text": "..."}'}, 415)
        text = data.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_COMMENT:
            return _json({"error": f"text: 1 to {MAX_COMMENT} characters"}, 400)
        user = _user()
        comment = {
            "author": user.display_name,
            "sub": user.subject,
            "text": text.strip(),
            "at": int(time.time()),
        }
        with self._lock:
            self.comments.append(comment)
            del self.comments[:-MAX_COMMENTS]
        return _json(comment, 201)

    @require_auth
    def me(self, request: Request) -> Response:
        """Who the token says you are."""
        user = _user()
        return _json(
            {
                "sub": user.subject,
                "email": user.email,
                "name": user.display_name,
                "roles": sorted(user.roles),
                "source": user.source,
                "expires_at": user.expires_at,
            }
        )

    @require_roles("admin")
    def admin(self, request: Request) -> Response:
        """Admins only."""
        with self._lock:
            count = len(self.comments)
        return _json({"comments": count, "admin": _user().subject})


def _json(value: Any, status: int = 200) -> Response:
    import json

    return Response(json.dumps(value), status=status, content_type="application/json")


def create_app(secret: str = DEVELOPMENT_SECRET) -> WSGIApplication:
    """The demo app behind a gate trusting Netlify-shaped tokens signed with ``secret``."""
    gate = Gate(issuers=[netlify(jwt_secret=secret)])
    return GateMiddleware(DemoApp(), gate)


@dataclass(frozen=True)
class DemoRequest:
    """One printed example: what it shows, the request, and the status it answers."""

    label: str
    method: str
    path: str
    status: int
    token: str | None = None
    body: str | None = None

    def curl(self, base_url: str) -> str:
        """The request as a ready-to-paste ``curl`` command."""
        parts = ["curl", "-i"]
        if self.method != "GET":
            parts += ["-X", self.method]
        if self.token is not None:
            parts += ["-H", f"Authorization: Bearer {self.token}"]
        if self.body is not None:
            parts += ["-H", "Content-Type: application/json", "-d", self.body]
        parts.append(base_url.rstrip("/") + self.path)
        return shlex.join(parts)


def demo_requests(factory: TokenFactory) -> list[DemoRequest]:
    """The examples ``jwtgate demo`` prints, with tokens from ``factory``."""
    life = TOKEN_LIFETIME
    user = factory.token(sub="reader-1", email="reader@example.com", expires_in=life)
    admin = factory.token(
        sub="admin-1", email="admin@example.com", roles=["admin"], expires_in=life
    )
    expired = factory.expired(sub="reader-1", email="reader@example.com")
    forged = factory.tampered(sub="reader-1", email="reader@example.com", expires_in=life)
    return [
        DemoRequest("anonymous: the public page", "GET", "/", 200),
        DemoRequest("anonymous: /me needs a token", "GET", "/me", 401),
        DemoRequest("user: who am I", "GET", "/me", 200, user),
        DemoRequest("user: add a comment", "POST", "/comments", 201, user, '{"text": "Hello!"}'),
        DemoRequest("user: /admin needs role admin", "GET", "/admin", 403, user),
        DemoRequest("admin: the admin page", "GET", "/admin", 200, admin),
        DemoRequest("expired token", "GET", "/me", 401, expired),
        DemoRequest("forged token (payload edited to admin)", "GET", "/admin", 401, forged),
    ]


def serve(port: int, out: TextIO) -> int:
    """Serve the demo on 127.0.0.1:``port`` (0: any free port) until Ctrl-C; returns 0."""
    # Bound here rather than by werkzeug, which answers a busy port with sys.exit(1):
    # an OSError lets the command print its usual one-line error and exit 2.
    with socket.create_server(("127.0.0.1", port)) as listener:
        server = make_server("127.0.0.1", port, create_app(), threaded=True, fd=listener.fileno())
    base_url = f"http://127.0.0.1:{server.port}"
    factory = TokenFactory.netlify(secret=DEVELOPMENT_SECRET)
    print(f"jwtgate demo: serving on {base_url}/  (Ctrl-C to stop)", file=out)
    print(
        "A development tool: it trusts jwtgate's PUBLIC development key (netlify preset), "
        "so anyone can mint tokens for it, and it only listens on 127.0.0.1. "
        "Never use it in production.",
        file=out,
    )
    print(f"Try these (tokens valid for {TOKEN_LIFETIME // 3600} hours):\n", file=out)
    for example in demo_requests(factory):
        print(f"# {example.label} -> {example.status}", file=out)
        print(example.curl(base_url), file=out)
        print(file=out)
    out.flush()
    # werkzeug's serve_forever ends quietly on KeyboardInterrupt (Ctrl-C) and closes the socket.
    server.serve_forever()
    print("jwtgate demo: stopped", file=out)
    return 0
