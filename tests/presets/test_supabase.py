"""The supabase preset: the legacy secret and the signing keys at once, and the ssr cookie."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from jwtgate import ConfigurationError, CrossSiteRequest, Gate, InvalidClaims, InvalidToken
from jwtgate.mixed_keys import MixedKeys
from jwtgate.presets import SupabaseSessionCookie, supabase
from jwtgate.presets.supabase import MAX_CHUNKS
from jwtgate.remote import RemoteKeys
from jwtgate.sources import MappingView
from jwtgate.testing import TokenFactory

PROJECT = "https://abcdefghij.supabase.co"
SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
COOKIE = "sb-abcdefghij-auth-token"


@pytest.fixture
def tokens(clock) -> TokenFactory:
    return TokenFactory.supabase(PROJECT, clock=clock)


def session_cookie(token: str, **extra: object) -> str:
    session = {"access_token": token, "token_type": "bearer", "refresh_token": "r", **extra}
    encoded = base64.urlsafe_b64encode(json.dumps(session).encode()).rstrip(b"=").decode()
    return "base64-" + encoded


def test_the_project_url_gives_iss_keys_audience_and_cookie() -> None:
    issuer = supabase(PROJECT + "/")
    assert issuer.issuer == f"{PROJECT}/auth/v1"
    assert issuer.audience == {"authenticated"}
    assert issuer.algorithms == {"ES256", "RS256"}
    assert isinstance(issuer.keys, RemoteKeys)
    assert issuer.keys.jwks_url == f"{PROJECT}/auth/v1/.well-known/jwks.json"
    assert issuer.sources is not None
    assert [s.spec for s in issuer.sources] == ["bearer", f"cookie:{COOKIE}"]
    assert isinstance(issuer.sources[1], SupabaseSessionCookie)
    assert issuer.metadata["storage_key"] == COOKIE
    other = supabase("http://127.0.0.1:54321", storage_key="my-app-session")
    assert other.metadata["storage_key"] == "my-app-session"


def test_with_the_legacy_secret_both_kinds_of_token_verify(tokens, clock) -> None:
    legacy = TokenFactory.supabase(PROJECT, algorithm="HS256", clock=clock)
    legacy.signing_key = SECRET.encode()
    with tokens.serve_jwks() as keys:
        issuer = supabase(PROJECT, jwt_secret=SECRET, jwks_url=keys.url)
        assert isinstance(issuer.keys, MixedKeys)
        assert issuer.algorithms == {"HS256", "ES256", "RS256"}
        gate = Gate(issuers=[issuer], clock=clock)
        old = gate.authenticate(headers=legacy.headers(sub="legacy-user"))
        new = gate.authenticate(headers=tokens.headers(sub="new-user", roles=["editor"]))
        assert old is not None
        assert new is not None
        assert (old.subject, new.subject, new.roles) == ("legacy-user", "new-user", {"editor"})
        assert keys.requests == 1  # only the asymmetric token needed the published keys
        # Without the secret, HS256 tokens are not accepted at all.
        only_keys = Gate(issuers=[supabase(PROJECT, jwks_url=keys.url)], clock=clock)
        with pytest.raises(InvalidToken, match="algorithm is not allowed"):
            only_keys.authenticate(headers=legacy.headers())


def test_tokens_have_supabases_shape_and_the_audience_is_checked(tokens, clock) -> None:
    claims = tokens.claims(roles=["editor"])
    assert (claims["aud"], claims["role"], claims["aal"]) == (
        "authenticated",
        "authenticated",
        "aal1",
    )
    assert claims["app_metadata"] == {
        "provider": "email",
        "providers": ["email"],
        "roles": ["editor"],
    }
    with tokens.serve_jwks() as keys:
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        with pytest.raises(InvalidClaims, match="audience"):
            gate.authenticate(headers=tokens.headers(aud="anon"))


def test_bad_secrets_name_jwt_secret() -> None:
    with pytest.raises(ConfigurationError, match=r"^jwt_secret: is empty"):
        supabase(PROJECT, jwt_secret="")
    with pytest.raises(ConfigurationError, match=r"^jwt_secret: HS256 needs a secret"):
        supabase(PROJECT, jwt_secret="short")
    with pytest.raises(ConfigurationError, match="project_url: must be an https:// URL"):
        supabase("http://abcdefghij.supabase.co")


# --- the @supabase/ssr session cookie ------------------------------------------------


def test_the_session_cookie_is_read(tokens, clock) -> None:
    with tokens.serve_jwks() as keys:
        gate = Gate(issuers=[tokens.issuer_config(jwks_url=keys.url)], clock=clock)
        token = tokens.token(sub="cookie-user")
        user = gate.authenticate(cookies={COOKIE: session_cookie(token)})
        assert user is not None
        assert (user.subject, user.source) == ("cookie-user", f"cookie:{COOKIE}")
        # The older encoding: the session JSON itself, URL-encoded by the cookie library.
        legacy = quote(json.dumps({"access_token": token}), safe="")
        assert gate.authenticate(headers={"Cookie": f"{COOKIE}={legacy}"}) is not None
        # A cookie token is a cookie token: unsafe requests need same-origin evidence.
        view = MappingView({"Cookie": f"{COOKIE}={session_cookie(token)}"}, method="POST")
        with pytest.raises(CrossSiteRequest):
            gate.authenticate(view)


def test_chunks_are_joined_in_order(tokens) -> None:
    value = session_cookie(tokens.token(), user={"bio": "x" * 5000})
    parts = [value[i : i + 3180] for i in range(0, len(value), 3180)]
    assert len(parts) > 2
    source = SupabaseSessionCookie(COOKIE)
    jar = "; ".join(f"{COOKIE}.{i}={part}" for i, part in reversed(list(enumerate(parts))))
    assert (
        source.extract(MappingView({"Cookie": jar}))
        == json.loads(base64.urlsafe_b64decode(value[len("base64-") :] + "=="))["access_token"]
    )
    # A missing chunk ends the value: the rest is not read, and the JSON is then broken.
    gap = "; ".join(f"{COOKIE}.{i}={part}" for i, part in enumerate(parts) if i != 1)
    with pytest.raises(InvalidToken, match="session cookie is malformed"):
        source.extract(MappingView({"Cookie": gap}))


def test_no_more_than_max_chunks_are_read() -> None:
    source = SupabaseSessionCookie(COOKIE)
    jar = "; ".join(f"{COOKIE}.{i}=x" for i in range(MAX_CHUNKS + 5))
    with pytest.raises(InvalidToken):
        source.extract(MappingView({"Cookie": jar}))
    assert source.extract(MappingView({"Cookie": "other=1"})) is None


@pytest.mark.parametrize(
    ("value", "description"),
    [
        ("base64-!!!", "The session cookie is malformed"),
        (
            "base64-" + base64.urlsafe_b64encode(b"not json").decode(),
            "The session cookie is malformed",
        ),
        ("%7B%22a%22%3A1%7D", "The session cookie holds no access token"),
        (quote('{"access_token": 5}'), "The session cookie holds no access token"),
        (quote('["token", "refresh"]'), "The session cookie holds no access token"),
        ("[" * 3000, "The session cookie is malformed"),
    ],
)
def test_a_cookie_that_cannot_be_read_is_a_malformed_token(value, description) -> None:
    with pytest.raises(InvalidToken) as info:
        SupabaseSessionCookie(COOKIE).extract(MappingView({"Cookie": f"{COOKIE}={value}"}))
    assert info.value.description == description
    assert value not in info.value.description


def test_decoded_sessions_are_remembered(tokens) -> None:
    source = SupabaseSessionCookie(COOKIE)
    view = MappingView({"Cookie": f"{COOKIE}={session_cookie(tokens.token())}"})
    first = source.extract(view)
    assert source.extract(view) is first


def test_the_memo_is_bounded(tokens) -> None:
    from jwtgate.presets.supabase import _MEMO_SIZE

    source = SupabaseSessionCookie(COOKIE)
    token = tokens.token()
    for n in range(_MEMO_SIZE + 1):
        view = MappingView({"Cookie": f"{COOKIE}={session_cookie(token, n=n)}"})
        assert source.extract(view) == token
    assert len(source._memo) <= _MEMO_SIZE
