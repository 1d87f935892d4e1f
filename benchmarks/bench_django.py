"""Per-request cost of ``jwtgate.django.GateMiddleware`` in a Django project, called in process.

Compares, in one run, a Django view behind Django's usual middleware
(session, common, CSRF, auth) with the same project plus jwtgate's Django
middleware on a cache hit and on a miss (``JWTGATE_CACHE_SIZE = 0``: every
request verifies), with a hand-written PyJWT middleware (``jwt.decode`` per
request, what a project writes without a library), and with jwtgate's WSGI
adapter wrapped around Django's WSGI handler (the fast path of the generic
adapter, which cannot render refusals raised in Django views), for one
algorithm (``--alg``, default RS256).

Method (as ``bench_wsgi.py``): one environ built by werkzeug's
``EnvironBuilder``, copied per request with a fresh ``Authorization`` string;
cases interleaved, medians, each delta and ratio the median of per-repetition
deltas and ratios.

    python benchmarks/bench_django.py [--reps 9] [--seconds 0.2] [--alg RS256]
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import django
import jwt
from _common import paired_ratio, spread  # benchmarks/ is on sys.path when a script here runs
from django.conf import settings
from werkzeug.test import EnvironBuilder

from jwtgate import Gate, require_auth
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware as WSGIGateMiddleware

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]
DJANGO_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TOKENS: TokenFactory


def _view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("ok")


_protected = require_auth(_view)


def _pyjwt_view(request: Any) -> Any:
    from django.http import HttpResponse

    if getattr(request, "claims", None) is None:
        return HttpResponse(status=401)
    return HttpResponse("ok")


class PyJWTMiddleware:
    """What a project writes without a library: decode the Bearer token on every request."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        key = TOKENS.secret if TOKENS.algorithm.startswith("HS") else TOKENS.public_key
        self.key = key

    def __call__(self, request: Any) -> Any:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        request.claims = None
        if header.startswith("Bearer "):
            with contextlib.suppress(jwt.InvalidTokenError):
                request.claims = jwt.decode(
                    header[7:],
                    self.key,
                    algorithms=[TOKENS.algorithm],
                    audience=TOKENS.audience,
                    issuer=TOKENS.issuer,
                    options={"require": ["exp"]},
                )
        return self.get_response(request)


def configure(tokens: TokenFactory) -> None:
    from django.urls import path

    global TOKENS
    TOKENS = tokens
    urls = type(sys)("bench_django_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bare", _view),
        path("auth", _protected),
        path("jwts", _pyjwt_view),
    ]
    sys.modules["bench_django_urls"] = urls
    settings.configure(
        SECRET_KEY="benchmark-only-" + "x" * 40,
        ALLOWED_HOSTS=["localhost"],
        ROOT_URLCONF="bench_django_urls",
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        MIDDLEWARE=DJANGO_MIDDLEWARE,
        JWTGATE_GATE=Gate(issuers=[tokens.issuer_config()]),
    )
    django.setup()


def handler(middleware: list[str], **overrides: Any) -> WSGIApp:
    """Django's WSGI handler with ``middleware`` (loaded, with ``overrides``, right now)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    with override_settings(MIDDLEWARE=middleware, **overrides):
        return WSGIHandler()


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


class Alone:
    """The middleware around a view-less ``get_response``: its own cost, without Django's."""

    def __init__(self, gated: bool) -> None:
        from django.core.handlers.wsgi import WSGIRequest
        from django.http import HttpResponse

        from jwtgate.django import GateMiddleware

        response = HttpResponse("ok")
        self.make_request = WSGIRequest
        self.middleware = GateMiddleware(lambda request: response) if gated else None

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Any:
        request = self.make_request(environ)
        if self.middleware is not None:
            self.middleware(request)  # its response is never closed: no request_finished signal
            assert request.jwt_user.is_authenticated  # type: ignore[attr-defined]
        start("200 OK", [])
        return [b"ok"]


class Case:
    def __init__(self, name: str, app: WSGIApp, path: str, token: str, bad: str | None) -> None:
        self.name, self.app, self.token, self.bad = name, app, token, bad
        self.environ = EnvironBuilder(path=path, base_url="http://localhost/").get_environ()
        self.times: list[float] = []

    def status(self, token: str) -> str:
        seen = ""

        def start(status: str, headers: Any, exc_info: Any = None) -> None:
            nonlocal seen
            seen = status

        environ = dict(self.environ, HTTP_AUTHORIZATION=f"Bearer {token}")
        result = self.app(environ, start)
        b"".join(result)
        getattr(result, "close", lambda: None)()
        return seen

    def check(self) -> None:
        assert self.status(self.token).startswith("200"), self.name
        if self.bad is not None:
            assert self.status(self.bad).startswith("401"), self.name

    def run(self, n: int) -> float:
        app, base, value = self.app, self.environ, "Bearer " + self.token
        started = time.perf_counter()
        for _ in range(n):
            environ = base.copy()
            environ["HTTP_AUTHORIZATION"] = value[:7] + value[7:]  # a new string per request
            result = app(environ, start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9, help="interleaved repetitions")
    parser.add_argument("--seconds", type=float, default=0.2, help="per case and repetition")
    parser.add_argument("--alg", default="RS256", help="HS256, RS256, ES256 or EdDSA")
    args = parser.parse_args()

    tokens = TokenFactory(args.alg)
    configure(tokens)
    token, bad = tokens.token(sub="bench-user", roles=["admin"]), tokens.tampered()
    gate = "jwtgate.django.GateMiddleware"
    wsgi_gate = Gate(issuers=[tokens.issuer_config()])
    cases = [
        Case("Django bare view", handler(DJANGO_MIDDLEWARE), "/bare", token, None),
        Case(
            f"jwtgate.django hit, {args.alg}, @require_auth",
            handler([*DJANGO_MIDDLEWARE, gate]),
            "/auth",
            token,
            bad,
        ),
        Case(
            f"jwtgate.django miss (cache off), {args.alg}",
            handler(
                [*DJANGO_MIDDLEWARE, gate],
                JWTGATE_GATE=Gate(issuers=[tokens.issuer_config()], cache_size=0),
            ),
            "/auth",
            token,
            bad,
        ),
        Case(
            f"PyJWT middleware (decode per request), {args.alg}",
            handler([*DJANGO_MIDDLEWARE, f"{__name__}.PyJWTMiddleware"]),
            "/jwts",
            token,
            bad,
        ),
        Case(
            f"(ref) jwtgate.wsgi around Django, hit, {args.alg}",
            WSGIGateMiddleware(handler(DJANGO_MIDDLEWARE), wsgi_gate),
            "/auth",
            token,
            None,  # a refusal raised in a Django view is Django's 500 under the WSGI adapter
        ),
    ]
    cases += [
        Case("(alone) a WSGIRequest per request", Alone(gated=False), "/", token, None),
        Case("(alone) + jwtgate.django.GateMiddleware, hit", Alone(gated=True), "/", token, None),
    ]
    for case in cases:
        case.check()
        case.run(200)
    counts = {c.name: max(200, int(args.seconds / c.run(300))) for c in cases}
    for _ in range(args.reps):
        for case in cases:
            case.times.append(case.run(counts[case.name]))

    versions = ", ".join(f"{p} {version(p)}" for p in ("django", "pyjwt", "jwtgate"))
    print(f"Python {platform.python_version()} on {platform.machine()}; {versions}")
    print(f"{args.reps} interleaved repetitions of about {args.seconds} s per case; medians.\n")
    header = f"{'case':<52} {'µs/request':>10} {'Δ vs bare µs':>13} {'x bare':>7} {'spread':>13}"
    print(header)
    print("-" * len(header))
    for case in cases:
        bare = cases[-2 if case.name.startswith("(alone)") else 0].times
        median = statistics.median(case.times)
        delta = statistics.median(t - b for t, b in zip(case.times, bare, strict=True))
        ratio = paired_ratio(case.times, bare)
        row = f"{case.name:<52} {median * 1e6:>10.2f} {delta * 1e6:>+13.2f} {ratio:>7.3f}"
        print(f"{row} {spread(case.times):>13}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
