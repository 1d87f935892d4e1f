"""Property-based fuzzing of token, header, cookie and roles parsing.

Unlike ``tests/test_properties.py`` (random bytes, which a signature check
refuses early), these properties sign what they generate with the issuer's
real key, so hostile headers and claims reach every check behind the
signature. Each property states two things: nothing but an ``AuthError``
escapes, and a token is accepted only if an independent reading of the rules
says it should be.

Runs under the derandomised "ci" profile by default (see ``tests/conftest.py``);
``HYPOTHESIS_PROFILE=long pytest tests/security/test_fuzz.py`` explores further.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jwtgate import AuthError, Forbidden, Gate, User
from jwtgate.context import RequestAuth, reset_auth, set_auth
from jwtgate.decorators import check_access
from jwtgate.issuer import MAX_NUMERIC_DATE
from jwtgate.testing import TokenFactory

from .attack_kit import NOW, Req, run_asgi, run_wsgi, sign_raw

ISS = "https://issuer.test/"
FACTORY = TokenFactory("ES256", issuer=ISS, audience="api", clock=lambda: float(NOW), kid="k1")
GATE = Gate(issuers=[FACTORY.issuer_config()], clock=lambda: float(NOW), cache_size=0)
COOKIE_GATE = Gate(
    issuers=[FACTORY.issuer_config()],
    clock=lambda: float(NOW),
    cache_size=0,
    sources=["cookie:s", "header:X-Token", "bearer"],
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
dates = st.one_of(
    json_values,
    st.integers(min_value=NOW - 100, max_value=NOW + 100),
    st.floats(min_value=NOW - 100, max_value=NOW + 100),
)


def _sign(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return sign_raw("ES256", FACTORY.signing_key, header, claims)


def _is_date(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and 0 <= value <= MAX_NUMERIC_DATE
    )


def _claims_ok(claims: dict[str, Any]) -> bool:
    """The gate's claim rules, restated independently."""
    if "exp" not in claims:
        return False
    for name in ("exp", "nbf", "iat"):
        if name in claims and not _is_date(claims[name]):
            return False
    if claims["exp"] <= NOW:
        return False
    if "nbf" in claims and claims["nbf"] > NOW:
        return False
    if "iat" in claims and claims["iat"] > NOW:
        return False
    if claims.get("iss") != ISS:
        return False
    aud = claims.get("aud")
    if isinstance(aud, list):
        if not all(isinstance(a, str) for a in aud) or "api" not in aud:
            return False
    elif aud != "api":
        return False
    # A null sub is read as "no subject", as the gate does.
    return claims.get("sub") is None or isinstance(claims["sub"], str)


def _outcome(gate: Gate, **request: Any) -> User | AuthError | None:
    try:
        return gate.authenticate(**request)
    except AuthError as error:
        return error


@given(
    exp=dates,
    nbf=st.one_of(st.just(None), dates),
    iat=st.one_of(st.just(None), dates),
    iss=st.one_of(st.just(ISS), json_values),
    aud=st.one_of(st.just("api"), st.just(["x", "api"]), json_values),
    sub=st.one_of(st.just("u1"), json_values),
    extra=st.dictionaries(st.text(max_size=8), json_values, max_size=3),
)
def test_signed_hostile_claims_are_accepted_only_when_valid(
    exp: Any, nbf: Any, iat: Any, iss: Any, aud: Any, sub: Any, extra: dict[str, Any]
) -> None:
    claims: dict[str, Any] = {**extra, "exp": exp, "iss": iss, "aud": aud, "sub": sub}
    if nbf is not None:
        claims["nbf"] = nbf
    if iat is not None:
        claims["iat"] = iat
    token = _sign({"alg": "ES256", "kid": "k1"}, claims)
    result = _outcome(GATE, headers={"Authorization": f"Bearer {token}"})
    if isinstance(result, AuthError):
        assert result.status == 401
        assert result.error == "invalid_token"
        assert not _claims_ok(claims) or len(token) > GATE.max_token_bytes
    else:
        assert isinstance(result, User)
        assert _claims_ok(claims)


_REFUSED_MEMBERS = ("crit", "b64", "zip", "enc")


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=4), json_values)
def test_signed_hostile_headers_are_accepted_only_when_valid(
    extra: dict[str, Any], alg: Any
) -> None:
    for choice in ({**extra, "alg": alg, "kid": "k1"}, {**extra, "alg": "ES256", "kid": "k1"}):
        token = _sign(choice, FACTORY.claims())
        result = _outcome(GATE, headers={"Authorization": f"Bearer {token}"})
        if isinstance(result, AuthError):
            assert result.status == 401
            continue
        assert isinstance(result, User)
        assert choice["alg"] == "ES256"
        assert not any(m in choice for m in _REFUSED_MEMBERS)
        cty = choice.get("cty")
        assert cty is None or (
            isinstance(cty, str) and cty.lower() not in ("jwt", "application/jwt")
        )


@given(json_values)
def test_roles_of_any_shape_grant_only_string_roles(roles: Any) -> None:
    token = _sign({"alg": "ES256", "kid": "k1"}, FACTORY.claims(roles=None) | {"roles": roles})
    user = GATE.authenticate(headers={"Authorization": f"Bearer {token}"})
    assert isinstance(user, User)
    assert all(isinstance(r, str) for r in user.roles)
    if isinstance(roles, str):
        expected = set(roles.split())
    elif isinstance(roles, list):
        expected = {r for r in roles if isinstance(r, str)}
    else:
        expected = set()
    assert user.roles == expected
    token_ = set_auth(RequestAuth(user=user))
    try:
        if "admin" in expected:
            check_access(("admin",))
        else:
            with pytest.raises(Forbidden) as refused:
                check_access(("admin",))
            assert refused.value.status == 403
            assert refused.value.error == "insufficient_scope"
    finally:
        reset_auth(token_)


cookie_text = st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=60)


@given(
    st.lists(
        st.tuples(st.sampled_from(["Cookie", "X-Token", "Authorization", "cookie"]), cookie_text),
        max_size=4,
    ),
    st.booleans(),
)
def test_hostile_cookie_and_header_sources_never_escape(
    pairs: list[tuple[str, str]], with_token: bool
) -> None:
    if with_token:
        pairs = [*pairs, ("Cookie", f"s={FACTORY.token()}")]
    result = _outcome(COOKIE_GATE, headers=pairs)
    if isinstance(result, AuthError):
        assert result.status in (400, 401)
        assert result.error in ("invalid_request", "invalid_token", None)
    else:
        assert result is None or isinstance(result, User)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Authorization", "Cookie", "X-Token", "Origin"]),
            st.text(st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=40),
        ),
        max_size=3,
    ),
    st.sampled_from(["GET", "POST"]),
)
def test_adapters_answer_hostile_headers_with_4xx_never_500(
    pairs: list[tuple[str, str]], method: str
) -> None:
    request = Req(headers=tuple(pairs), method=method)
    for runner in (run_wsgi, run_asgi):
        outcome = runner(COOKIE_GATE, request, "auth")
        assert outcome.status in (200, 400, 401, 403), outcome.text
        if outcome.status != 200:
            assert outcome.body is not None
            assert outcome.body["error"] in (
                "invalid_request",
                "invalid_token",
                "missing_token",
                "csrf_rejected",
            )


def test_the_ci_profile_is_derandomised_unless_another_is_chosen() -> None:
    import os

    from hypothesis import settings

    chosen = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    assert settings().derandomize is (chosen == "ci")
    assert settings.get_profile("long").max_examples >= 10_000
