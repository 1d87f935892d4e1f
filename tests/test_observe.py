"""The observer interface: what the gate and both adapters report, with which labels."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest
from werkzeug.test import Client

from jwtgate import (
    AuthError,
    ConfigurationError,
    Forbidden,
    Gate,
    User,
    require_auth,
    require_roles,
)
from jwtgate.asgi import GateMiddleware as ASGIMiddleware
from jwtgate.observe import BoundedLabel, HitTally, Observer, Reporter, reason_of
from jwtgate.remote import RemoteOptions
from jwtgate.revocation import MemoryRevocations
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import GateMiddleware
from tests.asgi_helpers import Recorder as ASGIRecorder
from tests.asgi_helpers import http_scope, run
from tests.tokens import bearer


class Events(Observer):
    """Records every event it receives."""

    def __init__(self, wants_user: bool = False) -> None:
        self.events: list[tuple[str, dict]] = []
        self.users: list[User] = []
        self.wants_user = wants_user
        self._lock = threading.Lock()

    def _add(self, name: str, **fields) -> None:
        with self._lock:
            self.events.append((name, fields))

    def accepted(self, *, issuer, how, count=1):
        self._add("accepted", issuer=issuer, how=how, count=count)

    def refused(self, *, issuer, error, reason):
        self._add("refused", issuer=issuer, error=error, reason=reason)

    def keys_fetched(self, *, issuer, result, seconds):
        assert seconds >= 0
        self._add("keys_fetched", issuer=issuer, result=result)

    def keys_changed(self, *, issuer, added, removed):
        self._add("keys_changed", issuer=issuer, added=added, removed=removed)

    def revocation_checked(self, *, outcome, seconds):
        assert seconds >= 0
        self._add("revocation_checked", outcome=outcome)

    def request_user(self, user):
        self.users.append(user)

    def named(self, name: str) -> list[dict]:
        return [fields for event, fields in self.events if event == name]

    def accepted_counts(self) -> Counter:
        self.flush()
        counts: Counter = Counter()
        for fields in self.named("accepted"):
            counts[(fields["issuer"], fields["how"])] += fields["count"]
        return counts


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def gate(rs256, clock, events) -> Gate:
    return Gate(issuers=[rs256.issuer_config(name="main")], clock=clock, observer=events)


# --- accepted --------------------------------------------------------------------------


def test_the_gate_reports_a_verification_then_cache_hits(gate, rs256, events):
    token = rs256.token()
    for _ in range(3):
        gate.authenticate(headers=bearer(token))
    assert events.accepted_counts() == {("main", "verified"): 1, ("main", "hit"): 2}


def test_the_wsgi_adapter_counts_its_cache_hits(gate, rs256, events):
    @require_auth
    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"ok"]

    client = Client(GateMiddleware(app, gate))
    token = rs256.token()
    for _ in range(5):
        client.get("/", headers=bearer(token)).close()
    client.get("/").close()  # anonymous requests are not counted
    assert events.accepted_counts() == {("main", "verified"): 1, ("main", "hit"): 4}
    events.events.clear()
    assert events.accepted_counts() == {}  # delivered once


def test_the_asgi_adapter_counts_its_cache_hits(gate, rs256, events):
    middleware = ASGIMiddleware(ASGIRecorder(), gate)
    token = rs256.token()
    for _ in range(5):
        assert run(middleware, http_scope(bearer(token).items())).status == 200
    assert events.accepted_counts() == {("main", "verified"): 1, ("main", "hit"): 4}


def test_hits_are_counted_exactly_across_threads():
    tally = HitTally(lambda iss: iss or "none")

    def hit() -> None:
        for _ in range(20_000):
            next(tally["https://a/"])
        next(tally[None])

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tally.drain() == {"https://a/": 160_000, "none": 8}
    assert tally.drain() == {}


def test_one_observer_sums_the_hits_of_several_gates(rs256, clock, events):
    gates = [
        Gate(issuers=[rs256.issuer_config(name="main")], clock=clock, observer=events)
        for _ in range(2)
    ]
    token = rs256.token()
    for gate in gates:
        for _ in range(3):
            gate.authenticate(headers=bearer(token))
    assert events.accepted_counts() == {("main", "verified"): 2, ("main", "hit"): 4}


def test_the_slow_path_flushes_hits_at_most_once_a_second(gate, rs256, events, monkeypatch):
    import jwtgate.observe

    now = [1000.0]
    monkeypatch.setattr(jwtgate.observe.time, "monotonic", lambda: now[0])
    reporter = gate._reporter
    assert reporter is not None
    reporter._last_flush = now[0]
    token = rs256.token()
    gate.authenticate(headers=bearer(token))
    gate.authenticate(headers=bearer(token))  # a hit, counted, not delivered
    assert events.named("accepted") == [{"issuer": "main", "how": "verified", "count": 1}]
    now[0] += 1.5
    gate.authenticate(headers=bearer(rs256.token(sub="other")))  # a verification flushes
    assert {"issuer": "main", "how": "hit", "count": 1} in events.named("accepted")


def test_hits_of_an_issuer_accepting_any_iss_are_reported_under_its_name(clock, events):
    tokens = TokenFactory.netlify(clock=clock)
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, observer=events)
    token = tokens.token()
    gate.authenticate(headers=bearer(token))
    gate.authenticate(headers=bearer(token))
    assert events.accepted_counts() == {("netlify", "verified"): 1, ("netlify", "hit"): 1}


# --- refused ---------------------------------------------------------------------------


def refusal_of(gate: Gate, **request) -> dict:
    with pytest.raises(AuthError):
        gate.authenticate(**request)
    return gate.observer.named("refused")[-1]  # type: ignore[union-attr]


def test_refusals_are_reported_by_issuer_error_code_and_reason(gate, rs256, clock):
    assert refusal_of(gate, headers=bearer(rs256.expired())) == {
        "issuer": "main",
        "error": "invalid_token",
        "reason": "expired_token",
    }
    assert refusal_of(gate, headers=bearer(rs256.wrong_signature()))["reason"] == (
        "invalid_signature"
    )
    assert refusal_of(gate, headers=bearer(rs256.wrong_issuer())) == {
        "issuer": "",
        "error": "invalid_token",
        "reason": "untrusted_issuer",
    }
    assert refusal_of(gate, headers=bearer("not.a.token"))["reason"] == "invalid_token"
    assert refusal_of(gate, headers={"Authorization": "Bearer a b"}) == {
        "issuer": "",
        "error": "invalid_request",
        "reason": "invalid_request",
    }


def test_a_refusal_names_no_token_subject_or_claim(gate, rs256):
    token = rs256.expired(sub="secret-subject", email="ada@example.com")
    fields = refusal_of(gate, headers=bearer(token))
    text = repr(fields)
    for secret in (token, "secret-subject", "ada@example.com"):
        assert secret not in text


def test_csrf_refusals_say_why(rs256, clock, events):
    gate = Gate(
        issuers=[rs256.issuer_config(name="main")],
        sources=["cookie:session"],
        clock=clock,
        observer=events,
    )
    from jwtgate.sources import MappingView

    view = {"Cookie": f"session={rs256.token()}", "Host": "app.example.com"}
    for origin, reason in (("https://evil.example", "origin_mismatch"), (None, "no_evidence")):
        headers = dict(view, **({"Origin": origin} if origin else {}))
        with pytest.raises(AuthError):
            gate.authenticate(MappingView(headers, None, method="POST"))
        assert events.named("refused")[-1] == {
            "issuer": "",
            "error": "csrf_rejected",
            "reason": reason,
        }


def test_refusals_raised_by_the_app_are_reported_by_both_adapters(gate, rs256, events):
    @require_roles("admin")
    def wsgi_app(environ, start_response):  # pragma: no cover - never reached
        start_response("200 OK", [])
        return [b"ok"]

    client = Client(GateMiddleware(wsgi_app, gate))
    assert client.get("/", headers=bearer(rs256.token(roles=["user"]))).status_code == 403
    assert client.get("/").status_code == 401

    async def asgi_app(scope, receive, send):
        raise Forbidden(roles=["admin"])

    assert (
        run(ASGIMiddleware(asgi_app, gate), http_scope(bearer(rs256.token()).items())).status == 403
    )
    assert events.named("refused") == [
        {"issuer": "main", "error": "insufficient_scope", "reason": "forbidden"},
        {"issuer": "", "error": "missing_token", "reason": "missing_token"},
        {"issuer": "main", "error": "insufficient_scope", "reason": "forbidden"},
    ]


# --- revocation checks -----------------------------------------------------------------


def test_revocation_checks_report_their_outcome(rs256, clock, events):
    store = MemoryRevocations(clock=clock)
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, observer=events, is_revoked=store)
    token = rs256.token()
    gate.authenticate(headers=bearer(token))
    store.revoke(token)
    with pytest.raises(AuthError):
        gate.authenticate(headers=bearer(token))

    def failing(user):
        raise RuntimeError("down")

    broken = Gate(issuers=[rs256.issuer_config()], clock=clock, observer=events, is_revoked=failing)
    with pytest.raises(AuthError):
        asyncio.run(broken.authenticate_async(headers=bearer(token)))
    assert [e["outcome"] for e in events.named("revocation_checked")] == [
        "not_revoked",
        "revoked",
        "unavailable",
    ]
    assert events.named("refused")[0]["reason"] == "revoked_token"
    assert events.named("refused")[1]["reason"] == "revocation_unavailable"


# --- keys ------------------------------------------------------------------------------


def test_key_fetches_and_key_set_changes_are_reported(clock, events):
    from tests.conftest import FrozenClock

    tokens = TokenFactory("ES256", clock=clock)
    monotonic = FrozenClock(1000.0)
    with tokens.serve_jwks() as server:
        issuer = tokens.issuer_config(
            jwks_url=server.url, name="remote", remote=RemoteOptions(clock=monotonic)
        )
        gate = Gate(issuers=[issuer], clock=clock, observer=events)
        gate.authenticate(headers=tokens.headers())
        server.rotate()
        monotonic.advance(31)  # past the cooldown: an unknown kid refetches
        gate.authenticate(headers=tokens.headers())
        server.fail_next(5)
        server.rotate()
        monotonic.advance(31)
        with pytest.raises(AuthError):
            gate.authenticate(headers=tokens.headers())
    assert events.named("keys_fetched") == [
        {"issuer": "remote", "result": "ok"},
        {"issuer": "remote", "result": "ok"},
        {"issuer": "remote", "result": "error"},
    ]
    assert events.named("keys_changed") == [
        {"issuer": "remote", "added": 1, "removed": 0},
        {"issuer": "remote", "added": 1, "removed": 1},
    ]


# --- the user of each request ----------------------------------------------------------


def test_request_user_is_called_for_every_authenticated_request_when_wanted(rs256, clock):
    wanting, indifferent = Events(wants_user=True), Events()
    token = rs256.token(sub="u1")

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b""]

    for observer in (wanting, indifferent):
        gate = Gate(issuers=[rs256.issuer_config()], clock=clock, observer=observer)
        client = Client(GateMiddleware(app, gate))
        for _ in range(3):
            client.get("/", headers=bearer(token)).close()
        client.get("/").close()
        middleware = ASGIMiddleware(ASGIRecorder(), gate)
        for _ in range(2):
            run(middleware, http_scope(bearer(token).items()))
        run(middleware, http_scope())
    assert [u.subject for u in wanting.users] == ["u1"] * 5
    assert indifferent.users == []


# --- the pieces ------------------------------------------------------------------------


def test_reason_of_is_the_error_kind_in_snake_case():
    from jwtgate import CrossSiteRequest, ExpiredToken, KeysUnavailable

    class TooManyTokensToday(AuthError):
        pass

    assert reason_of(ExpiredToken()) == "expired_token"
    assert reason_of(KeysUnavailable()) == "keys_unavailable"
    assert reason_of(CrossSiteRequest(reason="origin_mismatch")) == "origin_mismatch"
    assert reason_of(TooManyTokensToday()) == "too_many_tokens_today"


def test_a_bounded_label_turns_new_values_into_other_past_its_limit():
    label = BoundedLabel(limit=2)
    assert [label(v) for v in ("a", "b", "c", "a", "d")] == ["a", "b", "other", "a", "other"]


def test_an_observer_must_be_an_observer_and_hashable(rs256):
    with pytest.raises(ConfigurationError, match="observer"):
        Gate(issuers=[rs256.issuer_config()], observer=object())  # type: ignore[arg-type]

    class Unhashable(Observer):
        __hash__ = None  # type: ignore[assignment]

    with pytest.raises(ConfigurationError, match="hashable"):
        Gate(issuers=[rs256.issuer_config()], observer=Unhashable())


def test_the_base_observer_ignores_every_event(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], clock=clock, observer=Observer())
    token = rs256.token()
    gate.authenticate(headers=bearer(token))
    gate.authenticate(headers=bearer(token))
    with pytest.raises(AuthError):
        gate.authenticate(headers=bearer(rs256.expired()))
    assert isinstance(gate._reporter, Reporter)
    Observer().flush()
    Observer().rule_decided(rule="/admin/*", decision="deny")


def test_a_cross_site_websocket_handshake_is_reported_as_a_csrf_refusal(rs256, clock, events):
    gate = Gate(
        issuers=[rs256.issuer_config(name="main")],
        sources=["cookie:session"],
        clock=clock,
        observer=events,
    )
    headers = [
        ("Cookie", f"session={rs256.token()}"),
        ("Host", "app.example.com"),
        ("Origin", "https://evil.example"),
    ]
    run(ASGIMiddleware(ASGIRecorder(), gate), http_scope(headers, kind="websocket"))
    assert events.named("refused") == [
        {"issuer": "", "error": "csrf_rejected", "reason": "origin_mismatch"}
    ]
