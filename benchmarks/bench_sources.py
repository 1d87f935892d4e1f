"""What the providers' own token sources add to a cache hit.

Run: ``python benchmarks/bench_sources.py`` (add ``--quick`` for a short run).

A cache hit is ``Gate.authenticate`` on a token verified before. Most sources
only slice a header; two presets bring sources that do more on every request:
Clerk's ``__session`` cookie (read only while ``__client_uat`` is a sign-in at
or before the token's ``iat``, which means decoding the unverified payload)
and Supabase's session cookie (base64url JSON, maybe in chunks, remembered
once decoded). Each is measured beside a plain ``cookie:NAME`` source on the
same token, interleaved, so the ratio shows their own cost.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from collections.abc import Callable
from typing import Any

from bench_core import run_interleaved

from jwtgate import Gate
from jwtgate.asgi import GateMiddleware as ASGIMiddleware
from jwtgate.presets import ClerkSessionCookie, SupabaseSessionCookie
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware as WSGIMiddleware

NOW = time.time()


def session_cookie(token: str, padding: int) -> str:
    session = {"access_token": token, "refresh_token": "r", "user": {"bio": "x" * padding}}
    encoded = base64.urlsafe_b64encode(json.dumps(session).encode()).decode().rstrip("=")
    return "base64-" + encoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repetitions")
    args = parser.parse_args()
    repeats, target = (3, 0.05) if args.quick else (9, 0.2)

    tokens = TokenFactory("ES256", clock=lambda: NOW)
    issuer = tokens.issuer_config()
    token = tokens.token(sub="u1", roles=["admin"])
    cookie = session_cookie(token, 2000)
    chunks = [cookie[i : i + 3180] for i in range(0, len(cookie), 3180)]
    jars = {
        "plain cookie": ("cookie:t", f"t={token}; __client_uat={int(NOW) - 60}"),
        "Clerk __session": (ClerkSessionCookie("t"), f"t={token}; __client_uat={int(NOW) - 60}"),
        "Supabase session (one cookie)": (SupabaseSessionCookie("sb"), f"sb={cookie}"),
        "Supabase session (chunks)": (
            SupabaseSessionCookie("sb"),
            "; ".join(f"sb.{n}={chunk}" for n, chunk in enumerate(chunks)),
        ),
    }
    cases = {}
    for name, (source, jar) in jars.items():
        gate = Gate(issuers=[issuer], sources=[source], clock=lambda: NOW)
        headers = {"Cookie": jar}
        assert gate.authenticate(headers=headers) is not None  # verified once: now a hit
        cases[name] = lambda gate=gate, headers=headers: gate.authenticate(headers=headers)
    result = run_interleaved(cases, repeats, target)
    base = result["plain cookie"]
    print(f"median of {repeats} interleaved repetitions; µs per cached authenticate() call\n")
    for name, seconds in result.items():
        print(f"{name:<32} {seconds * 1e6:8.2f} µs   ×{seconds / base:.2f} of a plain cookie")

    # Through the adapters, whose memo keys each of these sources by the Cookie header
    # (Source.reads): a repeated request does not ask the gate, whatever the source.
    adapters = {}
    for name, (source, jar) in jars.items():
        gate = Gate(issuers=[issuer], sources=[source], clock=lambda: NOW)
        wsgi = WSGIMiddleware(wsgi_plain, gate)
        adapters[f"WSGI, {name}"] = wsgi_call(wsgi, jar)
        asgi = ASGIMiddleware(asgi_plain, gate)
        adapters[f"ASGI, {name}"] = asgi_call(asgi, jar)
    for call in adapters.values():
        call()  # verified once, remembered
    result = run_interleaved(adapters, repeats, target)
    print(
        "\nthe same through each adapter's GateMiddleware around the smallest app, "
        "a cache hit (µs per request)\n"
    )
    for name, seconds in result.items():
        plain = result[name.split(",")[0] + ", plain cookie"]
        print(f"{name:<38} {seconds * 1e6:8.2f} µs   ×{seconds / plain:.2f} of a plain cookie")


def wsgi_plain(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    assert environ["jwtgate.user"].is_authenticated
    start_response("200 OK", [])
    return [b"ok"]


async def asgi_plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["user"].is_authenticated
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def wsgi_call(middleware: WSGIMiddleware, jar: str) -> Callable[[], object]:
    def call() -> object:
        # A new header string per request, as a server makes one.
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_COOKIE": jar[:-1] + jar[-1:]}
        return middleware(environ, lambda status, headers, exc_info=None: None)

    return call


def asgi_call(middleware: ASGIMiddleware, jar: str) -> Callable[[], object]:
    raw = jar.encode()

    async def send(message: dict[str, Any]) -> None:
        pass

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    def call() -> object:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [(b"host", b"testserver"), (b"cookie", bytes(bytearray(raw)))],
        }
        coroutine = middleware(scope, receive, send)
        try:
            coroutine.send(None)  # nothing awaits anything real: it runs to its end
        except StopIteration:
            return None
        raise AssertionError("the middleware waited for something")

    return call


if __name__ == "__main__":
    main()
