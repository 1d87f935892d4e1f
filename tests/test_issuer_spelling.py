"""A token naming no trusted issuer is refused before its claims are parsed.

The gate looks for each trusted ``iss`` as a JSON text without escapes spells
it; a text without a backslash that holds none of them cannot name a trusted
issuer. These tests hold that shortcut to the parser's verdict: it never
refuses a token the parser would route to a trusted issuer, and whatever it
refuses is refused as naming no trusted issuer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jwtgate.gate
from jwtgate import AuthError, Gate, Issuer, UntrustedIssuer
from jwtgate.testing import TokenFactory

from .spies import first_arguments
from .tokens import bearer, header_for, raw_token

TRUSTED = "https://bücher.test/tenant/"
ALIAS = "https://alias.test/"


@pytest.fixture
def factory(clock: Any) -> TokenFactory:
    return TokenFactory("HS256", issuer=TRUSTED, clock=clock)


@pytest.fixture
def gate(factory: TokenFactory, clock: Any) -> Gate:
    return Gate(issuers=[factory.issuer_config(issuer_aliases=[ALIAS])], clock=clock)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The claims texts the gate parsed."""
    return first_arguments(monkeypatch, jwtgate.gate, "parse_claims")


def signed(factory: TokenFactory, claims_text: str | bytes) -> str:
    return raw_token(factory, header_for(factory), claims_text)


def outcome(gate: Gate, token: str) -> str:
    """``"accepted"``, or the refusal's class and description."""
    try:
        gate.authenticate(headers=bearer(token))
    except AuthError as error:
        return f"{type(error).__name__}: {error.description}"
    return "accepted"


def claims_text(factory: TokenFactory, **changes: Any) -> dict[str, Any]:
    claims = factory.claims()
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def test_an_untrusted_issuer_is_refused_without_parsing_the_claims(factory, gate, parsed):
    token = factory.token(iss="https://elsewhere.test/")
    with pytest.raises(UntrustedIssuer) as info:
        gate.authenticate(headers=bearer(token))
    assert info.value.status == 401
    assert info.value.error == "invalid_token"
    assert info.value.description == "The token's issuer is not trusted"
    assert parsed == []


@pytest.mark.parametrize(
    "text",
    [
        '{"iss":"https://elsewhere.test/","exp":1,"exp":2}',
        '{"iss":"https://elsewhere.test/","n":NaN}',
        '{"iss":"https://elsewhere.test/"',
        '["https://elsewhere.test/"]',
        '{"sub":"no iss at all"}',
        "{}",
    ],
    ids=["duplicate", "nan", "truncated", "array", "no-iss", "empty"],
)
def test_claims_naming_no_trusted_issuer_are_refused_as_such_even_when_malformed(
    factory, gate, parsed, text
):
    assert outcome(gate, signed(factory, text)) == (
        "UntrustedIssuer: The token's issuer is not trusted"
    )
    assert parsed == []


@pytest.mark.parametrize("name", [TRUSTED, ALIAS])
def test_a_trusted_issuer_spelt_with_escapes_is_parsed_and_accepted(factory, gate, parsed, name):
    text = json.dumps(claims_text(factory, iss=name))  # non-ASCII as \u escapes, not raw
    text = text.replace("/", "\\/")  # and every slash escaped, as PHP's encoder does
    assert name.encode() not in text.encode()
    user = gate.authenticate(headers=bearer(signed(factory, text)))
    assert user is not None
    assert user.issuer == name
    assert len(parsed) == 1


@pytest.mark.parametrize("name", [TRUSTED, ALIAS])
def test_a_trusted_issuer_spelt_plainly_is_accepted(factory, gate, parsed, name):
    text = json.dumps(claims_text(factory, iss=name), ensure_ascii=False)
    assert "\\" not in text
    user = gate.authenticate(headers=bearer(signed(factory, text.encode())))
    assert user is not None
    assert user.issuer == name
    assert len(parsed) == 1


def test_a_trusted_name_elsewhere_in_the_claims_does_not_make_the_issuer_trusted(
    factory, gate, parsed
):
    text = json.dumps(
        claims_text(factory, iss="https://elsewhere.test/", ext={"iss": TRUSTED}),
        ensure_ascii=False,
    )
    assert outcome(gate, signed(factory, text.encode())).startswith("UntrustedIssuer")
    assert len(parsed) == 1  # the name was found, so the claims were parsed to route it


def test_a_duplicate_iss_hiding_a_trusted_one_is_still_refused_by_the_parser(factory, gate):
    text = f'{{"iss":"{TRUSTED}","iss":"https://elsewhere.test/","sub":"u"}}'
    assert outcome(gate, signed(factory, text.encode())) == (
        "InvalidToken: The token has duplicate JSON members"
    )


def test_beside_an_issuer_without_iss_a_token_without_iss_still_reaches_it(factory, clock):
    netlify = TokenFactory("HS256", issuer=None, clock=clock)
    issuerless = Issuer(None, algorithms=["HS256"], secret=netlify.secret)
    gate = Gate(issuers=[factory.issuer_config(), issuerless], clock=clock)
    user = gate.authenticate(headers=bearer(netlify.token()))
    assert user is not None
    assert user.issuer is None


# Claims values an encoder may produce, with the iss drawn from trusted, untrusted and
# near-miss names, and encoded with or without escapes.
_names = st.sampled_from(
    [TRUSTED, ALIAS, TRUSTED[:-1], TRUSTED + "x", "https://elsewhere.test/", TRUSTED.upper(), ""]
)
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12) | _names,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    iss=st.one_of(st.none(), _names, st.integers()),
    extra=st.dictionaries(st.sampled_from(["ext", "aud2", "x", "sub"]), _values, max_size=3),
    ascii_only=st.booleans(),
    escape_slashes=st.booleans(),
)
def test_the_shortcut_never_changes_a_verdict_on_valid_json(
    factory, gate, iss, extra, ascii_only, escape_slashes
):
    claims = claims_text(factory, iss=iss, **extra)
    if iss is None:
        claims.pop("iss", None)
    text = json.dumps(claims, ensure_ascii=ascii_only)
    if escape_slashes:
        text = text.replace("/", "\\/")
    token = signed(factory, text.encode())
    with_shortcut = outcome(gate, token)
    without = Gate(issuers=gate.issuers, clock=gate._clock)
    without._trusted_spellings = None
    assert with_shortcut == outcome(without, token)


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_shortcut_refuses_only_what_the_parser_refuses(factory, gate, data):
    claims = claims_text(factory, iss=data.draw(_names))
    text = bytearray(json.dumps(claims, ensure_ascii=data.draw(st.booleans())).encode())
    for _ in range(data.draw(st.integers(1, 3))):  # break it byte by byte
        at = data.draw(st.integers(0, len(text) - 1))
        text[at] = data.draw(st.sampled_from(b'"\\{}[],:x\xc3\x80 0'))
    token = signed(factory, bytes(text))
    without = Gate(issuers=gate.issuers, clock=gate._clock)
    without._trusted_spellings = None
    verdict = outcome(without, token)
    if verdict == "accepted":
        assert outcome(gate, token) == "accepted"
    else:
        assert outcome(gate, token) in (
            verdict,
            "UntrustedIssuer: The token's issuer is not trusted",
        )
