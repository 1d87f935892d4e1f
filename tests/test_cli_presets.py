"""``jwtgate verify --preset NAME``: every preset, from its JWTGATE_<NAME>_* variables and flags.

Run in-process through ``main()``, against keys served on 127.0.0.1.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jwtgate.cli import PRESETS
from jwtgate.preset_settings import PRESET_SETTINGS
from jwtgate.testing import TokenFactory
from tests.in_process import run
from tests.test_settings_presets import CASES, SECRET

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("clean_environment")


def test_every_preset_is_a_choice():
    assert sorted(PRESETS) == sorted(preset.name for preset in PRESET_SETTINGS)


@pytest.mark.parametrize("name", CASES)
def test_verify_builds_the_preset_from_its_variables(name, clean_environment):
    case = CASES[name]
    tokens = case.tokens()
    with tokens.serve_jwks() as keys:
        for setting, value in case.settings(keys.url).items():
            clean_environment.setenv(setting, value)
        code, out, err = run("verify", tokens.token(sub="cli-user"), "--preset", name)
        assert (code, err) == (0, ""), err
        assert out.startswith("VERIFIED\n")
        assert '"subject": "cli-user"' in out
        code, out, err = run("verify", tokens.token(sub="u", **case.refused[0]), "--preset", name)
    assert (code, err) == (1, "")
    assert out.startswith("refused: invalid_token: ")


def test_flags_stand_for_settings_and_win_over_them(clean_environment):
    tokens = TokenFactory.auth0("example.us.auth0.com", audience="https://api.example.com")
    clean_environment.setenv("JWTGATE_AUTH0_AUDIENCE", "https://another-api.example.com")
    with tokens.serve_jwks() as keys:
        flags = ("--issuer", "https://example.us.auth0.com/", "--jwks-url", keys.url)
        code, out, _ = run("verify", tokens.token(), "--preset", "auth0", *flags)
        assert code == 1  # the environment's audience
        assert "audience" in out
        code, out, err = run(
            "verify",
            tokens.token(**{"https://example.com/roles": ["editor"]}),
            "--preset",
            "auth0",
            *flags,
            "--audience",
            "https://api.example.com",
            "--roles-claim",
            "https://example.com/roles",
        )
    assert (code, err) == (0, "")
    assert '"editor"' in out


def test_secret_flags_give_a_presets_secret(clean_environment, tmp_path):
    legacy = TokenFactory.supabase(algorithm="HS256")
    legacy.signing_key = SECRET.encode()
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    url = ("--preset", "supabase")
    clean_environment.setenv("JWTGATE_SUPABASE_URL", "https://example.supabase.co")
    assert run("verify", legacy.token(), *url, "--secret-file", str(secret_file))[0] == 0
    assert run("verify", legacy.token(), *url, "--secret", SECRET)[0] == 0
    code, out, _ = run("verify", legacy.token(), *url, "--secret", "x" * 40)
    assert code == 1
    assert "signature" in out


def test_privy_takes_its_verification_key_from_a_file(tmp_path):
    tokens = TokenFactory.privy(app_id="my-privy-app", token="identity")
    key = tmp_path / "privy.pem"
    key.write_text(tokens.public_pem())
    token = tokens.token(sub="did:privy:1")
    app = ("--audience", "my-privy-app")
    code, out, err = run("verify", token, "--preset", "privy", *app, "--key", str(key))
    assert (code, err) == (0, "")
    assert '"subject": "did:privy:1"' in out


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("netlify", "--preset netlify needs --secret, --secret-file or JWTGATE_NETLIFY_JWT_SECRET"),
        ("privy", "--preset privy needs --audience or JWTGATE_PRIVY_APP_ID"),
        ("auth0", "--preset auth0 needs --issuer or JWTGATE_AUTH0_DOMAIN; "
         "--audience or JWTGATE_AUTH0_AUDIENCE"),
        ("cognito", "--preset cognito needs JWTGATE_COGNITO_REGION, JWTGATE_COGNITO_USER_POOL_ID "
         "and JWTGATE_COGNITO_CLIENT_ID"),
        ("keycloak", "--preset keycloak needs --issuer or JWTGATE_KEYCLOAK_REALM_URL; "
         "JWTGATE_KEYCLOAK_CLIENT_ID"),
        ("firebase", "--preset firebase needs JWTGATE_FIREBASE_PROJECT_ID"),
        ("supabase", "--preset supabase needs JWTGATE_SUPABASE_URL"),
        ("clerk", "--preset clerk needs --issuer or JWTGATE_CLERK_ISSUER_URL; "
         "JWTGATE_CLERK_AUTHORIZED_PARTIES"),
        ("oidc", "--preset oidc needs --issuer or JWTGATE_OIDC_ISSUER; "
         "--audience or JWTGATE_OIDC_AUDIENCE"),
    ],
)  # fmt: skip
def test_what_a_preset_needs_is_named(name, message):
    assert run("verify", "a.b.c", "--preset", name) == (2, "", f"jwtgate: error: {message}\n")


@pytest.mark.parametrize(
    ("args", "environment", "message"),
    [
        (
            ["--preset", "firebase", "--issuer", "https://securetoken.google.com/p"],
            {},
            "--preset firebase does not take --issuer",
        ),
        (["--preset", "netlify", "--leeway", "5"], {}, "--preset netlify does not take --leeway"),
        (["--preset", "oidc", "--discovery"], {}, "--preset oidc does not take --discovery"),
        (
            ["--preset", "netlify", "--secret", SECRET, "--secret-file", "secret.txt"],
            {},
            "--secret, --secret-file: give one or the other",
        ),
        (
            ["--preset", "privy", "--audience", "app-1", "--audience", "app-2"],
            {},
            "--audience: --preset privy takes one",
        ),
        (
            ["--preset", "oidc", "--issuer", "id.example.com", "--audience", "api"],
            {},
            "--issuer: must be an https:// URL",
        ),
        (
            ["--preset", "oidc", "--audience", "api"],
            {"JWTGATE_OIDC_ISSUER": "id.example.com"},
            "JWTGATE_OIDC_ISSUER: must be an https:// URL",
        ),
        (
            ["--preset", "clerk"],
            {"JWTGATE_CLERK_ISSUER_URL": "https://clerk.example.com"},
            "--preset clerk needs JWTGATE_CLERK_AUTHORIZED_PARTIES",
        ),
        (
            ["--preset", "clerk"],
            {
                "JWTGATE_CLERK_ISSUER_URL": "https://c.example",
                "JWTGATE_CLERK_AUTHORIZED_PARTIES": "",
            },
            "JWTGATE_CLERK_AUTHORIZED_PARTIES: set but empty; give it a value, or remove it",
        ),
        (
            ["--preset", "auth0", "--issuer", "example.us.auth0.com", "--audience", "unchecked"],
            {},
            "--audience: cannot be unchecked; give the API Identifier (Applications → APIs), "
            "or several",
        ),
        (
            ["--preset", "keycloak", "--issuer", "https://sso.example.com/realms/main"],
            {"JWTGATE_KEYCLOAK_CLIENT_ID": "orders", "JWTGATE_KEYCLOK_AUDIENCE": "x"},
            "JWTGATE_KEYCLOK_AUDIENCE: not a jwtgate setting; did you mean "
            "JWTGATE_KEYCLOAK_AUDIENCE?",
        ),
    ],
)
def test_bad_preset_command_lines_are_one_line_naming_the_flag_or_setting(
    args, environment, message, clean_environment
):
    for name, value in environment.items():
        clean_environment.setenv(name, value)
    assert run("verify", "a.b.c", *args) == (2, "", f"jwtgate: error: {message}\n")


def test_unchecked_from_a_flag_turns_a_check_off():
    tokens = TokenFactory("RS256", issuer="https://id.example.com/", audience="some-other-api")
    with tokens.serve_jwks() as keys:
        base = ("--preset", "oidc", "--issuer", "https://id.example.com/", "--jwks-url", keys.url)
        assert run("verify", tokens.token(), *base, "--audience", "api")[0] == 1
        assert run("verify", tokens.token(), *base, "--audience", "unchecked")[0] == 0


def test_the_cli_page_lists_the_flags_each_setting_comes_from():
    page = (ROOT / "docs" / "cli.md").read_text()
    rows = dict(re.findall(r"^\| (`--[^|]+`) \| ([^|]+) \|$", page, re.MULTILINE))
    # Every preset's roles claim and JWKS URL: named once for all of them.
    every = {"roles_claim": "the preset's `_ROLES_CLAIM`", "jwks_url": "the preset's `_JWKS_URL`"}
    by_flag: dict[str, set[str]] = {}
    for preset in PRESET_SETTINGS:
        for field in preset.fields:
            for flag in field.flags:
                text = every.get(field.argument, f"`{field.setting}`")
                by_flag.setdefault(flag, set()).add(text)
    shown = {}
    for flags, settings in rows.items():
        for flag in re.findall(r"`(--[a-z-]+)`", flags):
            shown[flag] = {part.strip() for part in settings.split(",")}
    assert shown == by_flag
