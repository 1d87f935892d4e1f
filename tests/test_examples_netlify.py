"""The examples' Netlify parity: their _redirects rules and their Identity signup hook.

The rules files are also run through Netlify's own engine with the rest of
the corpus (tests/integration/test_netlify_engine.py). The hook calls here are
signed with PyJWT in GoTrue's shape, with the public development key the
examples fall back on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import jwt
import pytest

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
INSTANCE = "6f8f3c2e-2b8e-4a57-9a51-2d7d9e6c1a40"


def signup_call(email: str, secret: str = DEVELOPMENT_SECRET) -> tuple[bytes, dict[str, str]]:
    user = {"id": "u-1", "email": email, "app_metadata": {"provider": "email"}, "user_metadata": {}}
    body = json.dumps({"event": "signup", "instance_id": INSTANCE, "user": user}).encode()
    claims = {
        "iss": "gotrue",
        "sub": INSTANCE,
        "iat": int(time.time()),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    signature = jwt.encode(claims, secret, algorithm="HS256")
    return body, {"Content-Type": "application/json", "X-Webhook-Signature": signature}


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=DEVELOPMENT_SECRET)


def flask_example():
    path = EXAMPLES / "flask_app" / "app.py"
    spec = importlib.util.spec_from_file_location("flask_example_netlify", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Flask finds the app's folder (templates, JWTGATE_RULES_FILE) through its module.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def flask_app(caplog):
    return flask_example().create_app({"JWTGATE_RULES_FILE": "_redirects"}, development=True)


def test_flask_example_rules_gate_members_and_admins(flask_app, tokens):
    client = flask_app.test_client()
    assert client.get("/members/guide").status_code == 401
    page = client.get("/members/guide", headers={"Accept": "text/html"})
    assert page.status_code == 401
    assert b"Members only" in page.data  # the /join page
    assert client.get("/admin").headers["Location"] == "/login"
    client.set_cookie("nf_jwt", tokens.token(sub="m1", roles=["member"]))
    member = client.get("/members/guide")
    assert member.status_code == 200
    assert b"<code>guide</code>" in member.data
    assert client.get("/admin").headers["Location"] == "/login"


def test_flask_example_without_rules_keeps_its_decorators(tokens):
    app = flask_example().create_app({}, development=True)
    client = app.test_client()
    assert client.get("/members", headers={"Accept": "application/json"}).status_code == 401
    client.set_cookie("nf_jwt", tokens.token(sub="r1", roles=["reader"]))
    assert client.get("/members").status_code == 403
    assert client.get("/join").status_code == 200


@pytest.mark.parametrize(
    ("email", "roles"), [("ada@example.com", ["member"]), ("bob@mail.test", None)]
)
def test_flask_example_signup_hook_makes_company_addresses_members(flask_app, email, roles):
    body, headers = signup_call(email)
    response = flask_app.test_client().post("/hooks/identity", data=body, headers=headers)
    if roles is None:
        assert (response.status_code, response.data) == (204, b"")
    else:
        assert response.status_code == 200
        assert response.json == {"app_metadata": {"provider": "email", "roles": roles}}


def test_flask_example_hook_refuses_a_call_signed_with_another_secret(flask_app):
    body, headers = signup_call("ada@example.com", secret="not-the-webhook-secret-0123456789ab")
    response = flask_app.test_client().post("/hooks/identity", data=body, headers=headers)
    assert (response.status_code, response.json["error"]) == (401, "invalid_signature")


def test_flask_example_hook_uses_the_configured_secret_and_domain():
    secret = "a-webhook-secret-of-the-site-0123456789"
    app = flask_example().create_app(
        {"IDENTITY_WEBHOOK_SECRET": secret, "COMPANY_DOMAIN": "corp.test"}, development=True
    )
    client = app.test_client()
    body, headers = signup_call("ada@corp.test", secret=secret)
    assert client.post("/hooks/identity", data=body, headers=headers).json["app_metadata"] == {
        "provider": "email",
        "roles": ["member"],
    }
    body, headers = signup_call("ada@corp.test")  # the development key is no longer trusted
    assert client.post("/hooks/identity", data=body, headers=headers).status_code == 401


def test_starlette_example_has_no_hook_without_a_secret_outside_development():
    from examples.starlette_app.identity import identity_hooks

    assert identity_hooks({}) is None
    assert identity_hooks({"EXAMPLE_DEVELOPMENT": "1"}) is not None
    assert identity_hooks({"IDENTITY_WEBHOOK_SECRET": "s" * 40}) is not None


def test_flask_example_outside_development_has_no_hook_without_a_secret():
    app = flask_example().create_app({"JWTGATE_NETLIFY_JWT_SECRET": "s" * 40})
    body, headers = signup_call("ada@example.com")
    assert app.test_client().post("/hooks/identity", data=body, headers=headers).status_code == 404


def test_starlette_example_rules_and_hook(tokens, monkeypatch):
    from starlette.testclient import TestClient

    for name in ("JWTGATE_NETLIFY_JWT_SECRET", "PRIVY_APP_ID", "IDENTITY_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXAMPLE_DEVELOPMENT", "1")
    sys.modules.pop("examples.starlette_app.app", None)
    from examples.starlette_app.app import app

    client = TestClient(app)
    assert client.get("/members/x").status_code == 401
    assert client.get("/admin/x", headers={"Accept": "text/html"}).status_code == 403
    assert "<h1>/join</h1>" in client.get("/admin/x", headers={"Accept": "text/html"}).text
    client.cookies.set("nf_jwt", tokens.token(sub="a1", roles=["admin"]))
    assert client.get("/admin/x").text.startswith("<!doctype html><title>/admin/x</title>")
    client.cookies.clear()
    body, headers = signup_call("eve@example.com")
    response = client.post("/hooks/identity", content=body, headers=headers)
    assert response.json()["app_metadata"]["roles"] == ["member"]
