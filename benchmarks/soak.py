"""A bounded load soak over real HTTP against both adapters, while the keys rotate and fail.

Run: ``python benchmarks/soak.py [--seconds 60] [--connections 3]``; exits 1 on any fault.
tests/integration/test_soak.py runs a short one in CI.

Two servers run the soak apps of http_apps.py (``GET /private`` behind
``@require_auth``, ``GET /public`` never refused), both trusting an issuer whose
keys come from a ``serve_jwks()`` server by ``jwks_url``: Flask behind
``jwtgate.wsgi.GateMiddleware`` under gunicorn (gthread, one worker, so its key
cache is the one the controller probes), and Starlette behind
``jwtgate.asgi.GateMiddleware`` under uvicorn. Several keep-alive connections per
server send a random mix: valid, expired, forged (same ``kid``, other key),
tampered and unknown-``kid`` tokens, in the ``Authorization`` header or the
``jwt`` cookie, and none at all. Every response's status must be the one its
token calls for (200 valid, 401 otherwise; ``/public`` always 200), no 5xx, and
every request must get an answer.

Meanwhile a controller rotates the signing key every few seconds (the previous
key stays published for one rotation, as providers do, so tokens in flight stay
valid), confirms each server accepts the new key, and in the middle of the run
takes the JWKS server down (every request answers 500) for a quarter of the run:
cached keys must keep serving, unknown ``kid``s must stay 401, never 503.
"""

from __future__ import annotations

import argparse
import http.client
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Server, get, serve

from jwtgate.testing import TokenFactory
from jwtgate.testing.factory import generate_key

PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Pool:
    """The tokens minted for one signing key; swapped whole, so readers never see a mix."""

    kid: str
    valid: tuple[str, ...]
    expired: str
    forged: str
    tampered: str
    unknown_kid: str


def mint(tokens: TokenFactory) -> Pool:
    valid = tuple(tokens.token(sub=f"user-{i}", roles=["reader"]) for i in range(8))
    unknown = tokens.sign(
        tokens.claims(sub="stranger"),
        headers={"kid": "unknown-" + tokens.kid},
        key=generate_key(tokens.algorithm),
    )
    return Pool(
        kid=tokens.kid,
        valid=valid,
        expired=tokens.expired(sub="late"),
        forged=tokens.wrong_signature(sub="mallory"),
        tampered=tokens.tampered(sub="eve"),
        unknown_kid=unknown,
    )


# A case: name -> (path, how the token is sent, which token, expected status)
Request = tuple[str, dict[str, str], int]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"theme=dark; jwt={token}"}


CASES: dict[str, Callable[[Pool, random.Random], Request]] = {
    "valid bearer": lambda p, r: ("/private", _bearer(r.choice(p.valid)), 200),
    "valid cookie": lambda p, r: ("/private", _cookie(r.choice(p.valid)), 200),
    "valid bearer, public": lambda p, r: ("/public", _bearer(r.choice(p.valid)), 200),
    "expired bearer": lambda p, r: ("/private", _bearer(p.expired), 401),
    "expired cookie": lambda p, r: ("/private", _cookie(p.expired), 401),
    "forged bearer": lambda p, r: ("/private", _bearer(p.forged), 401),
    "forged cookie, public": lambda p, r: ("/public", _cookie(p.forged), 200),
    "tampered bearer": lambda p, r: ("/private", _bearer(p.tampered), 401),
    "unknown kid bearer": lambda p, r: ("/private", _bearer(p.unknown_kid), 401),
    "missing": lambda p, r: ("/private", {}, 401),
    "missing, public": lambda p, r: ("/public", {}, 200),
}
# Valid tokens are what a real service mostly sees.
WEIGHTS = {name: (4 if name.startswith("valid") else 1) for name in CASES}


@dataclass
class Report:
    seconds: float
    sent: int = 0
    answered: int = 0
    lost: int = 0
    server_errors: int = 0
    rotations: int = 0
    outage_seconds: float = 0.0
    jwks_requests: int = 0
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    wrong: Counter[tuple[str, str, int, int]] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.server_errors or self.wrong or self.faults)

    def summary(self) -> str:
        lines = [
            f"soak: {self.seconds:g} s, {self.sent} requests sent, {self.answered} answered, "
            f"{self.lost} lost, {self.server_errors} 5xx, {sum(self.wrong.values())} wrong",
            f"keys rotated {self.rotations}×, JWKS down {self.outage_seconds:.1f} s, "
            f"{self.jwks_requests} JWKS requests",
            "",
            "| server | case | status | count |",
            "|---|---|---:|---:|",
        ]
        for (server, case, status), count in sorted(self.statuses.items()):
            lines.append(f"| {server} | {case} | {status} | {count} |")
        for (server, case, status, expected), count in sorted(self.wrong.items()):
            lines.append(f"WRONG: {server} {case}: {status} (expected {expected}) ×{count}")
        lines += [f"FAULT: {fault}" for fault in self.faults]
        lines.append("PASS" if self.ok else "FAIL")
        return "\n".join(lines)


class Soak:
    def __init__(self, seconds: float, connections: int, seed: int) -> None:
        self.seconds = seconds
        self.connections = connections
        self.seed = seed
        self.tokens = TokenFactory("RS256")
        self.pool = mint(self.tokens)
        self.report = Report(seconds)
        self.lock = threading.Lock()
        self.stop = threading.Event()

    # --- traffic -------------------------------------------------------------------

    def traffic(self, server: Server, rng: random.Random) -> None:
        """One keep-alive connection's worth of mixed requests until told to stop."""
        names, weights = list(CASES), [WEIGHTS[n] for n in CASES]
        statuses: Counter[tuple[str, str, int]] = Counter()
        wrong: Counter[tuple[str, str, int, int]] = Counter()
        sent = answered = lost = errors = 0
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        while not self.stop.is_set():
            name = rng.choices(names, weights)[0]
            path, headers, expected = CASES[name](self.pool, rng)
            sent += 1
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                lost += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                continue
            answered += 1
            statuses[(server.name, name, response.status)] += 1
            errors += response.status >= 500
            if response.status != expected:
                wrong[(server.name, name, response.status, expected)] += 1
        connection.close()
        with self.lock:
            self.report.sent += sent
            self.report.answered += answered
            self.report.lost += lost
            self.report.server_errors += errors
            self.report.statuses.update(statuses)
            self.report.wrong.update(wrong)

    # --- the controller: rotations and the outage ----------------------------------

    def confirm(self, servers: list[Server], pool: Pool) -> None:
        """Wait until every server accepts the new key (its first request fetches the set)."""
        for server in servers:
            deadline = time.monotonic() + PROBE_TIMEOUT
            while get(server.port, "/private", _bearer(pool.valid[0])) != 200:
                if time.monotonic() > deadline:
                    self.report.faults.append(f"{server.name} never accepted kid {pool.kid}")
                    return
                time.sleep(0.2)

    def control(self, jwks: object, servers: list[Server]) -> None:
        started = time.monotonic()
        every = max(1.5, self.seconds / 8)
        outage = (started + 0.4 * self.seconds, started + 0.65 * self.seconds)
        next_rotation = started + every
        down_since: float | None = None
        while not self.stop.wait(0.05):
            now = time.monotonic()
            if down_since is None and outage[0] <= now < outage[1]:
                jwks.fail_next(10**9)  # type: ignore[attr-defined]
                down_since = now
            elif down_since is not None and now >= outage[1] and not self.report.outage_seconds:
                jwks.fail_next(0)  # type: ignore[attr-defined]
                self.report.outage_seconds = now - down_since
            if down_since is not None and not self.report.outage_seconds:
                continue  # no rotation while the keys cannot be fetched
            if now >= next_rotation and now < started + self.seconds - 1:
                previous = self.tokens.public_jwk()
                jwks.extra_keys = [previous]  # type: ignore[attr-defined]
                jwks.rotate()  # type: ignore[attr-defined]
                pool = mint(self.tokens)
                self.confirm(servers, pool)
                self.pool = pool
                self.report.rotations += 1
                next_rotation = time.monotonic() + every

    def run(self) -> Report:
        with ExitStack() as stack:
            jwks = stack.enter_context(self.tokens.serve_jwks())
            env = {
                "BENCH_APP": "soak",
                "BENCH_ALG": self.tokens.algorithm,
                "BENCH_ISSUER": self.tokens.issuer or "",
                "BENCH_AUDIENCE": self.tokens.audience or "",
                "BENCH_JWKS_URL": jwks.url,
            }
            servers = [
                stack.enter_context(serve("gunicorn-1", env, "gunicorn (WSGI)")),
                stack.enter_context(serve("uvicorn", env, "uvicorn (ASGI)")),
            ]
            self.confirm(servers, self.pool)
            workers = [
                threading.Thread(
                    target=self.traffic, args=(server, random.Random(self.seed * 100 + i))
                )
                for server in servers
                for i in range(self.connections)
            ]
            controller = threading.Thread(target=self.control, args=(jwks, servers))
            for thread in [*workers, controller]:
                thread.start()
            time.sleep(self.seconds)
            self.stop.set()
            for thread in [*workers, controller]:
                thread.join(30)
                if thread.is_alive():
                    self.report.faults.append(f"{thread.name} did not stop")
            for server in servers:
                if server.process.poll() is not None:
                    self.report.faults.append(f"{server.name} died")
            self.report.jwks_requests = jwks.requests
        if self.report.outage_seconds == 0:
            self.report.faults.append("the JWKS outage did not happen")
        return self.report


def run_soak(seconds: float = 60, connections: int = 3, seed: int = 1) -> Report:
    """Run a soak of ``seconds``; the report says what was seen and whether it passed."""
    return Soak(seconds, connections, seed).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=3, help="per server")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    report = run_soak(args.seconds, args.connections, args.seed)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
