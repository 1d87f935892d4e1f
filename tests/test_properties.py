"""Properties: hostile input only ever yields an AuthError, and no refused token a User."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jwtgate import AuthError, Gate, User
from jwtgate.testing import TokenFactory

FACTORY = TokenFactory("HS256", clock=lambda: 1_800_000_000)
GATE = Gate(
    issuers=[FACTORY.issuer_config(sources=["bearer", "cookie:nf_jwt", "header:x-token"])],
    clock=lambda: 1_800_000_000,
    cache_size=64,
)
GOOD = FACTORY.token()
JWT_CHARS = string.ascii_letters + string.digits + "-_."

header_names = st.sampled_from(["Authorization", "authorization", "Cookie", "X-Token", "Other"])
header_values = st.one_of(
    st.text(),
    st.text(alphabet=JWT_CHARS).map(lambda t: f"Bearer {t}"),
    st.text(alphabet=JWT_CHARS).map(lambda t: f"nf_jwt={t}"),
    st.text().map(lambda t: f"Bearer {t}"),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(header_names, header_values), max_size=4))
def test_any_headers_give_a_user_none_or_an_auth_error(headers):
    try:
        result = GATE.authenticate(headers=headers)
    except AuthError as error:
        assert error.status in (400, 401)  # noqa: PT017
        return
    assert result is None or isinstance(result, User)


@settings(max_examples=400)
@given(st.dictionaries(st.text(max_size=10), st.text(), max_size=3))
def test_any_cookies_give_a_user_none_or_an_auth_error(cookies):
    try:
        result = GATE.authenticate(headers={}, cookies=cookies)
    except AuthError:
        return
    assert result is None or isinstance(result, User)


@settings(max_examples=600)
@given(st.integers(min_value=0, max_value=len(GOOD) - 1), st.sampled_from(JWT_CHARS))
def test_no_changed_token_is_accepted(position, char):
    changed = GOOD[:position] + char + GOOD[position + 1 :]
    if changed == GOOD:
        return
    try:
        user = GATE.authenticate(headers={"Authorization": f"Bearer {changed}"})
    except AuthError:
        return
    # Only a change that decodes to the same bytes could pass, and base64url here is canonical.
    raise AssertionError(f"a modified token was accepted as {user!r}")


@settings(max_examples=200)
@given(st.binary(max_size=300), st.binary(max_size=300), st.binary(max_size=100))
def test_arbitrary_segments_are_refused(header, payload, signature):
    from .tokens import b64

    token = f"{b64(header)}.{b64(payload)}.{b64(signature)}"
    try:
        GATE.authenticate(headers={"Authorization": f"Bearer {token}"})
    except AuthError:
        return
    raise AssertionError("random bytes were accepted")
