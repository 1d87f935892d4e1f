"""One token per request (RFC 6750 §2), and the explicit opt-in to take the first source's.

The case that surprises single-page apps: an expired session cookie left in
the browser, and a fresh token the app sends as a Bearer header.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from jwtgate import ConfigurationError, Gate, InvalidRequest, require_auth
from jwtgate.errors import ExpiredToken
from jwtgate.testing import TokenFactory

from .conftest import FrozenClock

SPA_SOURCES = ["bearer", "cookie:nf_jwt"]


@pytest.fixture
def tokens(clock: FrozenClock) -> TokenFactory:
    return TokenFactory.netlify(clock=clock)


def _stale_cookie_fresh_bearer(tokens: TokenFactory) -> dict[str, str]:
    return {
        "Cookie": f"nf_jwt={tokens.expired(sub='yesterday')}",
        "Authorization": f"Bearer {tokens.token(sub='today')}",
    }


def test_by_default_two_different_tokens_are_a_400(tokens, clock) -> None:
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, sources=SPA_SOURCES)
    assert gate.one_token is True
    with pytest.raises(InvalidRequest, match="More than one token was sent"):
        gate.authenticate(headers=_stale_cookie_fresh_bearer(tokens))


def test_one_token_false_takes_the_first_source_in_order(tokens, clock) -> None:
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, sources=SPA_SOURCES, one_token=False)
    user = gate.authenticate(headers=_stale_cookie_fresh_bearer(tokens))
    assert user is not None
    assert (user.subject, user.source) == ("today", "bearer")
    alone = gate.authenticate(headers={"Cookie": f"nf_jwt={tokens.token(sub='c')}"})
    assert alone is not None
    assert (alone.subject, alone.source) == ("c", "cookie:nf_jwt")


def test_the_first_token_found_is_judged_alone_and_never_skipped(tokens, clock) -> None:
    """No fallback: a bad token in the first source is refused, not passed over."""
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, sources=SPA_SOURCES, one_token=False)
    fresh_cookie = f"nf_jwt={tokens.token(sub='cookie')}"
    with pytest.raises(ExpiredToken):
        gate.authenticate(
            headers={"Authorization": f"Bearer {tokens.expired()}", "Cookie": fresh_cookie}
        )
    with pytest.raises(InvalidRequest, match="malformed"):
        gate.authenticate(headers={"Authorization": "Bearer a b", "Cookie": fresh_cookie})


@pytest.mark.parametrize(
    ("sources", "suggested"),
    [
        (["cookie:nf_jwt", "bearer"], ["bearer", "cookie:nf_jwt"]),
        (["query:token", "header:X-Token"], ["header:X-Token", "query:token"]),
        (
            ["bearer", "cookie:a", "header:X-Token", "query:t"],
            ["bearer", "header:X-Token", "cookie:a", "query:t"],
        ),
    ],
)
def test_one_token_false_refuses_a_cookie_or_query_ahead_of_a_header(
    tokens, sources: list[str], suggested: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Gate(issuers=[tokens.issuer_config()], sources=sources, one_token=False)
    message = str(info.value)
    assert message.startswith("one_token: with one_token=False the first token found wins")
    assert f"sources={suggested!r}" in message


def test_the_netlify_preset_order_needs_sources_spelled_out(tokens) -> None:
    with pytest.raises(ConfigurationError, match="list header sources before cookies"):
        Gate(issuers=[tokens.issuer_config()], one_token=False)  # preset: cookie, then bearer
    assert Gate(issuers=[tokens.issuer_config()], sources=SPA_SOURCES, one_token=False)


@pytest.mark.parametrize("sources", [["cookie:a", "cookie:b", "query:t"], ["bearer"]])
def test_orders_without_a_header_behind_a_cookie_are_accepted(tokens, sources) -> None:
    assert Gate(issuers=[tokens.issuer_config()], sources=sources, one_token=False)


@pytest.mark.parametrize("value", [0, 1, "yes", None])
def test_one_token_is_validated(tokens, value: Any) -> None:
    with pytest.raises(ConfigurationError, match="one_token: must be True or False"):
        Gate(issuers=[tokens.issuer_config()], one_token=value)


def test_a_bearer_token_taken_first_needs_no_csrf_evidence(tokens, clock) -> None:
    """The cookie is not read, so the request is judged as a header-token request."""
    gate = Gate(issuers=[tokens.issuer_config()], clock=clock, sources=SPA_SOURCES, one_token=False)
    from jwtgate.sources import MappingView

    view = MappingView(
        {**_stale_cookie_fresh_bearer(tokens), "Origin": "https://evil.example"}, method="POST"
    )
    user = gate.authenticate(view)
    assert user is not None
    assert user.source == "bearer"


# --- through both adapters --------------------------------------------------------------------


def _flask(gate: Gate) -> Any:
    from flask import Flask

    from jwtgate.wsgi import GateMiddleware

    app = Flask("precedence")

    @app.get("/me")
    @require_auth
    def me() -> dict[str, str]:
        from flask import request

        user = request.environ["jwtgate.user"]
        return {"sub": user.subject, "source": user.source}

    app.wsgi_app = GateMiddleware(app.wsgi_app, gate)  # type: ignore[method-assign]
    return app


def _starlette(gate: Gate) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from jwtgate.asgi import GateMiddleware

    @require_auth
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.subject, "source": request.user.source})

    return Starlette(routes=[Route("/me", me)], middleware=[Middleware(GateMiddleware, gate=gate)])


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
@pytest.mark.parametrize(("one_token", "status"), [(True, 400), (False, 200)])
def test_the_spa_case_through_the_adapters(tokens, clock, adapter, one_token, status) -> None:
    gate = Gate(
        issuers=[tokens.issuer_config()], clock=clock, sources=SPA_SOURCES, one_token=one_token
    )
    headers = _stale_cookie_fresh_bearer(tokens)
    for _ in range(2):  # the second request takes the adapters' memo path
        if adapter == "wsgi":
            response = _flask(gate).test_client(use_cookies=False).get("/me", headers=headers)
            got, body = response.status_code, response.get_data(as_text=True)
        else:
            from starlette.testclient import TestClient

            with TestClient(_starlette(gate)) as client:
                response = client.get("/me", headers=headers)
            got, body = response.status_code, response.text
        assert got == status, body
        if status == 200:
            assert json.loads(body) == {"sub": "today", "source": "bearer"}
        else:
            assert json.loads(body)["error_description"] == "More than one token was sent"
