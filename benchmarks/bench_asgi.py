"""Per-request cost of jwtgate's ASGI adapter, in process, against bare Starlette and FastAPI.

Run: ``python benchmarks/bench_asgi.py [--quick]``. Prints a table, asserts nothing.

Each case is an ASGI app called in one event loop, async endpoints, a receive that
returns an empty body and a send that only notes the status (every case must answer
200). Every request gets a new scope with new header bytes, as a server gives it (a
``bytes`` caches its hash, so reusing header objects would hide the cost of hashing
the token); scopes are made in small batches with the clock stopped, and the garbage
collector is paused while timing. Every app gets the same ``Authorization: Bearer``
header, so the difference is the cost of authentication alone. The two
"(reused headers)" rows share header objects between requests, as the harness
behind shared/research/perf-baselines.md did, for comparison. Cases run interleaved
(repetition 1 of every case, then repetition 2 ...); each time is the median over the
repetitions, and each delta or ratio is the median of the per-repetition deltas or
ratios, so the cases it compares were measured back to back under the same noise.

Cases, for HS256, RS256, ES256 and EdDSA tokens (``--alg`` picks some):
  (alone) ...                          the smallest ASGI app, bare, behind a do-nothing
                                       middleware, behind a hand-written dict-cache
                                       middleware (the reference a hit is set against) and
                                       behind jwtgate: the middleware's own cost without
                                       Starlette's microseconds and their noise
  starlette bare                       a Route returning PlainTextResponse("ok")
  (ref) a do-nothing middleware        a pure ASGI middleware that only awaits the app
  (ref) AuthenticationMiddleware, no JWT  Starlette's own, a backend returning a fixed user
  starlette + jwtgate, hit             GateMiddleware in front; the token is cached
  starlette + jwtgate + @require_auth  the same, the endpoint decorated
  starlette + jwtgate, miss            a gate with cache_size=0: every request verifies
  starlette + AuthenticationMiddleware Starlette's own middleware, a PyJWT backend
  fastapi bare                         a path operation returning {"ok": True}
  (ref) fastapi + a do-nothing dep     what FastAPI charges for solving one dependency
  fastapi + jwtgate current_user       GateMiddleware and Depends(jwtgate.fastapi.current_user)
  fastapi + Depends(jwtgate.require_auth)  the decorator object as the dependency: FastAPI
                                       solves current_user beneath it, one dependency more
  fastapi + HTTPBearer + PyJWT         the FastAPI tutorial way, verifying per request
  the indented "+ ..." rows (first algorithm only) add an observer or a revocation store
                                       to the "(alone)" hit's gate (``_observers.py``):
                                       their delta is against that hit, their own cost
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any

import fastapi
import jwt
import starlette
from _observers import observed_gates  # benchmarks/ is on sys.path when a script here runs
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
)
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import jwtgate
from jwtgate import Gate, User
from jwtgate.asgi import GateMiddleware
from jwtgate.decorators import require_auth
from jwtgate.fastapi import current_user
from jwtgate.testing import TokenFactory

App = Callable[..., Any]


# Async endpoints: a sync one runs in a thread pool, whose hand-off costs far more
# than anything measured here and would drown it in noise.
async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@require_auth
async def ok_protected(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def starlette_app(middleware: list[Middleware] | None = None, protected: bool = False) -> App:
    endpoint = ok_protected if protected else ok
    return Starlette(routes=[Route("/", endpoint)], middleware=middleware or [])


class PyJWTBackend(AuthenticationBackend):
    """What an app without jwtgate writes: verify the Bearer token on every request."""

    def __init__(self, key: Any, algorithm: str, audience: str, issuer: str) -> None:
        self.key, self.algorithm, self.audience, self.issuer = key, algorithm, audience, issuer

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        header = conn.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
            )
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError("invalid token") from exc
        scopes = ["authenticated", *claims.get("roles", [])]
        return AuthCredentials(scopes), SimpleUser(claims["sub"])


def fastapi_bare() -> App:
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, bool]:
        return {"ok": True}

    return app


def fastapi_jwtgate(gate: Gate, dependency: Any = current_user) -> App:
    app = FastAPI()
    app.add_middleware(GateMiddleware, gate=gate)
    solved = Depends(dependency)  # a default, not an annotation: this module's are strings

    @app.get("/")
    async def root(user: User = solved) -> dict[str, bool]:
        return {"ok": True}

    return app


async def trivial(connection: HTTPConnection) -> int:
    """A dependency that does nothing: what FastAPI itself charges for one."""
    return 1


def fastapi_trivial_dependency() -> App:
    app = FastAPI()

    @app.get("/")
    async def root(value: Annotated[int, Depends(trivial)]) -> dict[str, bool]:
        return {"ok": True}

    return app


def fastapi_pyjwt(key: Any, algorithm: str, audience: str, issuer: str) -> App:
    app = FastAPI()
    bearer = HTTPBearer()

    # Depends() as a default, not in Annotated: the annotations are strings
    # (future import) and could not name these local objects.
    async def verified(
        creds: HTTPAuthorizationCredentials = Depends(bearer),  # noqa: B008
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                creds.credentials, key, algorithms=[algorithm], audience=audience, issuer=issuer
            )
        except jwt.InvalidTokenError as exc:
            raise fastapi.HTTPException(401, "invalid token") from exc
        return claims

    @app.get("/")
    async def root(claims: dict[str, Any] = Depends(verified)) -> dict[str, bool]:  # noqa: B008
        return {"ok": True}

    return app


def make_scope(token: str) -> dict[str, Any]:
    headers = [
        (b"host", b"testserver"),
        (b"user-agent", b"bench/1.0"),
        (b"accept", b"*/*"),
        (b"accept-encoding", b"gzip, deflate"),
        (b"connection", b"keep-alive"),
        (b"cookie", b"theme=dark; _ga=GA1.1.123456789.1700000000"),
        (b"authorization", b"Bearer " + token.encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
        "extensions": {},
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class Sink:
    """A send that keeps the status, so every case is checked to answer 200."""

    def __init__(self) -> None:
        self.status = 0

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


BATCH = 32


def fresh_scopes(scope: dict[str, Any], n: int, fresh: bool = True) -> list[dict[str, Any]]:
    """``n`` copies of ``scope`` with new header bytes, as a server makes per request.

    New objects matter: a ``bytes`` caches its hash, and hashing the token is
    much of what a cache hit costs. ``fresh=False`` shares the header objects
    between requests, as the perf-baselines harness did: comparable with its
    numbers, but flattering to anything that hashes a header.
    """
    headers = scope["headers"]
    scopes = []
    for _ in range(n):
        copy = dict(scope)
        if fresh:
            copy["headers"] = [(bytes(bytearray(k)), bytes(bytearray(v))) for k, v in headers]
        scopes.append(copy)
    return scopes


async def run_n(app: App, scope: dict[str, Any], n: int, fresh: bool = True) -> float:
    """Microseconds per request over about ``n`` requests.

    Scopes are made in batches of ``BATCH`` just before they are used, with the
    clock stopped: fresh like a server's, and still in the CPU cache like headers
    a server has just parsed (scopes made long before would be cold, and reading
    their headers would cost several times more than in a real server).
    """
    send = Sink()
    elapsed = 0
    batches = max(1, n // BATCH)
    gc.collect()
    gc.disable()
    try:
        for _ in range(batches):
            scopes = fresh_scopes(scope, BATCH, fresh)
            start = time.perf_counter_ns()
            for request_scope in scopes:
                await app(request_scope, receive, send)
            elapsed += time.perf_counter_ns() - start
    finally:
        gc.enable()
    if send.status != 200:
        raise SystemExit(f"a case answered {send.status}, not 200")
    return elapsed / (batches * BATCH) / 1000


async def plain_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The smallest ASGI app: around it, a middleware's own cost is all that is timed."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class PassThrough:
    """A pure ASGI middleware that does nothing: what one more layer costs at least."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class DictCacheMiddleware:
    """A hand-written pure ASGI middleware caching users by their raw Authorization value.

    What a careful hand-written cache-hit path does at least: find the header,
    look it up, check the entry's deadline, and hand the user on in a copy of
    the scope (the ASGI spec asks a middleware not to change its caller's).
    The reference a cache hit of jwtgate's middleware is set against.
    """

    def __init__(self, app: App, users: dict[bytes, tuple[Any, float]]) -> None:
        self.app = app
        self.users = users

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            user = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    entry = self.users.get(value)
                    if entry is not None and entry[1] > time.time():
                        user = entry[0]
            scope = dict(scope)
            scope["user"] = user
        await self.app(scope, receive, send)


class FixedUserBackend(AuthenticationBackend):
    """Starlette's authentication with no token work at all: its middleware's own cost."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        return AuthCredentials(["authenticated"]), SimpleUser("user-1")


def cases_for(algorithm: str, observed: bool = False) -> tuple[dict[str, App], dict[str, Any]]:
    tokens = TokenFactory(algorithm)
    token = tokens.token(sub="user-1", roles=["admin", "editor"], email="a@example.com")
    key = tokens.secret if algorithm.startswith("HS") else tokens.public_key
    audience, issuer = str(tokens.audience), str(tokens.issuer)
    hit_gate = Gate(issuers=[tokens.issuer_config()])
    miss_gate = Gate(issuers=[tokens.issuer_config()], cache_size=0)
    backend = PyJWTBackend(key, algorithm, audience, issuer)
    apps = {
        PLAIN: plain_app,
        "(alone) + a do-nothing middleware": PassThrough(plain_app),
        DICT_CACHE: DictCacheMiddleware(
            plain_app, {b"Bearer " + token.encode(): (object(), time.time() + 3600)}
        ),
        "(alone) + jwtgate, hit": GateMiddleware(plain_app, hit_gate),
        **{
            OBSERVED_ROW + label: GateMiddleware(plain_app, gate)
            for label, gate in (observed_gates(tokens) if observed else {}).items()
        },
        "starlette bare": starlette_app(),
        "(ref) starlette + a do-nothing middleware": starlette_app([Middleware(PassThrough)]),
        "(ref) starlette + AuthenticationMiddleware, no JWT": starlette_app(
            [Middleware(AuthenticationMiddleware, backend=FixedUserBackend())]
        ),
        "starlette + jwtgate, hit": starlette_app([Middleware(GateMiddleware, gate=hit_gate)]),
        "starlette + jwtgate + @require_auth, hit": starlette_app(
            [Middleware(GateMiddleware, gate=hit_gate)], protected=True
        ),
        "starlette + jwtgate, miss": starlette_app([Middleware(GateMiddleware, gate=miss_gate)]),
        "starlette + AuthenticationMiddleware, PyJWT": starlette_app(
            [Middleware(AuthenticationMiddleware, backend=backend)]
        ),
        "fastapi bare": fastapi_bare(),
        "(ref) fastapi + a do-nothing dependency": fastapi_trivial_dependency(),
        "fastapi + jwtgate current_user, hit": fastapi_jwtgate(hit_gate),
        "fastapi + Depends(jwtgate.require_auth), hit": fastapi_jwtgate(hit_gate, require_auth),
        "fastapi + HTTPBearer + PyJWT": fastapi_pyjwt(key, algorithm, audience, issuer),
        REUSED + "starlette bare": starlette_app(),
        REUSED + "starlette + jwtgate, hit": starlette_app(
            [Middleware(GateMiddleware, gate=hit_gate)]
        ),
    }
    return apps, make_scope(token)


#: Rows adding an observer or a revocation store to the "(alone)" hit (see ``_observers.py``):
#: their delta is against that hit, so it is what the observer or store costs it.
OBSERVED_ROW = "  "

#: Cases whose requests share header objects (see ``fresh_scopes``).
REUSED = "(reused headers) "


PLAIN = "(alone) a plain ASGI app"
DICT_CACHE = "(alone) + (ref) a hand-written dict-cache middleware"

BASE = {
    "(alone) + a do-nothing middleware": PLAIN,
    DICT_CACHE: PLAIN,
    "(alone) + jwtgate, hit": PLAIN,
    "(ref) starlette + a do-nothing middleware": "starlette bare",
    "(ref) starlette + AuthenticationMiddleware, no JWT": "starlette bare",
    "starlette + jwtgate, hit": "starlette bare",
    "starlette + jwtgate + @require_auth, hit": "starlette bare",
    "starlette + jwtgate, miss": "starlette bare",
    "starlette + AuthenticationMiddleware, PyJWT": "starlette bare",
    "(ref) fastapi + a do-nothing dependency": "fastapi bare",
    "fastapi + jwtgate current_user, hit": "fastapi bare",
    "fastapi + Depends(jwtgate.require_auth), hit": "fastapi bare",
    "fastapi + HTTPBearer + PyJWT": "fastapi bare",
    REUSED + "starlette + jwtgate, hit": REUSED + "starlette bare",
}


async def measure(algorithm: str, repeats: int, target_s: float, observed: bool) -> None:
    apps, scope = cases_for(algorithm, observed)
    counts: dict[str, int] = {}
    for name, app in apps.items():
        fresh = not name.startswith(REUSED)
        await run_n(app, scope, 200, fresh)  # warm up: build middleware stacks, fill caches
        per = await run_n(app, scope, 1000, fresh)
        counts[name] = max(200, int(target_s / (per / 1e6)))
    times: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(repeats):
        for name, app in apps.items():
            times[name].append(await run_n(app, scope, counts[name], not name.startswith(REUSED)))
    print(f"\n{algorithm} token, {len(scope['headers'][-1][1]) - 7} chars")
    print(f"{'case':46s} {'µs/req':>9s} {'Δ µs vs base':>13s} {'x base':>7s} {'spread':>13s}")
    for name, samples in times.items():
        if name == "(alone) + jwtgate, hit":
            added = [a - p for a, p in zip(samples, times[PLAIN], strict=True)]
            reference = [d - p for d, p in zip(times[DICT_CACHE], times[PLAIN], strict=True)]
            hit_vs_reference = statistics.median(
                a / r for a, r in zip(added, reference, strict=True)
            )
        med = statistics.median(samples)
        spread = f"{min(samples) / med - 1:+.0%}/{max(samples) / med - 1:+.0%}"
        base = "(alone) + jwtgate, hit" if name.startswith(OBSERVED_ROW) else BASE.get(name)
        if base is None:
            print(f"{name:54s} {med:9.2f} {'':>13s} {'1.00':>7s} {spread:>13s}")
            continue
        deltas = [a - b for a, b in zip(samples, times[base], strict=True)]
        ratios = [a / b for a, b in zip(samples, times[base], strict=True)]
        print(
            f"{name:54s} {med:9.2f} {statistics.median(deltas):+13.2f} "
            f"{statistics.median(ratios):7.2f} {spread:>13s}"
        )
    print(
        f"jwtgate's hit adds {hit_vs_reference:.2f}× what the hand-written dict-cache "
        "middleware adds (median of same-repetition ratios)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short repetitions")
    parser.add_argument("--alg", action="append", help="HS256, RS256, ES256, EdDSA (default: all)")
    args = parser.parse_args()
    repeats, target = (3, 0.05) if args.quick else (11, 0.1)
    print(
        f"Python {platform.python_version()}, jwtgate {jwtgate.__version__}, "
        f"starlette {starlette.__version__}, fastapi {fastapi.__version__}, PyJWT {jwt.__version__}"
    )
    print(f"median of {repeats} interleaved repetitions of ~{target} s each")
    for index, algorithm in enumerate(args.alg or ["HS256", "RS256", "ES256", "EdDSA"]):
        asyncio.run(measure(algorithm, repeats, target, observed=index == 0))


if __name__ == "__main__":
    sys.exit(main())
