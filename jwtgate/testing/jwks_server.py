"""A real JWKS endpoint on 127.0.0.1 for tests: rotation, outages, slow and odd answers.

Standard library only (``http.server`` in a thread), bound to 127.0.0.1 on a
port the system picks. It serves a ``TokenFactory``'s public key at
``/jwks.json`` and an OpenID configuration at
``/.well-known/openid-configuration`` that points there. Use it through
``TokenFactory.serve_jwks()``, which stops it on exit.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .factory import TokenFactory

__all__ = ["JWKSServer"]

JWKS_PATH = "/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
_STOP_TIMEOUT = 5.0


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (a refused oversize body) is not an error here."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing: tests assert on what the client saw."""


class _Answer:
    """A canned answer that replaces the JWKS document until cleared."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers)


class JWKSServer:
    """Serves a factory's key set; counts, delays, fails and rotates on demand.

    ``url`` is the JWKS URL, ``discovery_url`` the OpenID configuration whose
    ``issuer`` is ``issuer`` (the factory's by default) and whose ``jwks_uri``
    is ``url``. ``requests`` counts every request so far and ``paths`` lists
    them in order. ``delay`` holds each answer back that many seconds;
    ``fail_next(n)`` answers 500 to the next ``n`` requests; ``rotate()``
    gives the factory a new key and ``kid`` and publishes only that one;
    ``cache_control`` sets the JWKS answer's ``Cache-Control`` header;
    ``extra_keys`` are published after the factory's key; ``respond()``
    replaces the JWKS answer (garbage, redirects, oversize bodies …; a header
    given as ``""`` is left out, so ``{"Content-Length": ""}`` streams the body
    until the connection closes).
    """

    def __init__(self, factory: TokenFactory, *, issuer: str | None = None) -> None:
        self.factory = factory
        self.issuer = issuer if issuer is not None else factory.issuer
        self.delay = 0.0
        self.cache_control: str | None = None
        self.extra_keys: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._failures_left = 0
        self._answers: dict[str, _Answer] = {}
        self._stopping = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread: threading.Thread | None = None
        port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.url = self.base_url + JWKS_PATH
        self.discovery_url = self.base_url + DISCOVERY_PATH

    # --- control -------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """How many requests the server has received so far (any path)."""
        with self._lock:
            return len(self.paths)

    def count(self, path: str) -> int:
        """How many requests asked for ``path`` (``"/jwks.json"`` …)."""
        with self._lock:
            return self.paths.count(path)

    def fail_next(self, n: int = 1) -> None:
        """Answer the next ``n`` requests with 500."""
        with self._lock:
            self._failures_left = n

    def rotate(self) -> None:
        """Give the factory a new signing key and ``kid``; the old key leaves the set."""
        from .factory import generate_key

        with self._lock:
            self.factory.signing_key = generate_key(self.factory.algorithm)
            self.factory.kid = secrets.token_hex(4)

    def respond(
        self,
        body: bytes | str | Mapping[str, Any] | list[Any] | None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        path: str = JWKS_PATH,
    ) -> None:
        """Answer requests for ``path`` (the JWKS by default) with this; ``None`` restores it."""
        with self._lock:
            if body is None:
                self._answers.pop(path, None)
                return
            if isinstance(body, Mapping | list):
                body = json.dumps(body)
            data = body.encode() if isinstance(body, str) else body
            self._answers[path] = _Answer(status, data, headers or {})

    def jwks(self) -> dict[str, Any]:
        """The key set served now."""
        with self._lock:
            return {"keys": [self.factory.public_jwk(), *self.extra_keys]}

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> JWKSServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="jwtgate-jwks-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed answers, close the socket."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(_STOP_TIMEOUT)
        self._httpd.server_close()

    def __enter__(self) -> JWKSServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- answering -----------------------------------------------------------------

    def _answer_for(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.paths.append(path)
            if self._failures_left > 0:
                self._failures_left -= 1
                return 500, b'{"error":"unavailable"}', {}
            answer = self._answers.get(path)
        if answer is not None:
            return answer.status, answer.body, answer.headers
        if path == DISCOVERY_PATH:
            document = {
                "issuer": self.issuer,
                "jwks_uri": self.url,
                "id_token_signing_alg_values_supported": [self.factory.algorithm],
            }
            return 200, json.dumps(document).encode(), {}
        if path != JWKS_PATH:
            return 404, b'{"error":"not found"}', {}
        headers = {"Cache-Control": self.cache_control} if self.cache_control else {}
        return 200, json.dumps(self.jwks()).encode(), headers

    def __repr__(self) -> str:
        return f"JWKSServer({self.url!r}, requests={self.requests})"


def _handler_for(server: JWKSServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            status, body, headers = server._answer_for(self.path.split("?", 1)[0])
            if server.delay > 0 and server._stopping.wait(server.delay):
                return
            self.send_response(status)
            headers = {"Content-Type": "application/json", **headers}
            for name, value in headers.items():
                if value:  # an empty value leaves the header out (e.g. no Content-Length)
                    self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``server.paths`` instead."""

    return Handler
