"""A header sent more than once reads the same through every view of a request.

A WSGI server joins repeated fields with a comma before the app sees them; an ASGI
server hands over each field; ``Gate.authenticate(headers=[...])`` takes pairs. The
gate must answer the three alike (``tests/integration/test_repeated_headers.py`` sends
the same requests to gunicorn and uvicorn over sockets).
"""

from __future__ import annotations

import pytest

from jwtgate import AuthError, Gate, InvalidRequest
from jwtgate.asgi import ScopeView
from jwtgate.sources import BearerSource, HeaderSource, MappingView, cookie_values
from jwtgate.testing import TokenFactory
from jwtgate.wsgi import EnvironView

TOKENS = TokenFactory("HS256")
GATE = Gate(issuers=[TOKENS.issuer_config()], sources=["bearer", "cookie:jwt", "header:x-token"])
ADA = TOKENS.token(sub="ada")
BOB = TOKENS.token(sub="bob")

CASES = {
    "cookie fields": [("Cookie", "a=1"), ("Cookie", f"jwt={ADA}"), ("Cookie", "b=2")],
    "cookie fields, token first": [("Cookie", f"jwt={ADA}"), ("Cookie", "a=1")],
    "cookie fields, two tokens": [("Cookie", f"jwt={ADA}"), ("Cookie", f"jwt={BOB}")],
    "cookie fields, one token twice": [("Cookie", f"jwt={ADA}"), ("Cookie", f"jwt={ADA}")],
    "authorization twice": [("Authorization", f"Bearer {ADA}")] * 2,
    "basic then bearer": [("Authorization", "Basic YTpi"), ("Authorization", f"Bearer {ADA}")],
    "bearer then basic": [("Authorization", f"Bearer {ADA}"), ("Authorization", "Basic YTpi")],
    "basic twice": [("Authorization", "Basic YTpi"), ("Authorization", "Basic Yzpk")],
    "custom header twice": [("X-Token", ADA), ("X-Token", ADA)],
    "custom header, two tokens": [("X-Token", ADA), ("X-Token", BOB)],
    "bearer and cookie, one token": [("Authorization", f"Bearer {ADA}"), ("Cookie", f"jwt={ADA}")],
}


def outcome(view: object) -> str:
    try:
        user = GATE.authenticate(view)  # type: ignore[arg-type]
    except AuthError as error:
        return f"{error.status} {error.safe_description}"
    return "anonymous" if user is None else f"user {user.subject}"


def environ(fields: list[tuple[str, str]], joiner: str) -> dict[str, str]:
    """The environ a WSGI server builds: repeated fields joined (gunicorn: ",")."""
    env: dict[str, str] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/"}
    for name, value in fields:
        key = "HTTP_" + name.upper().replace("-", "_")
        env[key] = f"{env[key]}{joiner}{value}" if key in env else value
    return env


def scope(fields: list[tuple[str, str]]) -> dict[str, object]:
    headers = [(n.lower().encode(), v.encode()) for n, v in fields]
    return {"type": "http", "method": "GET", "path": "/", "headers": headers}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_every_view_gives_the_same_answer(case):
    fields = CASES[case]

    answers = {
        "wsgi": outcome(EnvironView(environ(fields, ","))),
        "wsgi, comma and space": outcome(EnvironView(environ(fields, ", "))),
        "asgi": outcome(ScopeView(scope(fields))),
        "pairs": outcome(MappingView(fields)),
    }

    assert len(set(answers.values())) == 1, answers


@pytest.mark.parametrize(
    ("case", "answer"),
    [
        ("cookie fields", "user ada"),
        ("cookie fields, token first", "user ada"),
        ("cookie fields, two tokens", "400 More than one jwt cookie was sent"),
        ("cookie fields, one token twice", "user ada"),
        ("authorization twice", "400 More than one Authorization header was sent"),
        ("basic then bearer", "400 More than one Authorization header was sent"),
        ("bearer then basic", "400 More than one Authorization header was sent"),
        ("basic twice", "anonymous"),
        ("custom header twice", "user ada"),
        ("custom header, two tokens", "400 More than one x-token header was sent"),
        ("bearer and cookie, one token", "user ada"),
    ],
)
def test_the_answers(case, answer):
    assert outcome(ScopeView(scope(CASES[case]))) == answer


@pytest.mark.parametrize(
    ("header", "found"),
    [
        (f"a=1, jwt={ADA}", [ADA]),
        (f"a=1,jwt={ADA}", [ADA]),
        (f"jwt={ADA},a=1", [ADA]),
        (f"jwt={ADA}, a=1; b=2", [ADA]),
        (f"a=1;b=2,jwt={ADA}", [ADA]),
        (f"a=x,yjwt={ADA}", []),
        (f"a=jwt={ADA}", []),
    ],
)
def test_a_comma_separates_cookies(header, found):
    assert cookie_values([header], "jwt") == found


@pytest.mark.parametrize(
    "value",
    [
        'Digest username="a", realm="b", nonce="c"',
        "Basic YTpi,Basic Yzpk",
        "Negotiate abc, Basic xyz",
    ],
)
def test_other_schemes_with_commas_carry_no_token(value):
    assert BearerSource().extract(MappingView({"Authorization": value})) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Bearer a.b.c, Bearer d.e.f", "More than one Authorization header was sent"),
        ("Basic YTpi, bearer a.b.c", "More than one Authorization header was sent"),
        ("Bearer a.b.c,x", "The Authorization header is malformed"),
        ("Bearer a.b.c,", "The Authorization header is malformed"),
        ("Bearer,a.b.c", "The Authorization header is malformed"),
        ("Bearerx,y", "The Authorization header is malformed"),
    ],
)
def test_a_bearer_credential_with_a_comma_is_refused(value, message):
    with pytest.raises(InvalidRequest) as refused:
        BearerSource().extract(MappingView({"Authorization": value}))

    assert refused.value.safe_description == message
    assert (refused.value.status, refused.value.error) == (400, "invalid_request")


def test_a_custom_header_with_its_prefix_sent_twice():
    source = HeaderSource("X-Auth", prefix="Token ")
    twice = MappingView([("X-Auth", "Token a.b.c"), ("X-Auth", "Token a.b.c")])
    assert source.extract(twice) == "a.b.c"
    with pytest.raises(InvalidRequest, match="More than one X-Auth header"):
        source.extract(MappingView([("X-Auth", "Token a.b.c"), ("X-Auth", "Token d.e.f")]))


def test_a_view_returning_several_values_is_read_as_their_join():
    class Several(ScopeView):
        def header_values(self, name: str) -> list[str]:
            return {"authorization": [f"Bearer {ADA}", "Basic YTpi"]}.get(name, [])

    with pytest.raises(InvalidRequest, match="More than one Authorization header"):
        GATE.authenticate(Several(scope([])))
