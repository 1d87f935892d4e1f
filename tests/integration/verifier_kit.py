"""Providers' official verifiers and jwtgate's presets, run on the same tokens.

Each provider's table (``test_verifier_<provider>.py``) mints token variants in
the provider's real shape, serves the keys on 127.0.0.1, and asks two
judges: the provider's own SDK (npm packages in ``tests/verifiers``, pinned by
their lockfile and installed with ``npm ci``; one Node process per table, the
clock frozen at the table's ``now``) and the jwtgate preset (the same
``now``). Verdicts must agree, except in the cases marked ``stricter``, where
the SDK accepts and jwtgate deliberately refuses; each of those is listed,
with its reason, on the provider's documentation page.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jwtgate import AuthError, Gate
from jwtgate.testing import TokenFactory
from tests.tokens import raw_token
from tests.tools import node_with

ROOT = Path(__file__).resolve().parents[2]
VERIFIERS = ROOT / "tests" / "verifiers"
DOCS = ROOT / "docs" / "providers"
#: A Node process checks a whole table; on a loaded machine that may take a while.
NODE_TIMEOUT = 120.0

Answer = tuple[int, Any]


def run_node(script: str, payload: Mapping[str, Any]) -> Any:
    """Run ``tests/verifiers/<script>`` with ``payload`` as JSON on stdin; its JSON answer."""
    done = subprocess.run(
        [node_with(VERIFIERS, "the providers' verifiers are npm packages"), script],
        cwd=VERIFIERS,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


class LocalServer:
    """Fixed answers on 127.0.0.1: JWK Sets, certificate maps, a stub endpoint or two.

    ``routes`` maps a path to a JSON document, or to ``answer(headers) ->
    (status, document)``. ``requests`` lists ``(path, Authorization header)``
    in order. Stopped (and its thread joined) on leaving the ``with`` block.
    """

    def __init__(self, routes: Mapping[str, Any]) -> None:
        self.routes: dict[str, Any] = dict(routes)
        self.requests: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append((self.path, self.headers.get("Authorization")))
                route = server.routes.get(self.path.split("?", 1)[0])
                status, document = (404, {"error": "not found"}) if route is None else (200, route)
                if callable(route):
                    status, document = route(self.headers)
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests assert on what clients saw."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


def variants(
    tokens: TokenFactory, claims: Mapping[str, Any], header: Mapping[str, Any]
) -> tuple[Callable[..., str], Callable[[str], str]]:
    """A table's two ways of making a token variant from its ``claims``.

    ``signed(**changes)``: the claims with ``changes``, signed by ``tokens``;
    ``without(name)``: the claims less ``name``, signed under exactly ``header``
    (the factory would add a missing claim back).
    """

    def signed(**changes: object) -> str:
        return tokens.sign({**claims, **changes})

    def without(name: str) -> str:
        return raw_token(tokens, header, {k: v for k, v in claims.items() if k != name})

    return signed, without


@contextmanager
def serving(routes: Mapping[str, Any]) -> Iterator[LocalServer]:
    with LocalServer(routes) as server:
        yield server


@dataclass
class Case:
    """One token variant: how it is sent, and whether jwtgate is deliberately stricter.

    ``stricter`` is the reason jwtgate refuses a token the SDK accepts (it
    must be listed on the provider's page); ``None`` means the verdicts must
    agree. ``node`` holds what the provider's script needs besides the token.
    """

    name: str
    token: str
    stricter: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    node: dict[str, Any] = field(default_factory=dict)
    #: The SDK hands this token to the provider's server instead of judging it (Supabase's
    #: HS256 tokens): jwtgate's verdict is then this one, and the SDK must say it deferred.
    server_decides: bool | None = None

    def request_headers(self) -> dict[str, str]:
        return self.headers or {"Authorization": f"Bearer {self.token}"}


@dataclass
class Verdict:
    ok: bool
    detail: str
    roles: frozenset[str] = frozenset()
    #: Everything else the judge said (the SDK's answer, or the user jwtgate made).
    extra: dict[str, Any] = field(default_factory=dict)


def jwtgate_verdicts(gate: Gate, cases: Sequence[Case]) -> dict[str, Verdict]:
    """The gate's answer to each case (a fresh cache each time: no case answers another)."""
    verdicts: dict[str, Verdict] = {}
    for case in cases:
        gate.clear_cache()
        try:
            user = gate.authenticate(headers=case.request_headers())
        except AuthError as exc:
            verdicts[case.name] = Verdict(False, exc.description or type(exc).__name__)
            continue
        if user is None:
            verdicts[case.name] = Verdict(False, "no token found")
        else:
            extra = {"sub": user.subject, "email": user.email}
            verdicts[case.name] = Verdict(True, "accepted", user.roles, extra)
    return verdicts


def sdk_verdicts(answers: Sequence[Mapping[str, Any]]) -> dict[str, Verdict]:
    return {
        a["name"]: Verdict(
            bool(a["ok"]), a.get("error", "accepted"), frozenset(a.get("roles", ())), dict(a)
        )
        for a in answers
    }


def compare(
    cases: Sequence[Case],
    sdk: Mapping[str, Verdict],
    ours: Mapping[str, Verdict],
    *,
    roles: bool = False,
) -> None:
    """Every verdict agrees, every ``stricter`` case is SDK-accepted and jwtgate-refused."""
    problems = []
    for case in cases:
        theirs, mine = sdk[case.name], ours[case.name]
        if case.server_decides is not None:
            if not theirs.extra.get("deferred") or mine.ok != case.server_decides:
                problems.append(
                    f"{case.name}: expected the SDK to defer ({theirs.extra}) and jwtgate "
                    f"{case.server_decides}; got jwtgate {mine.ok} ({mine.detail})"
                )
        elif case.stricter is not None:
            if not theirs.ok or mine.ok:
                problems.append(
                    f"{case.name}: expected SDK accepts / jwtgate refuses ({case.stricter}); "
                    f"got SDK {theirs.ok} ({theirs.detail}), jwtgate {mine.ok} ({mine.detail})"
                )
        elif theirs.ok != mine.ok:
            problems.append(
                f"{case.name}: SDK {theirs.ok} ({theirs.detail}) but jwtgate {mine.ok} "
                f"({mine.detail})"
            )
        elif roles and theirs.ok and theirs.roles != mine.roles:
            problems.append(f"{case.name}: roles {sorted(theirs.roles)} vs {sorted(mine.roles)}")
    assert not problems, "verdicts differ:\n" + "\n".join(problems)


def documented(provider: str, cases: Sequence[Case]) -> None:
    """Each deliberate difference is on the provider's page, by its case name in backquotes."""
    page = (DOCS / f"{provider}.md").read_text(encoding="utf-8")
    missing = [c.name for c in cases if c.stricter is not None and f"`{c.name}`" not in page]
    assert not missing, f"docs/providers/{provider}.md does not list: {missing}"


def summary(provider: str, cases: Sequence[Case], sdk: Mapping[str, Verdict]) -> str:
    """One line per case, for the record (pytest -s shows it)."""
    lines = [f"{provider}: {len(cases)} cases"]
    for case in cases:
        mark = "stricter" if case.stricter else ("accept" if sdk[case.name].ok else "refuse")
        if case.server_decides is not None:
            mark = f"server decides (jwtgate {'accepts' if case.server_decides else 'refuses'})"
        lines.append(f"  {case.name:<32} {mark}")
    return "\n".join(lines)


def run_table(
    provider: str,
    script: str,
    gate: Gate,
    cases: Sequence[Case],
    *,
    now: int,
    config: Mapping[str, Any],
    roles: bool = False,
    node_case: Callable[[Case], dict[str, Any]] | None = None,
) -> Verdicts:
    """Both judges on every case; asserts they agree as ``compare`` says."""
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    payload_cases = [
        {"name": c.name, "token": c.token, "headers": c.request_headers(), **c.node}
        if node_case is None
        else node_case(c)
        for c in cases
    ]
    answers = run_node(script, {"now": now, "config": config, "cases": payload_cases})
    sdk = sdk_verdicts(answers)
    ours = jwtgate_verdicts(gate, cases)
    print(summary(provider, cases, sdk))
    compare(cases, sdk, ours, roles=roles)
    documented(provider, cases)
    return Verdicts(sdk, ours)


@dataclass
class Verdicts:
    """Both judges' verdicts of a table, by case name."""

    sdk: Mapping[str, Verdict]
    jwtgate: Mapping[str, Verdict]
