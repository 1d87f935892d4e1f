"""Per-request cost of jwtgate's WSGI adapter in a Flask app, called in process.

Compares, in one run, a bare Flask view with the same view behind
``jwtgate.wsgi.GateMiddleware`` on a cache hit and on a miss (a gate with its
cache off, so every request verifies), and behind flask-jwt-extended's
``@jwt_required()`` and behind Authlib's ``ResourceProtector`` with a JWT bearer
validator when those packages are installed (the ``bench`` extra), for HS256,
RS256, ES256 and EdDSA (``--alg`` picks some). The "(alone)" rows time the
middleware around the smallest WSGI app instead of Flask, whose 40 µs and
their noise would hide a difference of a microsecond. The indented "+ ..."
rows under the first algorithm's hit add an observer or a revocation store
to that gate (``_observers.py``): their delta is against that hit, so it is
what the observer or store costs a cache hit.

Method: the environ is built once with werkzeug's ``EnvironBuilder`` and copied
per request, with a freshly built ``Authorization`` value each time (a server
makes a new string per request, so the token's hash is never cached); the body
is drained and closed. The bare app gets the same header. Cases run interleaved
(repetition 1 of every case, then repetition 2 ...); each repetition runs about
``--seconds`` seconds; the table gives medians, and each delta and ratio is the
median of per-repetition deltas and ratios, so the cases it compares were
measured back to back under the same noise.

    python benchmarks/bench_wsgi.py [--reps 9] [--seconds 0.15] [--alg RS256 ...]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from _observers import observed_gates  # benchmarks/ is on sys.path when a script here runs
from flask import Flask
from werkzeug.test import EnvironBuilder

from jwtgate import Gate, require_auth
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def realistic_claims() -> dict[str, Any]:
    """A payload shaped like a Netlify/GoTrue access token (about 420 bytes of JSON)."""
    return {
        "sub": str(uuid.uuid4()),
        "email": "ada.lovelace@example.com",
        "role": "authenticated",
        "app_metadata": {
            "provider": "email",
            "providers": ["email", "github"],
            "roles": ["admin", "editor", "subscriber"],
        },
        "user_metadata": {"full_name": "Ada Lovelace", "locale": "en-GB", "plan": "pro"},
        "session_id": str(uuid.uuid4()),
    }


def flask_app(name: str) -> Flask:
    app = Flask(name)
    app.config["PROPAGATE_EXCEPTIONS"] = True
    return app


def bare_app() -> WSGIApp:
    app = flask_app("bare")

    @app.get("/")
    def index() -> str:
        return "ok"

    return app


def jwtgate_app(
    tokens: TokenFactory, *, cache: bool, decorated: bool, sources: list[str] | None = None
) -> WSGIApp:
    app = flask_app("jwtgate")

    def index() -> str:
        return "ok"

    app.add_url_rule("/", "index", require_auth(index) if decorated else index)
    gate = Gate(
        issuers=[tokens.issuer_config()], cache_size=10_000 if cache else 0, sources=sources
    )
    app.wsgi_app = GateMiddleware(app.wsgi_app, gate)  # type: ignore[method-assign]
    return app


def floor_app(token: str) -> WSGIApp:
    """The least a caching middleware can do: a reference, not a usable authenticator.

    Header lookup, ``Bearer`` check, slice, ``dict`` hit, expiry check against
    ``time.time()``, one environ key: what a cache hit costs before any
    feature (context for decorators, revocation, several sources) is added.
    """
    app = flask_app("floor")

    @app.get("/")
    def index() -> str:
        return "ok"

    cache = {token: ({"sub": "x"}, time.time() + 3600)}
    inner = app.wsgi_app

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        header = environ.get("HTTP_AUTHORIZATION")
        if header is not None and header[:7] == "Bearer ":
            entry = cache.get(header[7:])
            if entry is not None and entry[1] > time.time():
                environ["floor.claims"] = entry[0]
        return inner(environ, start_response)

    app.wsgi_app = middleware  # type: ignore[method-assign]
    return app


def fje_app(tokens: TokenFactory) -> WSGIApp | None:
    try:
        from flask_jwt_extended import JWTManager, jwt_required
    except ImportError:
        return None
    app = flask_app("fje")
    app.config["JWT_ALGORITHM"] = tokens.algorithm
    app.config["JWT_DECODE_AUDIENCE"] = tokens.audience
    app.config["JWT_DECODE_ISSUER"] = tokens.issuer
    if tokens.algorithm.startswith("HS"):
        app.config["JWT_SECRET_KEY"] = tokens.secret
    else:
        app.config["JWT_PUBLIC_KEY"] = tokens.public_pem()
        app.config["JWT_PRIVATE_KEY"] = "unused"
    JWTManager(app)

    @app.get("/")
    @jwt_required()
    def index() -> str:
        return "ok"

    return app


def authlib_app(tokens: TokenFactory) -> WSGIApp | None:
    """Authlib's ResourceProtector with a bearer validator that verifies the JWT per request."""
    try:
        from authlib.integrations.flask_oauth2 import ResourceProtector
        from authlib.jose import JsonWebToken
        from authlib.jose.errors import JoseError
        from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
    except ImportError:
        return None

    key = tokens.secret if tokens.algorithm.startswith("HS") else tokens.public_pem()
    decoder = JsonWebToken([tokens.algorithm])
    options = {
        "iss": {"essential": True, "value": tokens.issuer},
        "aud": {"essential": True, "value": tokens.audience},
        "exp": {"essential": True},
    }

    class JWTValidator(BearerTokenValidator):  # type: ignore[misc]
        def authenticate_token(self, token_string: str) -> Any:
            try:
                claims = decoder.decode(token_string, key, claims_options=options)
                claims.validate()
            except JoseError:
                return None
            return claims

        def validate_token(self, token: Any, scopes: Any, request: Any) -> None:
            if token is None:
                raise InvalidTokenError()

    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(JWTValidator())
    app = flask_app("authlib")

    @app.get("/")
    @require_oauth()
    def index() -> str:
        return "ok"

    return app


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


def call(app: WSGIApp, environ: dict[str, Any]) -> str:
    status = ""

    def start(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        nonlocal status
        status = s

    result = app(environ, start)
    b"".join(result)
    getattr(result, "close", lambda: None)()
    return status


FLASK_BARE = "Flask bare view"
PLAIN_BARE = "(alone) a plain WSGI app"


class Case:
    """One app and the request it is timed with (the token in a header or a cookie)."""

    def __init__(
        self,
        name: str,
        app: WSGIApp,
        token: str,
        bad_token: str | None,
        *,
        cookie: str = "",
        base: str = FLASK_BARE,
    ) -> None:
        self.name = name
        self.base = base
        self.app = app
        self.token = token
        self.bad_token = bad_token
        self.key, self.prefix = (
            ("HTTP_COOKIE", f"{cookie}=")
            if cookie
            else (
                "HTTP_AUTHORIZATION",
                "Bearer ",
            )
        )
        self.environ = EnvironBuilder(path="/").get_environ()
        self.times: list[float] = []

    def check(self) -> None:
        """Refuse to time a case that does not do what its name says."""
        environ = dict(self.environ, **{self.key: self.prefix + self.token})
        assert call(self.app, environ).startswith("200"), self.name
        if self.bad_token is not None:
            environ = dict(self.environ, **{self.key: self.prefix + self.bad_token})
            status = call(self.app, environ)
            assert status[:3] in ("401", "422"), (self.name, status)

    def run(self, n: int) -> float:
        """Seconds per request over ``n`` requests."""
        app, base, token, key, prefix = self.app, self.environ, self.token, self.key, self.prefix
        started = time.perf_counter()
        for _ in range(n):
            environ = base.copy()
            environ[key] = prefix + token  # a new string, as from a server
            result = app(environ, start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return (time.perf_counter() - started) / n


def plain_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The smallest WSGI app: around it, a middleware's own cost is all that is timed."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def build_cases(algorithms: list[str]) -> list[Case]:
    cases = [
        Case(FLASK_BARE, bare_app(), "x", None),
        Case(PLAIN_BARE, plain_app, "x", None, base=PLAIN_BARE),
    ]
    for index, algorithm in enumerate(algorithms):
        tokens = TokenFactory(algorithm)
        claims = realistic_claims()
        token = tokens.token(**claims)
        bad = tokens.tampered(**claims)
        gate = Gate(issuers=[tokens.issuer_config()])
        hit = f"(alone) + jwtgate hit, {algorithm}"
        cases.append(Case(hit, GateMiddleware(plain_app, gate), token, None, base=PLAIN_BARE))
        if index == 0:  # an observer or a store on the same hit: its delta is its own cost
            cases += [
                Case(f"  {label}", GateMiddleware(plain_app, observed), token, None, base=hit)
                for label, observed in observed_gates(tokens).items()
            ]
        cases += [
            Case(
                f"(ref) minimal dict-cache middleware, {algorithm}", floor_app(token), token, None
            ),
            Case(
                f"jwtgate hit, {algorithm}, middleware only",
                jwtgate_app(tokens, cache=True, decorated=False),
                token,
                None,
            ),
            Case(
                f"jwtgate hit, {algorithm}, @require_auth",
                jwtgate_app(tokens, cache=True, decorated=True),
                token,
                bad,
            ),
            Case(
                f"jwtgate miss (cache off), {algorithm}, @require_auth",
                jwtgate_app(tokens, cache=False, decorated=True),
                token,
                bad,
            ),
        ]
        fje = fje_app(tokens)
        if fje is not None:
            cases.append(Case(f"flask-jwt-extended, {algorithm}", fje, token, bad))
        authlib = authlib_app(tokens)
        if authlib is not None:
            cases.append(Case(f"Authlib ResourceProtector, {algorithm}", authlib, token, bad))
    netlify = TokenFactory.netlify()
    claims = realistic_claims()
    token = netlify.token(**claims)
    cases.append(
        Case(
            "jwtgate hit, netlify preset, nf_jwt cookie",
            jwtgate_app(netlify, cache=True, decorated=True),
            token,
            netlify.tampered(**claims),
            cookie="nf_jwt",
        )
    )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9, help="interleaved repetitions")
    parser.add_argument("--seconds", type=float, default=0.15, help="per case and repetition")
    parser.add_argument("--alg", action="append", help="HS256, RS256, ES256, EdDSA (default: all)")
    args = parser.parse_args()

    cases = build_cases(args.alg or ["HS256", "RS256", "ES256", "EdDSA"])
    for case in cases:
        case.check()
        case.run(200)  # warm up
    counts = {c.name: max(200, int(args.seconds / c.run(500))) for c in cases}

    for _ in range(args.reps):
        for case in cases:
            case.times.append(case.run(counts[case.name]))

    versions = ", ".join(
        f"{p} {version(p)}" for p in ("flask", "werkzeug", "pyjwt", "cryptography", "jwtgate")
    )
    print(f"Python {platform.python_version()} on {platform.machine()}; {versions}")
    print(f"{args.reps} interleaved repetitions of about {args.seconds} s per case; medians.\n")
    times = {case.name: case.times for case in cases}
    header = f"{'case':<48} {'µs/request':>10} {'Δ vs bare µs':>13} {'x bare':>7} {'spread':>13}"
    print(header)
    print("-" * len(header))
    for case in cases:
        bare = times[case.base]
        median = statistics.median(case.times)
        delta = statistics.median(t - b for t, b in zip(case.times, bare, strict=True))
        ratio = statistics.median(t / b for t, b in zip(case.times, bare, strict=True))
        spread = f"{min(case.times) / median - 1:+.0%}/{max(case.times) / median - 1:+.0%}"
        row = f"{case.name:<48} {median * 1e6:>10.2f} {delta * 1e6:>+13.2f} {ratio:>7.3f}"
        print(f"{row} {spread:>13}")
    if not any(c.name.startswith("flask-jwt-extended") for c in cases):
        print("\n(flask-jwt-extended is not installed: pip install flask-jwt-extended to compare)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
