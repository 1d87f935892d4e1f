"""What path rules cost per request: a 100-line rule table in both adapters, in process.

Each adapter's ``GateMiddleware`` wraps the smallest app (its own cost is all
that is timed) and answers requests carrying a Netlify ``nf_jwt`` cookie that
is a cache hit, with no rules (the base) and with a table of 100 lines: 90
redirects of old literal paths, 6 rules whose first segment is a placeholder
(every request tries them), and Netlify users' seed rules gating ``/admin/*``
and ``/members/*``, plus a rewrite. Requests: a path no rule matches, a path
whose role rule the user satisfies, one redirected for lacking the role, one
rewritten.

``--against REF`` also times the middleware of git revision REF (``main``),
exported into a temporary package, with no rules and with the same rules:
each request's time at REF is the reference of the same request now, so the
ratio says what the changes since REF cost (without an observer, reporting
rule decisions must cost nothing).

With a gate that has an observer (a ``PrometheusObserver`` on its own
registry), each rule request is timed twice: reporting the decision, and
with the report turned off on the same middleware, so that the difference is
the report alone (the observer's cache-hit counting is in both).

Method as in bench_wsgi.py: cases interleaved (repetition 1 of every case,
then repetition 2 ...), about ``--seconds`` each; medians, and each ratio the
median of per-repetition ratios to the case's reference.

    python benchmarks/bench_rules.py [--reps 9] [--seconds 0.15] [--against main]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from _common import paired_ratio, spread
from _observers import _prometheus  # benchmarks/ is on sys.path when a script here runs

from jwtgate import Gate
from jwtgate.asgi import GateMiddleware as ASGIMiddleware
from jwtgate.netlify import redirect_rules
from jwtgate.presets import netlify
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware as WSGIMiddleware

ROOT = Path(__file__).resolve().parent.parent

SEEDS = """\
/admin/*    /admin/:splat   200!  Role=admin
/admin/*    /login          302
/members/*  /members/:splat 200!  Role=member,admin
/members/*  /join           401!
"""


def rule_table_text() -> str:
    """100 lines, in the order a site's _redirects grows: old URLs first, gates last."""
    lines = [f"/old-section-{n}/*  /section-{n}/:splat  301" for n in range(90)]
    lines += [f"/:lang/landing-{n}  /landing-{n}?lang=:lang  302" for n in range(5)]
    lines.append("/docs/*  /documentation/:splat  200")
    return "\n".join(lines) + "\n" + SEEDS


ROLES = ("admin", "member")
REQUESTS = {
    "no rule matches": ("/static/app.js", "member", 200),
    "role rule passes": ("/admin/users", "admin", 200),
    "no role: redirected": ("/admin/users", "member", 302),
    "rewritten": ("/docs/intro", "member", 200),
}


def wsgi_plain(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class WSGICase:
    def __init__(self, name: str, app: Any, path: str, cookie: str, status: int) -> None:
        self.name, self.app, self.cookie, self.status = name, app, cookie, status
        self.environ = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "site.test",
            "SERVER_PORT": "80",
            "HTTP_HOST": "site.test",
            "wsgi.url_scheme": "http",
        }
        self.times: list[float] = []

    def check(self) -> None:
        seen: list[str] = []
        environ = dict(self.environ, HTTP_COOKIE=self.cookie)
        b"".join(self.app(environ, lambda status, headers, exc_info=None: seen.append(status)))
        assert seen[0].startswith(str(self.status)), (self.name, seen)

    def run(self, n: int) -> float:
        app, base, cookie = self.app, self.environ, self.cookie
        start = _start_response
        started = time.perf_counter()
        for _ in range(n):
            environ = base.copy()
            # A new string per request, as from a server (cookie[:] would be the same object).
            environ["HTTP_COOKIE"] = cookie[:-1] + cookie[-1:]
            for _chunk in app(environ, start):
                pass
        return (time.perf_counter() - started) / n


def _start_response(status: str, headers: Any, exc_info: Any = None) -> None:
    return None


class ASGICase:
    def __init__(self, name: str, app: Any, path: str, cookie: str, status: int) -> None:
        self.name, self.app, self.status = name, app, status
        self.cookie = cookie.encode()
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "server": ("site.test", 80),
        }
        self.times: list[float] = []
        self.loop = asyncio.new_event_loop()

    def _scope(self) -> dict[str, Any]:
        scope = self.scope.copy()
        cookie = self.cookie[:-1] + self.cookie[-1:]  # new bytes per request, as from a server
        scope["headers"] = [(b"host", b"site.test"), (b"cookie", cookie)]
        return scope

    def check(self) -> None:
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        self.loop.run_until_complete(self.app(self._scope(), receive, send))
        assert statuses == [self.status], (self.name, statuses)

    def run(self, n: int) -> float:
        app, scope_of = self.app, self._scope

        async def send(message: dict[str, Any]) -> None:
            return None

        async def batch() -> None:
            for _ in range(n):
                await app(scope_of(), receive, send)

        started = time.perf_counter()
        self.loop.run_until_complete(batch())
        return (time.perf_counter() - started) / n


def exported(ref: str) -> Any:
    """The ``jwtgate`` package of git revision ``ref``, imported as ``jwtgate_<ref>``."""
    name = "jwtgate_" + "".join(c if c.isalnum() else "_" for c in ref)
    archive = subprocess.run(
        ["git", "archive", ref, "jwtgate"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    target = Path(tempfile.mkdtemp(prefix="bench-rules-"))
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    (target / "jwtgate").rename(target / name)
    sys.path.insert(0, str(target))
    return importlib.import_module(name)


def build(against: str | None) -> tuple[list[Any], dict[str, str]]:
    """The cases, and each case's reference (the row its ratio is to)."""
    tokens = TokenFactory.netlify()
    gate = Gate(issuers=[netlify(jwt_secret=tokens.secret)])
    observed = Gate(issuers=[netlify(jwt_secret=tokens.secret)], observer=_prometheus())
    rules = redirect_rules(rule_table_text())
    assert len(rules) == 100
    cookie = {role: f"nf_jwt={tokens.token(sub='u1', roles=[role])}" for role in ROLES}
    old = exported(against) if against is not None else None
    cases: list[Any] = []
    base: dict[str, str] = {}
    for kind, case_class, middleware, app in (
        ("WSGI", WSGICase, WSGIMiddleware, wsgi_plain),
        ("ASGI", ASGICase, ASGIMiddleware, asgi_plain),
    ):
        first = f"{kind}: jwtgate hit, no rules"
        plain = middleware(app, gate)
        cases.append(case_class(first, plain, "/static/app.js", cookie["member"], 200))
        base[first] = first
        old_rules = None
        if old is not None:
            presets = importlib.import_module(old.__name__ + ".presets")
            module = importlib.import_module(f"{old.__name__}.{kind.lower()}")
            old_gate = old.Gate(issuers=[presets.netlify(jwt_secret=tokens.secret)])
            name = f"{kind}: jwtgate hit, no rules, at {against}"
            old_app = module.GateMiddleware(app, old_gate)
            cases.append(case_class(name, old_app, "/static/app.js", cookie["member"], 200))
            base[name] = first
            netlify_module = importlib.import_module(old.__name__ + ".netlify")
            old_table = netlify_module.redirect_rules(rule_table_text())
            old_rules = module.GateMiddleware(app, old_gate, rules=old_table)
        with_rules = middleware(app, gate, rules=rules)
        reporting = middleware(app, observed, rules=rules)
        silent = middleware(app, observed, rules=rules)
        silent.app._report = None  # the same middleware, its decisions not reported
        for label, (path, role, status) in REQUESTS.items():
            name = f"{kind}: 100 rules, {label}"
            cases.append(case_class(name, with_rules, path, cookie[role], status))
            base[name] = first
            if old_rules is not None:
                at = f"{kind}: 100 rules, {label}, at {against}"
                cases.append(case_class(at, old_rules, path, cookie[role], status))
                base[name] = at  # now, against the same request at REF
                base[at] = first
            quiet = f"{kind}: 100 rules, {label}, observer, not reported"
            cases.append(case_class(quiet, silent, path, cookie[role], status))
            base[quiet] = first
            told = f"{kind}: 100 rules, {label}, observer, reported"
            cases.append(case_class(told, reporting, path, cookie[role], status))
            base[told] = quiet
    return cases, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9, help="interleaved repetitions")
    parser.add_argument("--seconds", type=float, default=0.15, help="per case and repetition")
    parser.add_argument("--against", help="also time the middleware of this git revision")
    args = parser.parse_args()

    cases, base = build(args.against)
    for case in cases:
        case.check()
        case.run(200)  # warm up
    counts = {case.name: max(200, int(args.seconds / case.run(500))) for case in cases}
    for _ in range(args.reps):
        for case in cases:
            case.times.append(case.run(counts[case.name]))

    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(f"{args.reps} interleaved repetitions of about {args.seconds} s per case; medians.\n")
    times = {case.name: case.times for case in cases}
    header = f"{'case':<64} {'µs/request':>10} {'Δ µs':>7} {'x ref':>7} {'spread':>12}  reference"
    print(header)
    print("-" * len(header))
    for case in cases:
        reference = times[base[case.name]]
        median = statistics.median(case.times)
        delta = statistics.median(t - r for t, r in zip(case.times, reference, strict=True))
        ratio = paired_ratio(case.times, reference)
        row = f"{case.name:<64} {median * 1e6:>10.2f} {delta * 1e6:>+7.2f} {ratio:>7.3f}"
        ref_name = "-" if base[case.name] == case.name else base[case.name]
        print(f"{row} {spread(case.times):>12}  {ref_name}")


if __name__ == "__main__":
    main()
