"""Every provider preset from JWTGATE_<PROVIDER>_* settings: the same issuer as the preset call.

A gate built from a preset's settings must decide every token as the gate
built by calling the preset does (the presets are compared with the
providers' own verifiers in tests/integration). Keys are served on
127.0.0.1 and named by the presets' ``_JWKS_URL`` settings. Every error names
the setting in one line.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from jwtgate import AuthError, ConfigurationError, Gate, presets
from jwtgate.preset_settings import PRESET_SETTINGS
from jwtgate.presets import UNCHECKED
from jwtgate.settings import GATE_SETTINGS, Settings, gate_from_settings
from jwtgate.testing import TokenFactory
from tests.tokens import bearer

SECRET = "a-supabase-legacy-jwt-secret-32-bytes-long"


@dataclass
class Case:
    """A preset's tokens, its settings (given the JWKS URL) and the same preset called in code."""

    tokens: Callable[[], TokenFactory]
    settings: Callable[[str], dict[str, Any]]
    preset: Callable[[str], Any]
    roles: list[str]
    #: Claims or header changes the preset refuses, besides the usual bad tokens.
    refused: list[dict[str, Any]]


CASES: dict[str, Case] = {
    "auth0": Case(
        TokenFactory.auth0,
        lambda url: {
            "JWTGATE_AUTH0_DOMAIN": "example.us.auth0.com",
            "JWTGATE_AUTH0_AUDIENCE": "https://api.example.com",
            "JWTGATE_AUTH0_ROLES_CLAIM": "https://example.com/roles",
            "JWTGATE_AUTH0_JWKS_URL": url,
        },
        lambda url: presets.auth0(
            "example.us.auth0.com",
            audience="https://api.example.com",
            roles_claim="https://example.com/roles",
            jwks_url=url,
        ),
        ["read:reports"],
        [{"aud": "https://other.example.com"}],
    ),
    "cognito": Case(
        lambda: TokenFactory.cognito(token_use="id"),
        lambda url: {
            "JWTGATE_COGNITO_REGION": "eu-west-1",
            "JWTGATE_COGNITO_USER_POOL_ID": "eu-west-1_Example01",
            "JWTGATE_COGNITO_CLIENT_ID": "4example1client2id3abc",
            "JWTGATE_COGNITO_TOKEN_USE": "id",
            "JWTGATE_COGNITO_JWKS_URL": url,
        },
        lambda url: presets.cognito(
            "eu-west-1",
            "eu-west-1_Example01",
            client_id="4example1client2id3abc",
            token_use="id",
            jwks_url=url,
        ),
        ["admins"],
        [{"aud": "another-client"}, {"token_use": "access"}],
    ),
    "keycloak": Case(
        TokenFactory.keycloak,
        lambda url: {
            "JWTGATE_KEYCLOAK_REALM_URL": "https://sso.example.com/realms/example",
            "JWTGATE_KEYCLOAK_CLIENT_ID": "example-api",
            "JWTGATE_KEYCLOAK_JWKS_URL": url,
        },
        lambda url: presets.keycloak(
            "https://sso.example.com/realms/example", client_id="example-api", jwks_url=url
        ),
        ["editor"],
        [{"typ": "ID"}, {"aud": "account"}],
    ),
    "firebase": Case(
        TokenFactory.firebase,
        lambda url: {
            "JWTGATE_FIREBASE_PROJECT_ID": "example-project",
            "JWTGATE_FIREBASE_JWKS_URL": url,
        },
        lambda url: presets.firebase("example-project", jwks_url=url),
        ["admin"],
        [{"auth_time": 4_000_000_000}, {"aud": "another-project"}],
    ),
    "supabase": Case(
        TokenFactory.supabase,
        lambda url: {
            "JWTGATE_SUPABASE_URL": "https://example.supabase.co",
            "JWTGATE_SUPABASE_JWT_SECRET": SECRET,
            "JWTGATE_SUPABASE_JWKS_URL": url,
        },
        lambda url: presets.supabase(
            "https://example.supabase.co", jwt_secret=SECRET, jwks_url=url
        ),
        ["admin"],
        [{"aud": "anon"}],
    ),
    "clerk": Case(
        TokenFactory.clerk,
        lambda url: {
            "JWTGATE_CLERK_ISSUER_URL": "https://clerk.example.com",
            "JWTGATE_CLERK_AUTHORIZED_PARTIES": "https://example.com, https://www.example.com",
            "JWTGATE_CLERK_JWKS_URL": url,
        },
        lambda url: presets.clerk(
            "https://clerk.example.com",
            authorized_parties=["https://example.com", "https://www.example.com"],
            jwks_url=url,
        ),
        ["org:admin"],
        [{"azp": "https://evil.example"}, {"sts": "pending"}],
    ),
    "privy": Case(
        lambda: TokenFactory.privy(app_id="my-privy-app", token="access"),
        lambda url: {
            "JWTGATE_PRIVY_APP_ID": "my-privy-app",
            "JWTGATE_PRIVY_TOKEN": "access",
            "JWTGATE_PRIVY_JWKS_URL": url,
        },
        lambda url: presets.privy("my-privy-app", token="access", jwks_url=url),
        [],
        [{"sid": None}, {"aud": "another-app"}],
    ),
    "oidc": Case(
        lambda: TokenFactory("RS256", issuer="https://id.example.com/", audience="api"),
        lambda url: {
            "JWTGATE_OIDC_ISSUER": "https://id.example.com/",
            "JWTGATE_OIDC_AUDIENCE": "api",
            "JWTGATE_OIDC_ALGORITHMS": "RS256",
            "JWTGATE_OIDC_ROLES_CLAIM": "roles",
            "JWTGATE_OIDC_TOKEN_TYPE": "JWT",
            "JWTGATE_OIDC_JWKS_URL": url,
        },
        lambda url: presets.oidc(
            "https://id.example.com/",
            audience="api",
            algorithms=["RS256"],
            roles_claim="roles",
            token_type="JWT",
            jwks_url=url,
        ),
        ["admin"],
        [{"headers": {"typ": "at+jwt"}}],
    ),
}


@contextmanager
def served(tokens: TokenFactory) -> Iterator[str]:
    with tokens.serve_jwks() as keys:
        yield keys.url


def verdict(gate: Gate, headers: dict[str, str]) -> str:
    try:
        user = gate.authenticate(headers=headers)
    except AuthError as error:
        return f"refused: {error.error}: {error.description}"
    if user is None:
        return "anonymous"
    return f"accepted: {user.subject} {sorted(user.roles)}"


# --- the same issuer as the preset --------------------------------------------------------------


def test_every_preset_has_settings_and_every_setting_a_preset_argument():
    names = [preset.name for preset in PRESET_SETTINGS]
    functions = [
        name for name in presets.__all__ if name.islower() and callable(getattr(presets, name))
    ]
    assert sorted(names) == sorted(set(functions) - {"decode_json_claims"})
    for preset in PRESET_SETTINGS:
        parameters = inspect.signature(getattr(presets, preset.name)).parameters
        for field in preset.fields:
            assert field.argument in parameters, (preset.name, field.argument)
            assert field.setting.startswith(f"JWTGATE_{preset.name.upper()}_")
            assert GATE_SETTINGS[field.setting]
        assert any(field.required for field in preset.fields)


@pytest.mark.parametrize("name", CASES)
def test_settings_build_the_preset_that_code_would(name):
    case = CASES[name]
    tokens = case.tokens()
    if name == "supabase":
        legacy = TokenFactory.supabase(algorithm="HS256")
        legacy.signing_key = SECRET.encode()
    with served(tokens) as url:
        from_settings = gate_from_settings(case.settings(url))
        assert from_settings is not None
        from_code = Gate(issuers=[case.preset(url)])
        (built,) = from_settings.issuers
        (expected,) = from_code.issuers
        assert (built.name, built.issuer, built.metadata) == (
            expected.name,
            expected.issuer,
            expected.metadata,
        )
        assert [s.spec for s in from_settings.sources] == [s.spec for s in from_code.sources]
        variants = {
            "valid": tokens.token(sub="ada", roles=case.roles),
            "expired": tokens.expired(sub="ada"),
            "wrong signature": tokens.wrong_signature(sub="ada"),
            "wrong issuer": tokens.wrong_issuer(sub="ada"),
            **{
                f"refused {n}": tokens.token(sub="ada", **changes)
                for n, changes in enumerate(case.refused)
            },
        }
        if name == "auth0":
            variants["namespaced roles"] = tokens.token(
                sub="ada", **{"https://example.com/roles": ["editor"]}
            )
        if name == "supabase":
            variants["legacy secret"] = legacy.token(sub="ada")
        found = {label: verdict(from_settings, bearer(t)) for label, t in variants.items()}
        assert found == {label: verdict(from_code, bearer(t)) for label, t in variants.items()}
    assert found["valid"].startswith("accepted: ada [")
    assert all(f"'{role}'" in found["valid"] for role in case.roles)
    assert all(found[label].startswith("refused") for label in found if label.startswith("re"))
    assert found["expired"].startswith("refused")
    if name == "auth0":
        assert found["namespaced roles"] == "accepted: ada ['editor']"
    if name == "supabase":
        assert found["legacy secret"] == "accepted: ada []"


def test_environment_variables_read_as_python_settings(monkeypatch):
    tokens = TokenFactory.clerk()
    with served(tokens) as url:
        for name, value in CASES["clerk"].settings(url).items():
            monkeypatch.setenv(name, value)
        gate = gate_from_settings(os.environ)
        assert gate is not None
        user = gate.authenticate(headers=tokens.headers(sub="env", roles=["org:admin"]))
    assert user is not None
    assert (user.subject, user.roles) == ("env", {"org:admin"})


def test_defaults_are_the_presets_own():
    cognito = gate_from_settings(
        {
            "JWTGATE_COGNITO_REGION": "eu-west-1",
            "JWTGATE_COGNITO_USER_POOL_ID": "eu-west-1_Example01",
            "JWTGATE_COGNITO_CLIENT_ID": "c1",
        }
    )
    assert cognito is not None
    assert cognito.issuers[0].metadata["token_use"] == "access"
    privy = gate_from_settings({"JWTGATE_PRIVY_APP_ID": "my-privy-app"})
    assert privy is not None
    assert privy.issuers[0].metadata["token"] == "identity"
    assert privy.issuers[0].keys.jwks_url == presets.PRIVY_JWKS_URL.format(app_id="my-privy-app")
    keycloak = gate_from_settings(
        {
            "JWTGATE_KEYCLOAK_REALM_URL": "https://sso.example.com/realms/main",
            "JWTGATE_KEYCLOAK_CLIENT_ID": "orders",
        }
    )
    assert keycloak is not None
    assert keycloak.issuers[0].audience == {"orders"}
    firebase = gate_from_settings({"JWTGATE_FIREBASE_PROJECT_ID": "my-app-1a2b3"})
    assert firebase is not None
    assert firebase.issuers[0].keys.jwks_url == presets.FIREBASE_CERTIFICATES_URL


def test_a_privy_verification_key_reads_tokens_of_either_kind():
    for kind in ("identity", "access"):
        tokens = TokenFactory.privy(app_id="my-privy-app", token=kind)
        gate = gate_from_settings(
            {
                "JWTGATE_PRIVY_APP_ID": "my-privy-app",
                "JWTGATE_PRIVY_VERIFICATION_KEY": tokens.public_pem().replace("\n", "\\n"),
                "JWTGATE_PRIVY_TOKEN": kind,
            }
        )
        assert gate is not None
        from_bearer = verdict(gate, bearer(tokens.token(sub="did:privy:1")))
        # Identity tokens come from the privy-id-token cookie or header, not Bearer.
        assert from_bearer == ("accepted: did:privy:1 []" if kind == "access" else "anonymous")
        other = TokenFactory.privy(
            app_id="my-privy-app", token="identity" if kind == "access" else "access"
        )
        other.signing_key = tokens.signing_key
        foreign = other.token(sub="did:privy:1")
        foreign_headers = {"privy-id-token": foreign} if kind == "identity" else bearer(foreign)
        assert verdict(gate, foreign_headers).startswith("refused: invalid_token")
        wanted = "privy-id-token" if kind == "identity" else "Authorization"
        own = tokens.token(sub="did:privy:1")
        headers = {wanted: own if kind == "identity" else f"Bearer {own}"}
        assert verdict(gate, headers) == "accepted: did:privy:1 []"


ROLES = [
    name
    for name, case in CASES.items()
    if any(
        f.setting.endswith("_ROLES_CLAIM")
        for p in PRESET_SETTINGS
        if p.name == name
        for f in p.fields
    )
]


@pytest.mark.parametrize("name", ROLES)
def test_a_roles_claim_setting_says_where_the_roles_are(name):
    case = CASES[name]
    tokens = case.tokens()
    with served(tokens) as url:
        settings = case.settings(url)
        settings[f"JWTGATE_{name.upper()}_ROLES_CLAIM"] = "app.groups, team"
        gate = gate_from_settings(settings)
        assert gate is not None
        found = verdict(gate, tokens.headers(sub="r", app={"groups": ["ops"]}, team=["qa"]))
    assert found.startswith("accepted: r [")
    assert "'ops'" in found
    assert "'qa'" in found


# --- unchecked: the explicit opt-out ------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["unchecked", "UNCHECKED", " Unchecked ", ["unchecked"], UNCHECKED]
)
def test_unchecked_turns_a_check_off_where_the_preset_allows_it(spelling):
    tokens = TokenFactory.clerk(azp="https://anywhere.example")
    with served(tokens) as url:
        settings = CASES["clerk"].settings(url)
        strict = gate_from_settings(settings)
        assert strict is not None
        assert verdict(strict, tokens.headers()).startswith("refused: invalid_token")
        settings["JWTGATE_CLERK_AUTHORIZED_PARTIES"] = spelling
        relaxed = gate_from_settings(settings)
        assert relaxed is not None
        assert relaxed.issuers[0].authorized_parties is None
        assert verdict(relaxed, tokens.headers(sub="u")) == "accepted: u []"


@pytest.mark.parametrize(
    ("settings", "attribute"),
    [
        (
            {
                "JWTGATE_COGNITO_REGION": "eu-west-1",
                "JWTGATE_COGNITO_USER_POOL_ID": "eu-west-1_Example01",
                "JWTGATE_COGNITO_CLIENT_ID": "unchecked",
            },
            None,
        ),
        (
            {
                "JWTGATE_KEYCLOAK_REALM_URL": "https://sso.example.com/realms/main",
                "JWTGATE_KEYCLOAK_CLIENT_ID": "orders",
                "JWTGATE_KEYCLOAK_AUDIENCE": "unchecked",
            },
            "audience",
        ),
        (
            {
                "JWTGATE_OIDC_ISSUER": "https://id.example.com/",
                "JWTGATE_OIDC_AUDIENCE": "unchecked",
            },
            "audience",
        ),
    ],
)
def test_every_opt_out_is_reachable(settings, attribute):
    gate = gate_from_settings(settings)
    assert gate is not None
    issuer = gate.issuers[0]
    if attribute is not None:
        assert getattr(issuer, attribute) is None
    else:  # Cognito checks the app client as a claim: only token_use is left
        assert [name for name, _ in issuer.expected_claims] == ["token_use"]


def test_an_unchecked_cognito_client_accepts_another_app_client():
    tokens = TokenFactory.cognito(client_id="another-client")
    with served(tokens) as url:
        settings = {
            "JWTGATE_COGNITO_REGION": "eu-west-1",
            "JWTGATE_COGNITO_USER_POOL_ID": "eu-west-1_Example01",
            "JWTGATE_COGNITO_CLIENT_ID": "4example1client2id3abc",
            "JWTGATE_COGNITO_JWKS_URL": url,
        }
        strict = gate_from_settings(settings)
        assert strict is not None
        assert verdict(strict, tokens.headers()).startswith("refused: invalid_token")
        relaxed = gate_from_settings({**settings, "JWTGATE_COGNITO_CLIENT_ID": "unchecked"})
        assert relaxed is not None
        assert verdict(relaxed, tokens.headers(sub="c")) == "accepted: c []"


# --- several presets in one gate -----------------------------------------------------------------


def test_several_presets_share_one_gate():
    netlify = TokenFactory.netlify(secret="a-netlify-site-secret-of-32-bytes-or-more")
    auth0 = TokenFactory.auth0()
    supabase = TokenFactory.supabase()
    clerk = TokenFactory.clerk()
    with served(auth0) as auth0_url, served(supabase) as supabase_url, served(clerk) as clerk_url:
        gate = gate_from_settings(
            {
                "JWTGATE_NETLIFY_JWT_SECRET": "a-netlify-site-secret-of-32-bytes-or-more",
                **CASES["auth0"].settings(auth0_url),
                "JWTGATE_SUPABASE_URL": "https://example.supabase.co",
                "JWTGATE_SUPABASE_JWKS_URL": supabase_url,
                **CASES["clerk"].settings(clerk_url),
            }
        )
        assert gate is not None
        assert [issuer.name for issuer in gate.issuers] == [
            "netlify",
            "auth0",
            "supabase:https://example.supabase.co",
            "clerk:https://clerk.example.com",
        ]
        for factory, role in (
            (netlify, "admin"),
            (auth0, "read:reports"),
            (supabase, "admin"),
            (clerk, "org:admin"),
        ):
            assert (
                verdict(gate, factory.headers(sub="s", roles=[role])) == f"accepted: s ['{role}']"
            )
        # Each issuer's own sources, in order: Netlify's nf_jwt cookie is read too.
        cookie = {"Cookie": f"nf_jwt={netlify.token(sub='c')}"}
        assert verdict(gate, cookie) == "accepted: c []"


def test_two_presets_with_one_iss_are_refused_naming_their_settings():
    with pytest.raises(ConfigurationError) as found:
        gate_from_settings(
            {
                "JWTGATE_AUTH0_DOMAIN": "example.us.auth0.com",
                "JWTGATE_AUTH0_AUDIENCE": "api",
                "JWTGATE_OIDC_ISSUER": "https://example.us.auth0.com/",
                "JWTGATE_OIDC_AUDIENCE": "api",
            }
        )
    assert str(found.value) == (
        "JWTGATE_AUTH0_DOMAIN, JWTGATE_AUTH0_AUDIENCE, JWTGATE_OIDC_ISSUER, "
        "JWTGATE_OIDC_AUDIENCE: two issuers have the same iss"
    )


def test_a_preset_beside_the_generic_issuer():
    generic = TokenFactory("HS256", issuer="https://own.example/", audience="api", key=SECRET)
    firebase = TokenFactory.firebase()
    with served(firebase) as url:
        gate = gate_from_settings(
            {
                "JWTGATE_FIREBASE_PROJECT_ID": "example-project",
                "JWTGATE_FIREBASE_JWKS_URL": url,
                "JWTGATE_ISSUER": "https://own.example/",
                "JWTGATE_ALGORITHMS": "HS256",
                "JWTGATE_AUDIENCE": "api",
                "JWTGATE_SECRET": SECRET,
            }
        )
        assert gate is not None
        assert verdict(gate, firebase.headers(sub="f")) == "accepted: f []"
    assert verdict(gate, generic.headers(sub="g", roles=["x"])) == "accepted: g ['x']"


# --- errors: one line, naming the setting ----------------------------------------------------


AUTH0 = {"JWTGATE_AUTH0_DOMAIN": "example.us.auth0.com", "JWTGATE_AUTH0_AUDIENCE": "api"}
COGNITO = {
    "JWTGATE_COGNITO_REGION": "eu-west-1",
    "JWTGATE_COGNITO_USER_POOL_ID": "eu-west-1_Example01",
    "JWTGATE_COGNITO_CLIENT_ID": "c1",
}
KEYCLOAK = {
    "JWTGATE_KEYCLOAK_REALM_URL": "https://sso.example.com/realms/main",
    "JWTGATE_KEYCLOAK_CLIENT_ID": "orders",
}
CLERK = {
    "JWTGATE_CLERK_ISSUER_URL": "https://clerk.example.com",
    "JWTGATE_CLERK_AUTHORIZED_PARTIES": "https://example.com",
}
OIDC = {"JWTGATE_OIDC_ISSUER": "https://id.example.com/", "JWTGATE_OIDC_AUDIENCE": "api"}

ERRORS = [
    # Auth0
    (
        {"JWTGATE_AUTH0_DOMAIN": "example.us.auth0.com"},
        "JWTGATE_AUTH0_AUDIENCE: required with JWTGATE_AUTH0_DOMAIN (the API Identifier "
        "(Applications → APIs), or several)",
    ),
    (
        {"JWTGATE_AUTH0_AUDIENCE": "api"},
        "JWTGATE_AUTH0_DOMAIN: required with JWTGATE_AUTH0_AUDIENCE (the tenant's domain "
        "(or custom domain), e.g. example.us.auth0.com)",
    ),
    (
        {**AUTH0, "JWTGATE_AUTH0_AUDIENCE": "unchecked"},
        "JWTGATE_AUTH0_AUDIENCE: cannot be unchecked; give the API Identifier "
        "(Applications → APIs), or several",
    ),
    (
        {**AUTH0, "JWTGATE_AUTH0_DOMAIN": "not a host"},
        "JWTGATE_AUTH0_DOMAIN: must be a host name such as example.us.auth0.com "
        "(the tenant or custom domain)",
    ),
    (
        {**AUTH0, "JWTGATE_AUTH0_JWKS_URL": "http://example.com/jwks"},
        "JWTGATE_AUTH0_JWKS_URL: must be https:// (http:// only for loopback hosts "
        "or with allow_http)",
    ),
    ({**AUTH0, "JWTGATE_AUTH0_ROLES_CLAIM": 5}, "JWTGATE_AUTH0_ROLES_CLAIM: a list of strings"),
    # Cognito
    (
        {**COGNITO, "JWTGATE_COGNITO_REGION": "eu-west-2"},
        "JWTGATE_COGNITO_REGION: the user pool eu-west-1_Example01 is in eu-west-1, "
        "not in eu-west-2",
    ),
    (
        {**COGNITO, "JWTGATE_COGNITO_USER_POOL_ID": "pool"},
        "JWTGATE_COGNITO_USER_POOL_ID: must look like eu-west-1_AbCdEf123",
    ),
    (
        {"JWTGATE_COGNITO_USER_POOL_ID": "eu-west-1_Example01", "JWTGATE_COGNITO_CLIENT_ID": "c"},
        "JWTGATE_COGNITO_REGION: required with JWTGATE_COGNITO_USER_POOL_ID, "
        "JWTGATE_COGNITO_CLIENT_ID (the user pool's AWS region, e.g. eu-west-1)",
    ),
    (
        {k: v for k, v in COGNITO.items() if k != "JWTGATE_COGNITO_CLIENT_ID"},
        "JWTGATE_COGNITO_CLIENT_ID: required with JWTGATE_COGNITO_REGION, "
        "JWTGATE_COGNITO_USER_POOL_ID (the app client id (App integration → App clients), "
        "or several); or unchecked to accept any",
    ),
    (
        {**COGNITO, "JWTGATE_COGNITO_CLIENT_ID": "c1, unchecked"},
        "JWTGATE_COGNITO_CLIENT_ID: unchecked stands alone (it turns the check off); "
        "give it alone, or only the values to accept",
    ),
    (
        {**COGNITO, "JWTGATE_COGNITO_TOKEN_USE": "refresh"},
        'JWTGATE_COGNITO_TOKEN_USE: "access" or "id"',
    ),
    # Keycloak
    (
        {**KEYCLOAK, "JWTGATE_KEYCLOAK_REALM_URL": "http://sso.example.com/realms/main"},
        "JWTGATE_KEYCLOAK_REALM_URL: must be an https:// URL "
        "(the realm's URL, e.g. https://sso.example.com/realms/main)",
    ),
    (
        {"JWTGATE_KEYCLOAK_REALM_URL": "https://sso.example.com/realms/main"},
        "JWTGATE_KEYCLOAK_CLIENT_ID: required with JWTGATE_KEYCLOAK_REALM_URL "
        "(the Keycloak client the API is (its roles are read))",
    ),
    ({**KEYCLOAK, "JWTGATE_KEYCLOAK_AUDIENCE": ","}, "JWTGATE_KEYCLOAK_AUDIENCE: give at least"),
    # Firebase
    (
        {"JWTGATE_FIREBASE_PROJECT_ID": "My Project"},
        "JWTGATE_FIREBASE_PROJECT_ID: must be the project id, e.g. my-app-1a2b3",
    ),
    (
        {"JWTGATE_FIREBASE_ROLES_CLAIM": "roles"},
        "JWTGATE_FIREBASE_PROJECT_ID: required with JWTGATE_FIREBASE_ROLES_CLAIM "
        "(the Firebase project id)",
    ),
    # Supabase
    (
        {"JWTGATE_SUPABASE_URL": "https://example.supabase.co", "JWTGATE_SUPABASE_JWT_SECRET": "x"},
        "JWTGATE_SUPABASE_JWT_SECRET: HS256 needs a secret of at least 32 bytes (got 1)",
    ),
    (
        {"JWTGATE_SUPABASE_JWT_SECRET": SECRET},
        "JWTGATE_SUPABASE_URL: required with JWTGATE_SUPABASE_JWT_SECRET "
        "(the Project URL, e.g. https://abcd.supabase.co)",
    ),
    (
        {"JWTGATE_SUPABASE_URL": "https://example.supabase.co?x=1"},
        "JWTGATE_SUPABASE_URL: must be a plain URL (the Project URL, e.g. "
        "https://abcd.supabase.co)",
    ),
    # Clerk
    (
        {"JWTGATE_CLERK_ISSUER_URL": "https://clerk.example.com"},
        "JWTGATE_CLERK_AUTHORIZED_PARTIES: required with JWTGATE_CLERK_ISSUER_URL (your app's "
        "origins, the azp allowed, e.g. https://example.com); or unchecked to accept any",
    ),
    (
        {**CLERK, "JWTGATE_CLERK_ISSUER_URL": "clerk.example.com"},
        "JWTGATE_CLERK_ISSUER_URL: must be an https:// URL "
        "(the Frontend API URL, e.g. https://clerk.example.com)",
    ),
    ({**CLERK, "JWTGATE_CLERK_JWKS_URL": 7}, "JWTGATE_CLERK_JWKS_URL: must be a string"),
    # Privy
    (
        {"JWTGATE_PRIVY_APP_ID": "app", "JWTGATE_PRIVY_TOKEN": "refresh"},
        'JWTGATE_PRIVY_TOKEN: "identity" or "access"',
    ),
    (
        {
            "JWTGATE_PRIVY_APP_ID": "app",
            "JWTGATE_PRIVY_VERIFICATION_KEY": "pem",
            "JWTGATE_PRIVY_JWKS_URL": "https://keys.example.com/",
        },
        "JWTGATE_PRIVY_VERIFICATION_KEY, JWTGATE_PRIVY_JWKS_URL: give one or the other",
    ),
    (
        {"JWTGATE_PRIVY_APP_ID": "app", "JWTGATE_PRIVY_VERIFICATION_KEY": "-----BEGIN nonsense"},
        "JWTGATE_PRIVY_VERIFICATION_KEY: not a PEM or DER public key",
    ),
    (
        {"JWTGATE_PRIVY_TOKEN": "access"},
        "JWTGATE_PRIVY_APP_ID: required with JWTGATE_PRIVY_TOKEN "
        "(the Privy app id (Dashboard → App settings))",
    ),
    # OIDC
    (
        {"JWTGATE_OIDC_ISSUER": "https://id.example.com/"},
        "JWTGATE_OIDC_AUDIENCE: required with JWTGATE_OIDC_ISSUER "
        "(the API's audience, or several); or unchecked to accept any",
    ),
    (
        {**OIDC, "JWTGATE_OIDC_ISSUER": "id.example.com"},
        "JWTGATE_OIDC_ISSUER: must be an https:// URL",
    ),
    (
        {**OIDC, "JWTGATE_OIDC_ALGORITHMS": "RS256,HS256"},
        "JWTGATE_OIDC_ALGORITHMS: HS256 needs a shared secret; an OpenID provider's keys "
        "are public (RS256, ES256 …)",
    ),
    ({**OIDC, "JWTGATE_OIDC_ALGORITHMS": "RS1"}, "JWTGATE_OIDC_ALGORITHMS: 'RS1' is not supported"),
    ({**OIDC, "JWTGATE_OIDC_TOKEN_TYPE": ["at+jwt"]}, "JWTGATE_OIDC_TOKEN_TYPE: must be a string"),
    # Names and empty values
    (
        {**AUTH0, "JWTGATE_AUTH0_DOMIAN": "x"},
        "JWTGATE_AUTH0_DOMIAN: not a jwtgate setting; did you mean JWTGATE_AUTH0_DOMAIN?",
    ),
    (
        {**CLERK, "JWTGATE_CLERK_AUTHORIZED_PARTIES": ""},
        "JWTGATE_CLERK_AUTHORIZED_PARTIES: set but empty; give it a value, or remove it",
    ),
]


@pytest.mark.parametrize(("settings", "expected"), ERRORS)
def test_every_error_is_one_line_naming_the_setting(settings, expected):
    with pytest.raises(ConfigurationError) as found:
        gate_from_settings(settings)
    message = str(found.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_every_preset_setting_is_exercised_by_an_error_or_a_gate():
    # Each setting appears in an error case above, or in a gate the cases build.
    used = {name for settings, _ in ERRORS for name in settings}
    used |= {name for case in CASES.values() for name in case.settings("https://k.test/")}
    used |= {f"JWTGATE_{name.upper()}_ROLES_CLAIM" for name in ROLES}
    described = {field.setting for preset in PRESET_SETTINGS for field in preset.fields}
    # Netlify's are tested in test_settings.py and test_flask.py.
    assert sorted(described - used) == [
        "JWTGATE_NETLIFY_IDENTITY_URL",
        "JWTGATE_NETLIFY_JWT_SECRET",
    ]


def test_an_unset_variable_never_turns_a_check_off():
    # The environment variable the setting was copied from is unset: None, not "no check".
    with pytest.raises(ConfigurationError, match=r"^JWTGATE_CLERK_AUTHORIZED_PARTIES: required"):
        gate_from_settings(
            {
                "JWTGATE_CLERK_ISSUER_URL": "https://clerk.example.com",
                "JWTGATE_CLERK_AUTHORIZED_PARTIES": os.environ.get("JWTGATE_SURELY_UNSET"),
            }
        )


def test_labels_name_flags_in_preset_errors():
    settings = Settings(
        {"JWTGATE_OIDC_ISSUER": "id.example.com", "JWTGATE_OIDC_AUDIENCE": "api"},
        labels={"JWTGATE_OIDC_ISSUER": "--issuer"},
    )
    with pytest.raises(ConfigurationError, match=r"^--issuer: must be an https:// URL"):
        settings.gate()


def test_flask_refuses_preset_settings_beside_a_gate_it_was_given():
    from flask import Flask

    from jwtgate.flask import JWTGate

    app = Flask(__name__)
    app.config.update(AUTH0)
    gate = Gate(issuers=[TokenFactory.netlify().issuer_config()])
    with pytest.raises(ConfigurationError) as found:
        JWTGate(app, gate)
    assert str(found.value) == (
        "JWTGate: a Gate was passed and issuer settings are configured "
        "(JWTGATE_AUTH0_DOMAIN, JWTGATE_AUTH0_AUDIENCE): use one or the other"
    )
