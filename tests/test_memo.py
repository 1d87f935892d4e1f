"""The adapters' memo: exact matches only, bounded, and never more lenient than the gate."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from jwtgate import Gate
from jwtgate.asgi import GateMiddleware as ASGIGateMiddleware
from jwtgate.memo import TAIL, CredentialMemo, credential_places
from jwtgate.presets import ClerkSessionCookie, SupabaseSessionCookie
from jwtgate.sources import (
    BearerSource,
    CookieSource,
    Places,
    RequestView,
    Source,
    _one,
    parse_source,
)
from jwtgate.wsgi import GateMiddleware as WSGIGateMiddleware

from .asgi_helpers import Recorder, http_scope, run

# --- the memo itself ------------------------------------------------------------------


def test_a_value_is_found_only_by_an_equal_value():
    memo: CredentialMemo[tuple[str, int]] = CredentialMemo(8)
    value = "Bearer " + "a" * 40 + "." + "s" * TAIL
    memo.put((value, 1))

    assert memo.get(value) == (value, 1)
    assert memo.get("".join(["Bearer ", "a" * 40, ".", "s" * TAIL])) == (value, 1)
    assert memo.get("Bearer " + "b" * 40 + "." + "s" * TAIL) is None  # same tail, other value
    assert memo.get("Bearer x") is None


def test_a_value_sharing_a_tail_replaces_the_older_entry():
    memo: CredentialMemo[tuple[str, str]] = CredentialMemo(8)
    tail = "t" * TAIL
    memo.put(("first." + tail, "first"))
    memo.put(("second." + tail, "second"))

    assert memo.get("first." + tail) is None
    assert memo.get("second." + tail) == ("second." + tail, "second")
    assert len(memo) == 1


def test_bytes_and_tuples_of_values_are_keys_too():
    memo: CredentialMemo[tuple[object, str]] = CredentialMemo(8)
    memo.put((b"Bearer abc", "bytes"))
    memo.put(((b"Bearer abc", None, b"token=x"), "tuple"))

    assert memo.get(b"Bearer abc") == (b"Bearer abc", "bytes")
    assert memo.get((b"Bearer abc", None, b"token=x")) == (
        (b"Bearer abc", None, b"token=x"),
        "tuple",
    )
    assert memo.get((b"Bearer abc", None, b"token=y")) is None


def test_the_memo_keeps_the_newest_entries_up_to_its_bound():
    memo: CredentialMemo[tuple[str, int]] = CredentialMemo(3)
    for index in range(5):
        memo.put((f"value-{index}", index))

    assert len(memo) == 3
    assert memo.get("value-0") is None
    assert memo.get("value-4") == ("value-4", 4)
    memo.clear()
    assert len(memo) == 0


def test_credential_places_names_every_place_the_built_in_sources_read():
    sources = [parse_source(s) for s in ("bearer", "cookie:nf_jwt", "header:X-Token", "query:t")]
    assert credential_places(sources) == (("authorization", "cookie", "x-token"), True)
    assert credential_places([parse_source("cookie:a"), parse_source("cookie:b")]) == (
        ("cookie",),
        False,
    )


def test_a_custom_source_has_no_places():
    class PathToken(BearerSource):
        def extract(self, view: RequestView) -> str | None:
            return None

    assert credential_places([PathToken()]) is None


def test_the_providers_cookie_sources_are_keyed_by_the_cookie_header():
    sources = [ClerkSessionCookie(), SupabaseSessionCookie("sb-ref-auth-token")]
    assert credential_places(sources) == (("cookie",), False)


def test_a_source_is_keyed_by_what_it_declares_and_no_more():
    class Declared(Source):
        spec = "custom:declared"

        def reads(self) -> Places:
            return ("x-session",), False

        def extract(self, view: RequestView) -> str | None:
            return _one(view.header_values("x-session"), "x-session header")

    class ReadsMore(Declared):  # extract overridden, the declaration not: anything
        def extract(self, view: RequestView) -> str | None:
            return super().extract(view) or _one(view.header_values("x-other"), "x-other")

    class Renamed(CookieSource):  # only a name of its own: still a cookie
        def __init__(self) -> None:
            super().__init__("renamed")

    assert credential_places([Declared()]) == (("x-session",), False)
    assert credential_places([ReadsMore()]) is None
    assert credential_places([Renamed(), Declared()]) == (("cookie", "x-session"), False)
    assert credential_places([Source()]) is None


# --- a forged token that shares the remembered token's tail ---------------------------


def wsgi_status(middleware, headers):
    environ = EnvironBuilder(headers=headers).get_environ()
    app_iter, status, _ = run_wsgi_app(middleware, environ)
    return int(status[:3]), json.loads(b"".join(app_iter))


def wsgi_echo(environ, start_response):
    user = environ["jwtgate.user"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"sub": user.subject, "roles": sorted(user.roles)}).encode()]


def test_wsgi_a_tampered_token_with_the_remembered_signature_is_refused(gate, rs256):
    middleware = WSGIGateMiddleware(wsgi_echo, gate, reject_invalid=True)
    genuine = rs256.token(sub="alice", roles=["reader"])
    forged = rs256.tampered(sub="alice", roles=["reader"])
    assert forged[-TAIL:] == genuine[-TAIL:]
    assert forged != genuine
    assert wsgi_status(middleware, {"Authorization": f"Bearer {genuine}"}) == (
        200,
        {"sub": "alice", "roles": ["reader"]},
    )

    status, body = wsgi_status(middleware, {"Authorization": f"Bearer {forged}"})

    assert (status, body["error"]) == (401, "invalid_token")
    assert "admin" not in json.dumps(body)
    assert forged not in json.dumps(body)
    assert wsgi_status(middleware, {"Authorization": f"Bearer {genuine}"})[0] == 200


def test_asgi_a_tampered_token_with_the_remembered_signature_is_refused(gate, rs256):
    middleware = ASGIGateMiddleware(Recorder(), gate, reject_invalid=True)
    genuine = rs256.token(sub="alice", roles=["reader"])
    forged = rs256.tampered(sub="alice", roles=["reader"])
    assert run(middleware, http_scope([("Authorization", f"Bearer {genuine}")])).status == 200

    result = run(middleware, http_scope([("Authorization", f"Bearer {forged}")]))

    assert (result.status, result.json()["error"]) == (401, "invalid_token")
    assert b"admin" not in result.body
    assert forged.encode() not in result.body
    assert run(middleware, http_scope([("Authorization", f"Bearer {genuine}")])).status == 200


# --- the WSGI memo follows the gate ---------------------------------------------------


def test_wsgi_a_repeated_request_is_answered_without_asking_the_gate(gate, rs256):
    middleware = WSGIGateMiddleware(wsgi_echo, gate)
    headers = {"Authorization": f"Bearer {rs256.token(sub='m1')}"}
    assert wsgi_status(middleware, headers)[1]["sub"] == "m1"

    with mock.patch.object(gate, "authenticate", side_effect=AssertionError("asked again")):
        assert wsgi_status(middleware, headers)[1]["sub"] == "m1"


def test_wsgi_clearing_the_gates_cache_makes_the_memo_ask_again(gate, rs256):
    middleware = WSGIGateMiddleware(wsgi_echo, gate)
    headers = {"Authorization": f"Bearer {rs256.token(sub='m2')}"}
    wsgi_status(middleware, headers)
    gate.clear_cache()

    with mock.patch.object(gate, "authenticate", wraps=gate.authenticate) as spy:
        assert wsgi_status(middleware, headers)[1]["sub"] == "m2"

    assert spy.call_count == 1


def test_wsgi_the_memo_is_bounded(gate):
    middleware = WSGIGateMiddleware(wsgi_echo, gate)
    middleware._memo.maxsize = 3
    for index in range(5):
        wsgi_status(middleware, {"Authorization": f"Basic {index}"})

    assert len(middleware._memo) == 3


@pytest.mark.parametrize("sources", [["bearer", "query:t"], ["cookie:jwt", "header:x-token"]])
def test_wsgi_several_places_are_remembered_together(rs256, clock, sources):
    gate = Gate(issuers=[rs256.issuer_config()], sources=sources, clock=clock)
    middleware = WSGIGateMiddleware(wsgi_echo, gate)
    token = rs256.token(sub="p1")
    place = sources[0]
    headers = (
        {"Authorization": f"Bearer {token}"} if place == "bearer" else {"Cookie": f"jwt={token}"}
    )
    assert wsgi_status(middleware, headers)[1]["sub"] == "p1"
    assert wsgi_status(middleware, {})[1]["sub"] is None

    with mock.patch.object(gate, "authenticate", side_effect=AssertionError("asked again")):
        assert wsgi_status(middleware, headers)[1]["sub"] == "p1"
    assert len(middleware._memo) == 1


# --- Gate.still_valid, the rule both adapters apply to a remembered user --------------


def test_still_valid_follows_the_gates_cache_and_revocation(rs256, clock):
    revoked: set[str] = set()
    gate = Gate(
        issuers=[rs256.issuer_config()], clock=clock, is_revoked=lambda u: u.subject in revoked
    )
    token = rs256.token(sub="alice", expires_in=60)
    user = gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    assert user is not None
    assert gate.still_valid(user)

    revoked.add("alice")
    assert not gate.still_valid(user)
    revoked.clear()
    assert gate.still_valid(user)

    clock.advance(60)
    assert not gate.still_valid(user)


def test_still_valid_is_false_once_the_cache_forgot_the_user(gate, rs256):
    token = rs256.token(sub="bob")
    user = gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    assert user is not None
    other = user.with_source("cookie:jwt")  # an equal user, but not the cached object

    assert gate.still_valid(user)
    assert not gate.still_valid(other)
    gate.clear_cache()
    assert not gate.still_valid(user)


# --- the providers' cookie sources go through the memo too ----------------------------


def clerk_cookie(token: str, signed_in_at: int) -> str:
    return f"__session={token}; __client_uat={signed_in_at}"


def test_wsgi_a_clerk_session_is_remembered_by_its_cookie_header(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], sources=[ClerkSessionCookie()], clock=clock)
    middleware = WSGIGateMiddleware(wsgi_echo, gate)
    token = rs256.token(sub="c1")
    signed_in = int(clock.now) - 60
    headers = {"Cookie": clerk_cookie(token, signed_in)}
    assert wsgi_status(middleware, headers)[1]["sub"] == "c1"

    with mock.patch.object(gate, "authenticate", side_effect=AssertionError("asked again")):
        assert wsgi_status(middleware, headers)[1]["sub"] == "c1"
    # Signed out since (__client_uat 0): another Cookie header, asked again: anonymous.
    assert wsgi_status(middleware, {"Cookie": clerk_cookie(token, 0)})[1]["sub"] is None
    assert wsgi_status(middleware, headers)[1]["sub"] == "c1"


def test_asgi_a_supabase_session_is_remembered_by_its_cookie_header(rs256, clock):
    import base64

    source = SupabaseSessionCookie("sb-ref-auth-token")
    gate = Gate(issuers=[rs256.issuer_config()], sources=[source], clock=clock)
    middleware = ASGIGateMiddleware(Recorder(), gate)
    session = json.dumps({"access_token": rs256.token(sub="s1")}).encode()
    value = "base64-" + base64.urlsafe_b64encode(session).decode().rstrip("=")
    cookies = [("Cookie", f"sb-ref-auth-token.0={value[:100]}; sb-ref-auth-token.1={value[100:]}")]
    assert run(middleware, http_scope(cookies)).json() == {"sub": "s1"}

    with mock.patch.object(gate, "authenticate_async", side_effect=AssertionError("asked")):
        assert run(middleware, http_scope(cookies)).json() == {"sub": "s1"}
    assert len(middleware._memo) == 1
