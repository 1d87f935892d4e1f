"""The demo app in-process (werkzeug's test client): routes, refusals and bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest
from werkzeug.test import Client

from jwtgate.demo import MAX_COMMENT, DemoRequest, create_app, demo_requests
from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory
from tests.tokens import bearer


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory.netlify(secret=DEVELOPMENT_SECRET)


@pytest.fixture
def client() -> Client:
    return Client(create_app())


def test_each_example_answers_its_status_in_process(client, tokens):
    for example in demo_requests(tokens):
        headers = bearer(example.token) if example.token else {}
        if example.body is not None:
            headers["Content-Type"] = "application/json"
        response = client.open(
            example.path, method=example.method, headers=headers, data=example.body
        )
        assert response.status_code == example.status, example.label


def test_a_comment_is_listed_with_its_author(client, tokens):
    token = tokens.token(sub="u1", email="grace@example.com")
    response = client.post("/comments", json={"text": "  Hi  "}, headers=bearer(token))
    assert response.status_code == 201
    assert response.json["text"] == "Hi"
    listed = client.get("/comments").json
    assert listed[-1]["sub"] == "u1"
    assert listed[0]["author"] == "Ada"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "text=hi"}, 415),
        ({"data": "{not json", "content_type": "application/json"}, 415),
        ({"json": {"text": ""}}, 400),
        ({"json": {"text": 5}}, 400),
        ({"json": {"text": "x" * (MAX_COMMENT + 1)}}, 400),
    ],
)
def test_bad_comments_get_a_4xx(client, tokens, kwargs, status):
    response = client.post("/comments", headers=bearer(tokens.token()), **kwargs)
    assert response.status_code == status
    assert "error" in response.json


def test_comments_are_capped(client, tokens):
    headers = bearer(tokens.token())
    for n in range(105):
        assert client.post("/comments", json={"text": str(n)}, headers=headers).status_code == 201
    listed = client.get("/comments").json
    assert len(listed) == 100
    assert listed[-1]["text"] == "104"


def test_unknown_routes_and_methods(client):
    assert client.get("/nope").status_code == 404
    assert client.delete("/me").status_code == 405


def test_me_without_token_is_a_plain_challenge(client):
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in response.headers["WWW-Authenticate"]


def test_a_token_from_another_secret_is_refused(client):
    other = TokenFactory.netlify()
    response = client.get("/me", headers=bearer(other.token()))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_curl_quotes_for_a_shell():
    example = DemoRequest("x", "POST", "/comments", 201, "t.o.k", '{"text": "it\'s"}')
    assert example.curl("http://127.0.0.1:1/") == (
        "curl -i -X POST -H 'Authorization: Bearer t.o.k' -H 'Content-Type: application/json' "
        '-d \'{"text": "it\'"\'"\'s"}\' http://127.0.0.1:1/comments'
    )


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_bad_port_is_a_usage_error(port):
    result = subprocess.run(
        [sys.executable, "-m", "jwtgate", "demo", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("jwtgate: error: ")
    assert "Traceback" not in result.stderr
