"""Path-rule decisions reach the gate's observer: WSGI, ASGI and Django, read by the real SDKs.

Labels are bounded: the rule's line (or position) and the decision's kind,
never the request's path nor its user. A request no rule matches, and a
CORS preflight, report nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest
from werkzeug.test import Client

from jwtgate import Gate
from jwtgate.asgi import GateMiddleware as ASGIMiddleware
from jwtgate.netlify import redirect_rules
from jwtgate.observe import Observer
from jwtgate.otel import OpenTelemetryObserver
from jwtgate.prometheus import PrometheusObserver
from jwtgate.rules import Decision, Rule, RuleTable
from jwtgate.rules_observe import DECISIONS, decision_kind, rule_label
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware
from tests.asgi_helpers import Recorder, http_scope, run
from tests.test_otel import points
from tests.test_prometheus import samples, value

SECRET = "a-netlify-site-secret-of-32-bytes-or-more"

#: Line numbers are the rules' own, 1 to 9.
RULES = """\
/account/:id/*  /account/:id/:splat  200!  Role=member
/account/*      /login               302
/docs/*         /documentation/:splat 200
/old/:id        /new/:id             301
/ops/*          200!                       Role=ops
/ops/*          /denied              403!
/vip/*          200!                       Role=vip
/staff/*        /staff/:splat        200!  Role=staff
/members/*      /join                401!
"""

# path, roles, the status the app answers, the (rule, decision) the observer hears (or None)
REQUESTS = [
    ("/static/app.js", ["member"], 200, None),
    ("/account/4711/orders", ["member"], 200, ("line 1", "allow")),
    ("/account/4711/orders", [], 302, ("line 2", "redirect")),
    ("/docs/intro", [], 200, ("line 3", "rewrite")),
    ("/old/4711", [], 301, ("line 4", "redirect")),
    ("/ops/queue", [], 403, ("line 6", "forbidden")),
    ("/vip/lounge", [], 404, ("none", "not_found")),
    ("/members/4711", [], 401, ("line 9", "unauthorized")),
]


class Recording(Observer):
    """An observer that keeps the rule decisions it hears, in order."""

    def __init__(self) -> None:
        self.decisions: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def rule_decided(self, *, rule: str, decision: str) -> None:
        with self.lock:
            self.decisions.append((rule, decision))


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=SECRET)


def gate_for(tokens: TokenFactory, observer: Observer | None) -> Gate:
    return Gate(issuers=[tokens.issuer_config()], observer=observer)


def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def cookie(tokens: TokenFactory, roles: list[str]) -> str:
    return f"nf_jwt={tokens.token(sub='subject-4711', roles=roles)}"


# --- the labels ------------------------------------------------------------------------------


def test_every_decision_has_one_bounded_kind():
    rule = Rule("/a/*", "/b/:splat", 200)
    cases = {
        Decision(rule, 200, None, False, (), "/a"): "allow",
        Decision(rule, 200, "/b/x", False, (), "/a/x"): "rewrite",
        **{Decision(rule, s, "/b", False, (), "/a"): "redirect" for s in (301, 302, 303, 307, 308)},
        Decision(rule, 401, None, False, (), "/a"): "unauthorized",
        Decision(rule, 403, None, False, (), "/a"): "forbidden",
        Decision(None, 404, None, True, ("vip",), "/a"): "not_found",
    }
    assert {decision_kind(d) for d in cases} == DECISIONS
    assert all(decision_kind(d) == kind for d, kind in cases.items())


def test_a_rule_is_named_by_its_line_or_its_position():
    assert rule_label(redirect_rules("\n\n/a/*  /b  302\n")[0], 1) == "line 3"
    assert rule_label(Rule("/a/*", "/b", 302), 7) == "rule 7"


# --- each applier reports what it decided --------------------------------------------------


def test_wsgi_reports_each_decision_and_nothing_else(tokens):
    observer = Recording()
    app = GateMiddleware(wsgi_app, gate_for(tokens, observer), rules=redirect_rules(RULES))
    client = Client(app)
    for path, roles, status, heard in REQUESTS:
        observer.decisions.clear()
        client.set_cookie("nf_jwt", tokens.token(sub="subject-4711", roles=roles))
        assert client.get(path).status_code == status, path
        assert observer.decisions == ([] if heard is None else [heard]), path
    preflight = {"Origin": "https://a.test", "Access-Control-Request-Method": "POST"}
    observer.decisions.clear()
    client.options("/members/4711", headers=preflight)
    assert observer.decisions == []


def test_asgi_reports_each_decision_and_nothing_else(tokens):
    observer = Recording()
    app = ASGIMiddleware(Recorder(), gate=gate_for(tokens, observer), rules=redirect_rules(RULES))
    for path, roles, status, heard in REQUESTS:
        observer.decisions.clear()
        result = run(app, http_scope([("cookie", cookie(tokens, roles))], path=path))
        assert result.status == status, path
        assert observer.decisions == ([] if heard is None else [heard]), path
    observer.decisions.clear()
    preflight = [("origin", "https://a.test"), ("access-control-request-method", "POST")]
    run(app, http_scope(preflight, method="OPTIONS", path="/members/4711"))
    assert observer.decisions == []
    denied = run(app, http_scope(path="/members/4711", kind="websocket"))
    assert denied.messages[-1] == {"type": "websocket.close", "code": 1008}
    assert observer.decisions == [("line 9", "unauthorized")]


def test_rules_written_in_code_are_named_by_position(tokens):
    observer = Recording()
    rules = [Rule("/a/*", "/b/:splat", 302), Rule("/admin/*", status=404)]
    client = Client(GateMiddleware(wsgi_app, gate_for(tokens, observer), rules=rules))
    client.get("/admin/users/4711")
    client.get("/a/x")
    assert observer.decisions == [("rule 2", "not_found"), ("rule 1", "redirect")]


def test_without_an_observer_nothing_is_set_up(tokens):
    table = RuleTable(redirect_rules(RULES))
    wsgi = GateMiddleware(wsgi_app, gate_for(tokens, None), rules=table)
    asgi = ASGIMiddleware(Recorder(), gate=gate_for(tokens, None), rules=table)
    assert wsgi.app._report is None  # type: ignore[attr-defined]
    assert asgi.app._report is None  # type: ignore[attr-defined]
    assert Client(wsgi).get("/old/1").status_code == 301


# --- read by the real Prometheus and OpenTelemetry SDKs -------------------------------------


def test_prometheus_counts_decisions_by_line_and_kind(tokens):
    registry = CollectorRegistry()
    gate = gate_for(tokens, PrometheusObserver(registry=registry))
    client = Client(GateMiddleware(wsgi_app, gate, rules=redirect_rules(RULES)))
    for path, roles, _, _ in REQUESTS * 2:
        client.set_cookie("nf_jwt", tokens.token(sub="subject-4711", roles=roles))
        client.get(path)
    text = generate_latest(registry).decode()
    found = samples(text)
    decisions = {
        labels: count
        for (name, labels), count in found.items()
        if name == "jwtgate_rule_decisions_total"
    }
    expected = {frozenset({("rule", r), ("decision", d)}): 2.0 for *_, (r, d) in REQUESTS[1:]}
    expected[frozenset({("rule", "line 4"), ("decision", "redirect")})] = 2.0
    assert decisions == expected
    assert value(found, "jwtgate_rule_decisions_total", rule="line 2", decision="redirect") == 2
    assert "4711" not in text  # no path, no subject
    assert "/account" not in text


@pytest.fixture
def meters() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider, reader
    provider.shutdown()


def test_opentelemetry_counts_decisions_by_line_and_kind(tokens, meters):
    provider, reader = meters
    observer = OpenTelemetryObserver(meter_provider=provider, spans=False)
    app = ASGIMiddleware(Recorder(), gate=gate_for(tokens, observer), rules=redirect_rules(RULES))
    for path, roles, _, _ in REQUESTS:
        run(app, http_scope([("cookie", cookie(tokens, roles))], path=path))
    found = points(reader)["jwtgate.rule.decisions"]
    assert sorted(found, key=repr) == sorted(
        (({"jwtgate.rule": r, "jwtgate.decision": d}, 1) for *_, (r, d) in REQUESTS[1:]),
        key=repr,
    )
    assert "4711" not in repr(points(reader))


# --- Django -----------------------------------------------------------------------------------


def test_django_reports_each_decision(tokens):
    from tests.django_project import configure

    configure()
    from django.test import Client as DjangoClient

    from tests.test_django import jwtgate_settings

    observer = Recording()
    gate = Gate(
        issuers=[TokenFactory.netlify(secret=SECRET).issuer_config()],
        observer=observer,
    )
    rules = [Rule("/page/old/*", "/page/new/:splat", 301), Rule("/page/ops/*", status=403)]
    with jwtgate_settings(JWTGATE_GATE=gate, JWTGATE_NETLIFY_JWT_SECRET=None, JWTGATE_RULES=rules):
        client = DjangoClient()
        assert client.get("/page/old/4711").status_code == 301
        assert client.get("/page/ops/4711").status_code == 403
        assert client.get("/page/free/4711").status_code == 200
    assert observer.decisions == [("rule 1", "redirect"), ("rule 2", "forbidden")]


def test_the_observers_stay_bounded_whatever_they_are_told(meters):
    # A subclass or a huge table may report many rules: labels stay bounded, counts exact.
    registry = CollectorRegistry()
    prometheus = PrometheusObserver(registry=registry)
    provider, reader = meters
    otel = OpenTelemetryObserver(meter_provider=provider, spans=False)
    for n in range(1500):
        for observer in (prometheus, otel):
            observer.rule_decided(rule=f"rule {n}", decision="allow")
    found = samples(generate_latest(registry).decode())
    counted = {
        labels: count
        for (name, labels), count in found.items()
        if name == "jwtgate_rule_decisions_total"
    }
    assert sum(counted.values()) == 1500
    assert len(counted) == 101  # 100 rules, then "other"
    assert counted[frozenset({("rule", "other"), ("decision", "allow")})] == 1400
    otel_points = points(reader)["jwtgate.rule.decisions"]
    assert sum(count for _, count in otel_points) == 1500
    assert len(otel_points) == 101
