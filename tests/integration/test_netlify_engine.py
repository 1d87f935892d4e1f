"""jwtgate's path rules against Netlify's own: the same files, the same requests, the same answers.

Netlify's side is ``@netlify/redirect-parser`` (its parser) and
``netlify-redirector`` (the engine the Netlify CLI runs for ``netlify dev``,
with ``jwtSecret`` and ``jwtRoleClaim``), pinned by the lockfile in
``tests/netlify_engine`` and run in one Node process for the whole corpus (see
``engine.mjs``); the ``nf_jwt`` cookies are signed there with ``jsonwebtoken``.
jwtgate's side reads the same files with ``jwtgate.netlify`` and verifies the
same cookies with the ``netlify`` preset. For every request the rule chosen,
the status and the target must agree, in the core (``RuleTable.decide``) and
through both adapters (what the app sees, or the answer the client gets).

Where jwtgate differs from the engine on purpose is pinned in
``tests/test_rules.py`` and listed in docs/path-rules.md; the lines jwtgate
refuses although Netlify reads them are checked at the end of this module.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from jwtgate import AuthError, Gate
from jwtgate.asgi import GateMiddleware as ASGIGate
from jwtgate.netlify import RulesError, redirect_rules, toml_rules
from jwtgate.presets import netlify
from jwtgate.rules import Decision, Rule, RuleTable
from jwtgate.wsgi import GateMiddleware as WSGIGate
from tests.netlify_corpus import (
    SECRET,
    CorpusFile,
    corpus,
    run_engine,
)

GENERATED_FILES = 40
#: The adapters run every third request of the corpus (the core runs them all).
ADAPTER_STRIDE = 3


@dataclass
class Run:
    files: list[CorpusFile]
    engine: dict[str, dict[str, Any]]
    tables: dict[str, RuleTable]


@pytest.fixture(scope="module")
def run() -> Run:
    files = corpus(GENERATED_FILES)
    result = run_engine(files)
    engine = {item["name"]: item for item in result["files"]}
    tables = {f.name: RuleTable(_load(f)) for f in files}
    return Run(files, engine, tables)


def _load(corpus_file: CorpusFile) -> list[Rule]:
    if corpus_file.toml is not None:
        return toml_rules(corpus_file.toml)
    assert corpus_file.redirects is not None
    return redirect_rules(corpus_file.redirects)


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate(issuers=[netlify(jwt_secret=SECRET)])


def _cases(run: Run) -> Iterator[tuple[CorpusFile, dict[str, Any], dict[str, Any]]]:
    for corpus_file in run.files:
        outcomes = run.engine[corpus_file.name]["cases"]
        assert len(outcomes) == len(corpus_file.cases)
        yield from (
            (corpus_file, case, outcome)
            for case, outcome in zip(corpus_file.cases, outcomes, strict=True)
        )


def _roles(gate: Gate, cookie: str) -> tuple[frozenset[str], bool, AuthError | None]:
    """The roles, whether signed in, and the token's refusal, as the middleware finds them."""
    if not cookie:
        return frozenset(), False, None
    try:
        user = gate.authenticate(cookies={"nf_jwt": cookie})
    except AuthError as error:
        return frozenset(), False, error
    assert user is not None
    return user.roles, True, None


# --- comparing targets ---------------------------------------------------------------


def _target(location: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(origin, decoded path, decoded query pairs) of a Location or app path."""
    parts = urlsplit(location)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
    path = unquote(parts.path) or "/"  # https://host?q and https://host/?q are one URL
    return origin, path, parse_qsl(parts.query, keep_blank_values=True)


def _engine_target(outcome: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]]]:
    target = outcome["target"]
    query = [tuple(pair) for pair in target["query"]]
    if outcome["to"].startswith("//"):
        # "/:splat" with a splat starting with "/" makes a scheme-relative URL, which
        # the CLI sends to another host; jwtgate keeps it on the site, on purpose
        # (tests/test_rules.py pins it).
        return "", "/" + outcome["to"].lstrip("/").partition("?")[0], query
    origin = target["origin"] if target["absolute"] else ""
    return origin, target["path"], query


def _same_target(
    ours: tuple[str, str, list[Any]], theirs: tuple[str, str, list[Any]], status: int
) -> bool:
    if status == 200:
        # A rewrite onto the path it came from, trailing slash aside, goes through
        # unchanged in jwtgate (an app routes /admin and /admin/ differently).
        strip = lambda t: (t[0], t[1].rstrip("/") or "/", t[2])  # noqa: E731
        return strip(ours) == strip(theirs)
    return ours == theirs


def _describe(
    corpus_file: CorpusFile, case: dict[str, Any], outcome: dict[str, Any], detail: str
) -> str:
    token = case["token"]
    who = (
        "no cookie"
        if token is None
        else (
            "raw"
            if "raw" in token
            else f"roles={token['roles']} expires_in={token['expires_in']} forged={token['forged']}"
        )
    )
    return (
        f"{corpus_file.name}: {case['path']}?{case['query']} ({who}): {detail}; netlify: {outcome}"
    )


# --- the tests -----------------------------------------------------------------------


def test_netlify_reads_every_corpus_file_without_an_error(run):
    errors = {name: item["errors"] for name, item in run.engine.items() if item["errors"]}
    assert errors == {}


def test_jwtgate_reads_the_same_rules_as_netlifys_parser(run):
    compared = 0
    for corpus_file in run.files:
        theirs = [
            (r["from"], r["to"], r["status"] or 301, r["force"], tuple(r["roles"] or ()))
            for r in run.engine[corpus_file.name]["rules"]
        ]
        ours = [
            (r.path, r.to, r.status, r.force, r.roles) for r in run.tables[corpus_file.name].rules
        ]
        assert ours == theirs, corpus_file.name
        compared += len(ours)
    assert compared > 300


def test_every_decision_is_netlifys(run, gate):
    """Which rule, the status and the target agree for every request of the corpus."""
    disagreements = []
    counts = {"cases": 0, "no rule": 0, "404": 0, "200": 0, "3xx": 0, "4xx": 0}
    for corpus_file, case, outcome in _cases(run):
        roles, _, _ = _roles(gate, outcome["cookie"])
        decision = run.tables[corpus_file.name].decide(case["path"], roles, case["query"])
        counts["cases"] += 1
        problem = _compare(run.tables[corpus_file.name], decision, outcome)
        if problem:
            disagreements.append(_describe(corpus_file, case, outcome, problem))
            continue
        if decision is None:
            counts["no rule"] += 1
        elif decision.rule is None:
            counts["404"] += 1
        else:
            counts[
                "200" if decision.status == 200 else "3xx" if decision.status < 400 else "4xx"
            ] += 1
    assert disagreements == [], f"{len(disagreements)} of {counts['cases']}:\n" + "\n".join(
        disagreements[:25]
    )
    # The corpus exercises every kind of decision, many times over.
    assert counts["cases"] > 10_000
    assert min(counts.values()) > 300, counts


def _compare(table: RuleTable, decision: Decision | None, outcome: dict[str, Any]) -> str | None:
    if outcome["rule"] is None and not outcome["force404"]:
        return None if decision is None else f"jwtgate: {decision}"
    if outcome["force404"]:
        if decision is None or decision.rule is not None or decision.status != 404:
            return f"jwtgate: {decision}"
        return None
    if decision is None or decision.rule is None:
        return f"jwtgate: {decision}"
    if table.rules.index(decision.rule) != outcome["rule"] or decision.status != outcome["status"]:
        return f"jwtgate: rule {table.rules.index(decision.rule)} {decision}"
    theirs = _engine_target(outcome)
    if decision.location is None:  # through unchanged
        ours = ("", decision.path, [tuple(p) for p in outcome["target"]["query"]])
    else:
        ours = _target(decision.location)
    if not _same_target(ours, theirs, decision.status):
        return f"jwtgate target {ours}"
    return None


# --- through the adapters ------------------------------------------------------------


def _expected(outcome: dict[str, Any], case: dict[str, Any], navigation: bool) -> tuple[int, Any]:
    """What a client sees when Netlify's decision is applied by an app server.

    (status, the path and query the app was called with) or (status, the
    Location) or (status, None) for an answer the app never sees.
    """
    if outcome["rule"] is None and not outcome["force404"]:
        return 200, ("", case["path"], parse_qsl(case["query"], keep_blank_values=True))
    if outcome["force404"]:
        return 404, None
    status = outcome["status"]
    if status == 200:
        return 200, _engine_target(outcome)
    if status < 400:
        return status, _engine_target(outcome)
    if navigation:
        return status, _engine_target(outcome)
    return status, None


def _seen(app_seen: dict[str, Any] | None) -> tuple[str, str, list[tuple[str, str]]] | None:
    if app_seen is None:
        return None
    return "", app_seen["path"], parse_qsl(app_seen["query"], keep_blank_values=True)


def _check(expected: tuple[int, Any], status: int, location: str | None, seen: Any) -> bool:
    code, target = expected
    if status != code:
        return False
    if target is None:
        return seen is None and location is None
    if location is not None:
        return seen is None and _target(location) == target
    return seen is not None and _same_target(seen, target, 200)


def _wsgi_app(gate: Gate, table: RuleTable) -> tuple[Any, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def app(environ, start_response):
        seen["path"] = environ["PATH_INFO"].encode("latin-1").decode("utf-8")
        seen["query"] = environ["QUERY_STRING"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app"]

    return WSGIGate(app, gate, rules=table), seen


def _environ(case: dict[str, Any], cookie: str, navigation: bool) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": case["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": case["query"],
        "SERVER_NAME": "site.test",
        "SERVER_PORT": "80",
        "HTTP_HOST": "site.test",
        "wsgi.url_scheme": "http",
        "HTTP_ACCEPT": "text/html" if navigation else "application/json",
    }
    if cookie:
        environ["HTTP_COOKIE"] = f"nf_jwt={cookie}"
    return environ


def _replayed(
    run: Run, corpus_file: CorpusFile, navigation: bool
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The requests an adapter replays, with the engine's outcome: every third one; as a
    browser's navigation, every one the engine refuses."""
    outcomes = run.engine[corpus_file.name]["cases"]
    pairs = list(zip(corpus_file.cases, outcomes, strict=True))
    for case, outcome in pairs if navigation else pairs[::ADAPTER_STRIDE]:
        if not navigation or (outcome["status"] or 0) >= 400:
            yield case, outcome


@pytest.mark.parametrize("navigation", [False, True], ids=["api-client", "browser"])
def test_wsgi_answers_as_netlify_decides(run, gate, navigation):
    disagreements, checked = [], 0
    for corpus_file in run.files:
        app, seen = _wsgi_app(gate, run.tables[corpus_file.name])
        for case, outcome in _replayed(run, corpus_file, navigation):
            seen.clear()
            response: dict[str, Any] = {}

            def start_response(status, headers, exc_info=None, response=response):
                response["status"] = int(status.split()[0])
                response["headers"] = dict(headers)

            b"".join(app(_environ(case, outcome["cookie"], navigation), start_response))
            checked += 1
            expected = _expected(outcome, case, navigation)
            if not _check(
                expected,
                response["status"],
                response["headers"].get("Location"),
                _seen(seen or None),
            ):
                disagreements.append(
                    _describe(corpus_file, case, outcome, f"wsgi {response} app saw {seen}")
                )
    assert disagreements == [], f"{len(disagreements)}:\n" + "\n".join(disagreements[:25])
    assert checked > (1000 if navigation else 5_000)


@pytest.mark.parametrize("navigation", [False, True], ids=["api-client", "browser"])
def test_asgi_answers_as_netlify_decides(run, gate, navigation):
    async def main() -> tuple[list[str], int]:
        disagreements, checked = [], 0
        for corpus_file in run.files:
            seen: dict[str, Any] = {}

            async def app(scope, receive, send, seen=seen):
                seen["path"] = scope["path"]
                seen["query"] = scope["query_string"].decode("latin-1")
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"app"})

            middleware = ASGIGate(app, gate, rules=run.tables[corpus_file.name])
            for case, outcome in _replayed(run, corpus_file, navigation):
                seen.clear()
                sent: list[dict[str, Any]] = []
                headers = [
                    (b"host", b"site.test"),
                    (b"accept", b"text/html" if navigation else b"application/json"),
                ]
                if outcome["cookie"]:
                    headers.append((b"cookie", f"nf_jwt={outcome['cookie']}".encode()))
                scope = {
                    "type": "http",
                    "asgi": {"version": "3.0"},
                    "http_version": "1.1",
                    "method": "GET",
                    "scheme": "http",
                    "path": case["path"],
                    "raw_path": case["path"].encode("utf-8"),
                    "query_string": case["query"].encode("latin-1"),
                    "root_path": "",
                    "headers": headers,
                    "server": ("site.test", 80),
                }

                async def receive():
                    return {"type": "http.request", "body": b"", "more_body": False}

                async def send(message, sent=sent):
                    sent.append(message)

                await middleware(scope, receive, send)
                checked += 1
                start = sent[0]
                location = dict(start["headers"]).get(b"location")
                ok = _check(
                    _expected(outcome, case, navigation),
                    start["status"],
                    None if location is None else location.decode("latin-1"),
                    _seen(dict(seen) or None),
                )
                if not ok:
                    disagreements.append(
                        _describe(corpus_file, case, outcome, f"asgi {start} app saw {seen}")
                    )
        return disagreements, checked

    disagreements, checked = asyncio.run(main())
    assert disagreements == [], f"{len(disagreements)}:\n" + "\n".join(disagreements[:25])
    assert checked > (1000 if navigation else 5_000)


# --- where the supported subset ends -------------------------------------------------

#: Lines Netlify's parser reads that jwtgate does not apply, and why (the message says so).
UNSUPPORTED = [
    # Nothing to do with gating: skip_unsupported=True skips them.
    ("/api/*  https://api.example.com/:splat  200", "proxy to another host"),
    ("/search  https://api.mysearch.com  200!", "proxy to another host"),
    ("/en/*  https://en.example.com/:splat  404", "proxy to another host"),
    ("/  /anz  302  Country=au,nz", "Country= condition"),
    ("/israel/*  /israel/he/:splat  200  Country=il Language=he", "Country= condition"),
    ("/fr/*  /fr/:splat  200  Language=fr", "Language= condition"),
    ("/store id=:id  /blog/:id  301", "query-string conditions"),
    ("https://blog.example.com/*  https://www.example.com/blog/:splat  301!", "another domain"),
    ("/api/*  https://api.example.com/:splat  200!  Sign=API_SIGNATURE_TOKEN", "signed proxy"),
    ("/x  /y  302  Cookie=nf_ab", "unknown condition"),
    ("/gone  /410.html  410", "jwtgate applies 200, 301"),
    ("/news/:year/:slug  /blog/:story_id  301", ":story_id is not a placeholder"),
    ("/star*  /stars  301", "* is allowed only as the last segment"),
    ("/blog-:year  /y/:year  301", "a placeholder is a whole segment"),
    ("/x/:a/:ab  /y/:ab  301", "would replace :a inside :ab"),
    ("/go/:host  https://:host/  302", "the host of a URL cannot hold a placeholder"),
]
#: Lines with a Role= condition jwtgate does not apply: refused even with skip_unsupported.
UNSUPPORTED_GATES = [
    ("/admin/*  https://admin.example.com/:splat  200!  Role=admin", "proxy to another host"),
    ("/admin/*  200!  Role=admin, editor", "is not a condition"),
    ("/section/gated  /section/gated  200!  Role=plan:pro", "containing ':'"),
    ("/intl/*  /intl/:splat  200!  Role=staff Country=fr", "Country= condition"),
]
#: Lines Netlify's parser rejects too.
INVALID = [
    ("/lonely", "missing destination"),
    ("/a  b/c  301", "must start with"),
    ("/a  /b  Role=admin", "is not a status code"),
    ("/x  200", "missing destination"),
    ("/a/*  301", "missing destination"),
    ("/.netlify/functions/x  /y  302", "/.netlify"),
]


@pytest.fixture(scope="module")
def netlify_reads() -> dict[str, list[str]]:
    """Netlify parser's errors for each of the lines above, read one file per line."""
    lines = [line for line, _ in UNSUPPORTED + UNSUPPORTED_GATES + INVALID]
    files = [CorpusFile(f"line-{n:02d}", line + "\n") for n, line in enumerate(lines)]
    result = run_engine(files)
    return {line: item["errors"] for line, item in zip(lines, result["files"], strict=True)}


@pytest.mark.parametrize(("line", "reason"), UNSUPPORTED + UNSUPPORTED_GATES)
def test_netlify_reads_a_line_jwtgate_refuses_and_says_why(netlify_reads, line, reason):
    assert netlify_reads[line] == []
    text = f"# header\n/ok  /fine  301\n{line}\n"
    with pytest.raises(RulesError, match=f"_redirects line 3: .*{re.escape(reason)}") as raised:
        redirect_rules(text)
    assert raised.value.line == 3
    gates = (line, reason) in UNSUPPORTED_GATES
    assert raised.value.unsupported is not gates
    if gates:
        with pytest.raises(RulesError, match="line 3"):
            redirect_rules(text, skip_unsupported=True)
    else:
        assert [r.path for r in redirect_rules(text, skip_unsupported=True)] == ["/ok"]


@pytest.mark.parametrize(("line", "reason"), INVALID)
def test_a_line_netlify_rejects_is_refused_whatever_the_option(netlify_reads, line, reason):
    assert netlify_reads[line] != []
    for skip in (False, True):
        with pytest.raises(RulesError, match=f"line 1: .*{re.escape(reason)}") as raised:
            redirect_rules(line + "\n", skip_unsupported=skip)
        assert raised.value.unsupported is False
