"""Identity event hooks on calls signed as GoTrue signs them, through every adapter.

The calls (``tests/netlify_hooks_calls.py``) are signed by the npm
``jsonwebtoken`` in Node with GoTrue's claims and Go-encoded bodies; jwtgate
only verifies them. Each reaches the framework-free core, a Flask view, the
WSGI app, and the ASGI app under Starlette and FastAPI: a good call reaches
its handler and gets its answer, a bad one gets its exact refusal and never
reaches a handler; no answer and no log line holds the secret or the signature.
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.integration.netlify_apps import HOOK_PATHS, make_hooks
from tests.netlify_hooks_calls import CASES, COMPANY, INSTANCE, SECRET, Call, make_calls


@pytest.fixture(scope="module")
def calls() -> dict[str, Call]:
    return make_calls()


def _check(case, status: int, body: bytes, handled: list[str], call: Call) -> None:
    assert status == case.status, (case.name, body)
    assert (handled != []) is case.reaches_handler, case.name
    text = body.decode()
    assert SECRET not in text
    if call.signature:
        assert call.signature not in text
    if case.error is not None:
        assert json.loads(body)["error"] == case.error
    if case.name == "signup-company":
        # GoTrue replaces app_metadata with what the hook returns: the provider stays.
        assert json.loads(body) == {"app_metadata": {"provider": "email", "roles": ["member"]}}
    if case.name == "signup-html":
        assert json.loads(body)["app_metadata"]["roles"] == ["member"]
    if case.name == "validate-refused":
        assert json.loads(body) == {"code": 403, "msg": "Signups from spam.test are closed"}
    if case.status == 204:
        assert body == b""


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_core(calls, case, caplog):
    handled: list[str] = []
    hooks = make_hooks(SECRET, INSTANCE, handled)
    call = calls[case.name]
    with caplog.at_level(logging.DEBUG, logger="jwtgate"):
        reply = hooks.handle(call.signature, call.body)
    _check(case, reply.status, reply.body, handled, call)
    assert SECRET not in caplog.text
    assert not call.signature or call.signature not in caplog.text


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_flask_view(calls, case):
    from flask import Flask

    handled: list[str] = []
    app = Flask(__name__)
    app.add_url_rule(HOOK_PATHS[0], view_func=make_hooks(SECRET, INSTANCE, handled).flask_view(),
                     methods=["POST"])  # fmt: skip
    call = calls[case.name]
    response = app.test_client().post(HOOK_PATHS[0], data=call.body, headers=call.headers())
    _check(case, response.status_code, response.data, handled, call)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_wsgi_app(calls, case):
    from werkzeug.test import Client

    handled: list[str] = []
    client = Client(make_hooks(SECRET, INSTANCE, handled).wsgi)
    call = calls[case.name]
    response = client.post("/", data=call.body, headers=call.headers())
    _check(case, response.status_code, response.data, handled, call)


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_asgi_app(calls, case, framework):
    from starlette.testclient import TestClient

    handled: list[str] = []
    hooks = make_hooks(SECRET, INSTANCE, handled)
    if framework == "starlette":
        from starlette.applications import Starlette
        from starlette.routing import Route

        app = Starlette(routes=[Route(HOOK_PATHS[1], hooks.asgi, methods=["POST"])])
    else:
        from fastapi import FastAPI

        app = FastAPI()
        app.add_route(HOOK_PATHS[1], hooks.asgi, methods=["POST"])
    call = calls[case.name]
    with TestClient(app) as client:
        response = client.post(HOOK_PATHS[1], content=call.body, headers=call.headers())
    _check(case, response.status_code, response.content, handled, call)


def test_the_company_domain_is_the_one_the_calls_use():
    assert COMPANY == "example.com"
