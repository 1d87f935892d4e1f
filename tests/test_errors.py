"""Every refusal renders as status + RFC 6750 challenge + JSON body, the same everywhere."""

from __future__ import annotations

import json

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder

from jwtgate import (
    AuthError,
    ExpiredToken,
    Forbidden,
    InvalidRequest,
    InvalidToken,
    KeysUnavailable,
    MissingToken,
)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (MissingToken(), 401, None),
        (InvalidToken(), 401, "invalid_token"),
        (ExpiredToken(), 401, "invalid_token"),
        (InvalidRequest(), 400, "invalid_request"),
        (Forbidden(), 403, "insufficient_scope"),
        (KeysUnavailable(), 503, "temporarily_unavailable"),
    ],
)
def test_each_error_has_its_status_and_rfc6750_code(error, status, code):
    assert error.status == status
    assert error.error == code
    body = json.loads(error.body())
    assert body["error"] == (code or "missing_token")
    assert body["error_description"] == error.description


def test_missing_token_challenge_carries_no_error_code():
    assert MissingToken().challenge() == "Bearer"


def test_invalid_token_challenge_names_error_and_description():
    assert ExpiredToken().challenge() == (
        'Bearer error="invalid_token", error_description="The token has expired"'
    )


def test_forbidden_challenge_lists_required_roles_as_scope():
    challenge = Forbidden(roles=["admin", "billing"]).challenge()
    assert challenge.endswith('scope="admin billing"')
    assert 'error="insufficient_scope"' in challenge


def test_forbidden_scope_drops_roles_that_would_break_the_header():
    assert 'scope="' not in Forbidden(roles=['bad"role']).challenge()


def test_description_is_sanitised_for_the_header():
    error = InvalidToken('quote " backslash \\ newline \n end')
    assert error.challenge() == (
        'Bearer error="invalid_token", error_description="quote  backslash  newline  end"'
    )


def test_keys_unavailable_says_when_to_retry():
    headers = dict(KeysUnavailable(retry_after=12).response_headers())
    assert headers["Retry-After"] == "12"


def test_response_headers_are_json_and_not_cacheable():
    headers = dict(InvalidToken().response_headers())
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_auth_error_is_a_werkzeug_http_exception_that_renders_itself():
    error = Forbidden(roles=["admin"])
    assert isinstance(error, HTTPException)
    response = error.get_response(EnvironBuilder().get_environ())
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == error.challenge()
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == {
        "error": "insufficient_scope",
        "error_description": "Insufficient roles",
    }


def test_every_error_is_an_auth_error():
    for cls in (MissingToken, InvalidToken, ExpiredToken, InvalidRequest, Forbidden):
        assert issubclass(cls, AuthError)


def test_repr_shows_class_and_description():
    assert repr(ExpiredToken()) == "ExpiredToken('The token has expired')"
