"""jwtgate.netlify's Identity event hooks: the verifier, the answers, the adapters' edges.

Calls here are signed with PyJWT, shaped as GoTrue's; the same behaviour on
calls signed by jsonwebtoken exactly as GoTrue builds them, through every
framework and over real servers, is in tests/integration/test_gotrue_hooks.py
and test_netlify_servers.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging

import jwt
import pytest

from jwtgate import ConfigurationError
from jwtgate.netlify import (
    HookResponse,
    IdentityEvent,
    IdentityHooks,
    WebhookError,
    WebhookVerifier,
)

SECRET = "hook-secret-for-unit-tests-0123456789abcdef"
INSTANCE = "6f8f3c2e-2b8e-4a57-9a51-2d7d9e6c1a40"
NOW = 1_800_000_000


def body_of(event="signup", email="ada@example.com", instance=INSTANCE, **user) -> bytes:
    payload = {
        "event": event,
        "instance_id": instance,
        "user": {
            "id": "u-1",
            "email": email,
            "app_metadata": {"provider": "email", "roles": ["reader"]},
            "user_metadata": {"full_name": "Ada"},
            **user,
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(body: bytes, *, secret=SECRET, alg="HS256", headers=None, **claims) -> str:
    payload = {
        "iss": "gotrue",
        "sub": INSTANCE,
        "iat": NOW,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    payload.update(claims)
    for name in [k for k, v in payload.items() if v is None]:
        del payload[name]
    return jwt.encode(payload, secret, algorithm=alg, headers=headers)


def verifier(**options) -> WebhookVerifier:
    return WebhookVerifier(SECRET, clock=lambda: NOW, **options)


# --- the verifier --------------------------------------------------------------------


def test_a_gotrue_call_is_verified_and_parsed():
    body = body_of()
    event = verifier(instance_id=INSTANCE).verify(sign(body), body)
    assert (event.event, event.instance_id, event.email) == ("signup", INSTANCE, "ada@example.com")
    assert event.roles == ("reader",)
    assert event.body == body
    assert event.app_metadata["provider"] == "email"
    assert event.user_metadata == {"full_name": "Ada"}
    with pytest.raises(TypeError):
        event.user["email"] = "mallory@example.com"  # type: ignore[index]


def test_the_hash_may_be_upper_case_and_iat_within_the_window():
    body = body_of()
    signature = sign(body, sha256=hashlib.sha256(body).hexdigest().upper(), iat=NOW - 299)
    assert verifier().verify(signature, body).event == "signup"
    assert verifier().verify(sign(body, iat=NOW + 30), body).event == "signup"


@pytest.mark.parametrize(
    ("make", "status", "error"),
    [
        (lambda b: None, 401, "missing_signature"),
        (lambda b: "", 401, "missing_signature"),
        (lambda b: "not.a.jwt!", 401, "invalid_signature"),
        (lambda b: "a" * 9000, 401, "invalid_signature"),
        (lambda b: "é.é.é", 401, "invalid_signature"),
        (
            lambda b: sign(b, secret="another-secret-that-is-long-enough-1234"),
            401,
            "invalid_signature",
        ),
        (lambda b: sign(b, alg="HS512", secret=SECRET * 2), 401, "invalid_signature"),
        (lambda b: sign(b, headers={"crit": ["exp"]}), 401, "invalid_signature"),
        (lambda b: sign(b).rsplit(".", 1)[0] + ".", 401, "invalid_signature"),
        (lambda b: sign(b, iss="netlify"), 401, "invalid_signature"),
        (lambda b: sign(b, iss=None), 401, "invalid_signature"),
        (lambda b: sign(b, sub=None), 401, "invalid_signature"),
        (lambda b: sign(b, sub=""), 401, "invalid_signature"),
        (lambda b: sign(b, iat=None), 401, "invalid_signature"),
        (lambda b: sign(b, iat=True), 401, "invalid_signature"),
        (lambda b: sign(b, iat="1800000000"), 401, "invalid_signature"),
        (lambda b: sign(b, iat=NOW - 301), 401, "stale_signature"),
        (lambda b: sign(b, iat=NOW + 31), 401, "stale_signature"),
        (lambda b: sign(b, exp=NOW), 401, "stale_signature"),
        (lambda b: sign(b, exp="later"), 401, "stale_signature"),
        (lambda b: sign(b, sha256=None), 401, "invalid_signature"),
        (lambda b: sign(b, sha256="abc"), 401, "invalid_signature"),
        (lambda b: sign(b, sha256="0" * 64), 400, "body_mismatch"),
    ],
)
def test_a_bad_signature_is_refused_with_its_reason(make, status, error):
    body = body_of()
    with pytest.raises(WebhookError) as raised:
        verifier().verify(make(body), body)
    assert (raised.value.status, raised.value.error) == (status, error)


def test_a_signed_payload_that_is_not_an_object_is_refused():
    header = jwt.api_jws.encode(b"[1]", SECRET, algorithm="HS256")
    with pytest.raises(WebhookError, match="malformed"):
        verifier().verify(header, b"{}")
    broken = jwt.api_jws.encode(b"{nope", SECRET, algorithm="HS256")
    with pytest.raises(WebhookError, match="malformed"):
        verifier().verify(broken, b"{}")


def test_another_instance_is_refused_when_one_is_configured():
    other = "00000000-0000-0000-0000-000000000000"
    body = body_of(instance=other)
    signature = sign(body, sub=other)
    assert verifier().verify(signature, body).instance_id == other
    with pytest.raises(WebhookError, match="another instance") as raised:
        verifier(instance_id=INSTANCE).verify(signature, body)
    assert raised.value.status == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not an event"),
        (b'{"event": "signup"}', "not an event"),
        (b'{"event": 1, "user": {}}', "not an event"),
        (body_of(instance="someone-else"), "another instance"),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_400(body, message):
    with pytest.raises(WebhookError, match=message) as raised:
        verifier().verify(sign(body), body)
    assert (raised.value.status, raised.value.error) == (400, "invalid_event")


def test_a_body_over_the_limit_is_413_and_never_parsed():
    body = b"{" + b" " * 2000 + b"}"
    with pytest.raises(WebhookError) as raised:
        verifier(max_body=1024).verify(sign(body), body)
    assert (raised.value.status, raised.value.error) == (413, "body_too_large")


def test_the_signature_is_checked_before_the_body_is_read():
    body = b"\xff not even utf-8"
    with pytest.raises(WebhookError) as raised:
        verifier().verify(sign(body_of()), body)
    assert raised.value.error == "body_mismatch"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"secret": "short"}, "at least 32 bytes"),
        ({"secret": 12345}, "at least 32 bytes"),
        ({"instance_id": ""}, "instance_id"),
        ({"max_age": 0}, "max_age: seconds, from 1 to 3600"),
        ({"max_age": True}, "max_age"),
        ({"leeway": 301}, "leeway: seconds, from 0 to 300"),
        ({"max_body": 10}, "max_body"),
        ({"clock": "now"}, "clock"),
    ],
)
def test_a_verifier_is_configured_or_refused_at_construction(arguments, message):
    options = {"secret": SECRET, **arguments}
    with pytest.raises(ConfigurationError, match=message):
        WebhookVerifier(**options)


def test_the_verifier_never_shows_its_secret():
    text = repr(WebhookVerifier(SECRET.encode(), instance_id=INSTANCE))
    assert SECRET not in text
    assert "<43 bytes>" in text


# --- answers -------------------------------------------------------------------------


def event_of(**user) -> IdentityEvent:
    body = body_of(**user)
    return verifier().verify(sign(body), body)


def test_accept_without_changes_is_a_bare_204():
    assert event_of().accept() == HookResponse(204)


def test_accept_with_roles_keeps_the_rest_of_app_metadata():
    reply = event_of().accept(roles=["member"], user_metadata={"plan": "pro"})
    assert reply.status == 200
    assert dict(reply.headers)["Content-Type"] == "application/json"
    assert json.loads(reply.body) == {
        "app_metadata": {"provider": "email", "roles": ["member"]},
        "user_metadata": {"full_name": "Ada", "plan": "pro"},
    }


def test_accept_app_metadata_merges_and_none_removes_a_key():
    reply = event_of().accept(app_metadata={"team": "blue", "provider": None})
    assert json.loads(reply.body) == {
        "app_metadata": {"provider": None, "roles": ["reader"], "team": "blue"}
    }


def test_event_without_metadata_reads_empty():
    event = event_of(app_metadata="oops", user_metadata=None, email=None)
    assert (event.email, dict(event.app_metadata), dict(event.user_metadata), event.roles) == (
        None,
        {},
        {},
        (),
    )
    assert json.loads(event.accept(roles=["x"]).body) == {"app_metadata": {"roles": ["x"]}}


@pytest.mark.parametrize("roles", ["member", ["ok", ""], [1]])
def test_roles_must_be_a_list_of_names(roles):
    with pytest.raises(TypeError, match="roles"):
        event_of().accept(roles=roles)


def test_refuse_answers_gotrues_error_shape():
    reply = event_of().refuse("Invite only", status=422)
    assert (reply.status, json.loads(reply.body)) == (422, {"code": 422, "msg": "Invite only"})
    assert event_of().refuse().status == 403
    for status in (200, 204, 302, True, "403"):
        with pytest.raises(ValueError, match="4xx or 5xx"):
            event_of().refuse("x", status=status)


# --- dispatch and adapters -----------------------------------------------------------


def hooks_with(handler=None, event="signup", **options) -> IdentityHooks:
    hooks = IdentityHooks(SECRET, clock=lambda: NOW, **options)
    if handler is not None:
        hooks.on(event)(handler)
    return hooks


def test_handlers_are_registered_by_event_name():
    hooks = hooks_with(lambda e: e.accept(roles=["member"]), event="identity-signup")
    body = body_of()
    assert hooks.handle(sign(body), body).status == 200
    assert hooks.handle(sign(body_of("login")), body_of("login")) == HookResponse(204)
    assert "signup" in repr(hooks)


@pytest.mark.parametrize(
    ("events", "message"),
    [((), "name at least one event"), (("signin",), "not an Identity event")],
)
def test_registering_a_handler_badly_is_refused(events, message):
    with pytest.raises(ConfigurationError, match=message):
        IdentityHooks(SECRET).on(*events)


def test_an_event_takes_one_handler_and_a_handler_is_a_function():
    hooks = hooks_with(lambda e: None)
    with pytest.raises(ConfigurationError, match="has a handler already"):
        hooks.on("signup")
    with pytest.raises(ConfigurationError, match="decorate a function"):
        hooks.on("login")("not a function")


def test_a_handler_returning_something_else_is_a_programming_error():
    hooks = hooks_with(lambda e: {"app_metadata": {}})
    body = body_of()
    with pytest.raises(TypeError, match=r"event.accept"):
        hooks.handle(sign(body), body)


def test_an_async_handler_needs_the_asgi_app():
    async def handler(event):
        return event.accept(roles=["member"])

    hooks = hooks_with(handler)
    body = body_of()
    with pytest.raises(TypeError, match=r"hooks\.asgi"):
        hooks.handle(sign(body), body)
    reply = asyncio.run(hooks.handle_async(sign(body), body))
    assert json.loads(reply.body)["app_metadata"]["roles"] == ["member"]
    assert asyncio.run(hooks.handle_async(sign(body_of("login")), body_of("login"))).status == 204
    assert asyncio.run(hooks.handle_async(None, body)).status == 401


def test_a_refused_call_is_logged_by_its_reason_only(caplog):
    hooks = hooks_with(lambda e: pytest.fail("the handler must not run"))
    body = body_of()
    signature = sign(body, secret="an-attacker-guessed-secret-0123456789")
    with caplog.at_level(logging.DEBUG, logger="jwtgate"):
        reply = hooks.handle(signature, body)
    assert reply.status == 401
    assert json.loads(reply.body) == {
        "error": "invalid_signature",
        "error_description": "The signature does not verify",
    }
    assert "identity hook refused a call: invalid_signature" in caplog.text
    for secret in (SECRET, signature, "ada@example.com"):
        assert secret not in caplog.text
        assert secret.encode() not in reply.body


def wsgi_call(hooks, method="POST", body=b"", headers=None, length=True):
    environ = {"REQUEST_METHOD": method, "wsgi.input": io.BytesIO(body)}
    if length is True:
        environ["CONTENT_LENGTH"] = str(len(body))
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status.split()[0])
        started["headers"] = dict(response_headers)

    out = b"".join(hooks.wsgi(environ, start_response))
    return started["status"], started["headers"], out


def test_wsgi_takes_post_with_a_declared_length():
    hooks = hooks_with(lambda e: e.accept(roles=["member"]))
    body = body_of()
    status, _, out = wsgi_call(hooks, body=body, headers={"X-Webhook-Signature": sign(body)})
    assert status == 200
    assert json.loads(out)["app_metadata"]["roles"] == ["member"]
    status, headers, _ = wsgi_call(hooks, method="GET")
    assert (status, headers["Allow"]) == (405, "POST")
    assert wsgi_call(hooks, body=body, length=None)[0] == 411
    assert wsgi_call(hooks, body=body, length="lots")[0] == 411
    assert wsgi_call(hooks, body=b"", length="999999999")[0] == 413  # refused unread
    assert wsgi_call(hooks, body=b"", length="0")[0] == 401


def asgi_call(hooks, messages, method="POST", headers=()):
    sent = []
    queue = list(messages)

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "headers": list(headers), "path": "/"}
    asyncio.run(hooks.asgi(scope, receive, send))
    return sent[0]["status"], sent[1]["body"]


def test_asgi_reads_a_chunked_body_up_to_the_limit():
    hooks = hooks_with(lambda e: e.accept(roles=["member"]), max_body=2048)
    body = body_of()
    signature = [(b"x-webhook-signature", sign(body).encode())]
    chunks = [
        {"type": "http.request", "body": body[:10], "more_body": True},
        {"type": "http.request", "body": body[10:], "more_body": False},
    ]
    assert asgi_call(hooks, chunks, headers=signature)[0] == 200
    too_big = [{"type": "http.request", "body": b"x" * 1500, "more_body": True}] * 2
    assert asgi_call(hooks, too_big, headers=signature)[0] == 413
    declared = [(b"content-length", b"999999")]
    assert asgi_call(hooks, [], headers=declared)[0] == 413
    assert asgi_call(hooks, [], headers=[(b"content-length", b"x")])[0] == 401
    assert asgi_call(hooks, [], method="PUT")[0] == 405
    # A client that goes away mid-body leaves a body that does not match its hash.
    gone = [{"type": "http.request", "body": body[:10], "more_body": True}]
    assert asgi_call(hooks, gone, headers=signature)[0] == 400


def test_asgi_serves_http_only():
    async def call():
        await IdentityHooks(SECRET).asgi({"type": "websocket"}, None, None)

    with pytest.raises(RuntimeError, match="http only"):
        asyncio.run(call())


def test_the_flask_view_refuses_what_it_cannot_read():
    from flask import Flask

    app = Flask(__name__)
    app.add_url_rule(
        "/hook", view_func=hooks_with(lambda e: None).flask_view(), methods=["GET", "POST"]
    )
    client = app.test_client()
    assert client.get("/hook").status_code == 405
    big = client.post("/hook", data=b"x" * 300_000, headers={"X-Webhook-Signature": "x"})
    assert big.status_code == 413
    chunked = client.post(
        "/hook", input_stream=io.BytesIO(b"{}"), headers={"Transfer-Encoding": "chunked"}
    )
    assert chunked.status_code == 411
    body = body_of()
    ok = client.post("/hook", data=body, headers={"X-Webhook-Signature": sign(body)})
    assert (ok.status_code, ok.data) == (204, b"")


def test_webhook_error_repr_names_status_and_code():
    assert (
        repr(WebhookError(401, "invalid_signature", "x"))
        == "WebhookError(401, 'invalid_signature')"
    )
