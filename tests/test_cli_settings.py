"""The jwtgate command speaks the settings' vocabulary: each JWTGATE_* name means one thing.

Run in-process through ``main()`` (the subprocess tests of exit codes and
output are in test_cli.py).
"""

from __future__ import annotations

import pytest

from jwtgate import Gate
from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory
from tests.in_process import run

SITE_SECRET = "a-netlify-site-secret-of-32-bytes-or-more"
GENERIC_SECRET = "the-generic-issuer-hmac-secret-32-bytes+"


pytestmark = pytest.mark.usefixtures("clean_environment")


def test_verify_with_no_issuer_options_reads_the_apps_settings(clean_environment):
    tokens = TokenFactory("HS256", issuer="https://id.example/", audience="api", key=GENERIC_SECRET)
    clean_environment.setenv("JWTGATE_ISSUER", "https://id.example/")
    clean_environment.setenv("JWTGATE_ALGORITHMS", "HS256")
    clean_environment.setenv("JWTGATE_SECRET", GENERIC_SECRET)
    clean_environment.setenv("JWTGATE_AUDIENCE", "api")
    clean_environment.setenv("JWTGATE_SOURCES", "cookie:session")  # the app's; verify reads Bearer
    code, out, err = run("verify", tokens.token(sub="from-env"))
    assert (code, err) == (0, "")
    assert '"subject": "from-env"' in out
    code, out, _ = run("verify", tokens.wrong_audience(sub="from-env"))
    assert code == 1
    assert out.startswith("refused: invalid_token")


def test_verify_reads_the_netlify_site_secret_by_its_own_name(clean_environment):
    tokens = TokenFactory.netlify(secret=SITE_SECRET)
    clean_environment.setenv("JWTGATE_NETLIFY_JWT_SECRET", SITE_SECRET)
    assert run("verify", tokens.token(sub="n1"))[0] == 0
    assert run("verify", tokens.token(sub="n1"), "--preset", "netlify")[0] == 0


def test_jwtgate_secret_is_not_the_netlify_secret(clean_environment):
    tokens = TokenFactory.netlify(secret=GENERIC_SECRET)
    clean_environment.setenv("JWTGATE_SECRET", GENERIC_SECRET)
    code, _, err = run("verify", tokens.token(sub="n1"), "--preset", "netlify")
    assert code == 2
    assert err == (
        "jwtgate: error: --preset netlify needs --secret, --secret-file "
        "or JWTGATE_NETLIFY_JWT_SECRET\n"
    )


def test_mint_netlify_signs_with_the_site_secret_from_its_setting(clean_environment):
    clean_environment.setenv("JWTGATE_NETLIFY_JWT_SECRET", SITE_SECRET)
    clean_environment.setenv("JWTGATE_SECRET", GENERIC_SECRET)  # another issuer's: not used
    code, token, _ = run("mint", "--netlify", "--sub", "m1")
    assert code == 0
    site = Gate(issuers=[TokenFactory.netlify(secret=SITE_SECRET).issuer_config()])
    user = site.authenticate(cookies={"nf_jwt": token.strip()})
    assert user is not None
    assert user.subject == "m1"


def test_mint_netlify_without_a_site_secret_uses_the_development_key(clean_environment):
    clean_environment.setenv("JWTGATE_SECRET", GENERIC_SECRET)
    code, token, _ = run("mint", "--netlify", "--sub", "m2")
    assert code == 0
    development = Gate(issuers=[TokenFactory.netlify(secret=DEVELOPMENT_SECRET).issuer_config()])
    assert development.authenticate(cookies={"nf_jwt": token.strip()}) is not None


@pytest.mark.parametrize("algorithm", [["--algorithm", "HS256"], []])
def test_mint_signs_with_the_generic_secret_from_its_setting(clean_environment, algorithm):
    clean_environment.setenv("JWTGATE_SECRET", GENERIC_SECRET)
    code, token, _ = run("mint", *algorithm, "--sub", "g1")
    assert code == 0
    clean_environment.setenv("JWTGATE_ALGORITHMS", "HS256")
    code, out, _ = run("verify", token.strip())
    assert code == 0
    assert '"subject": "g1"' in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--issuer", "https://x/"], "--issuer: the issuer needs a key: set one of --secret"),
        (["--secret", GENERIC_SECRET], '--algorithm: required with --secret, e.g. "RS256"'),
        (["--algorithm", "HS256", "--secret", "short"], "--secret: HS256 needs a secret"),
        (
            ["--algorithm", "HS256", "--secret", GENERIC_SECRET, "--jwks-url", "https://x/j"],
            "--secret, --jwks-url: give exactly one key source",
        ),
        (["--algorithm", "RS256", "--discovery"], "--discovery: needs the issuer"),
    ],
)
def test_option_errors_name_the_flags(args, message):
    code, _, err = run("verify", "a.b.c", *args)
    assert code == 2
    assert err.startswith(f"jwtgate: error: {message}"), err
    assert err.count("\n") == 1


def test_a_secret_from_the_environment_is_named_as_the_setting(clean_environment):
    clean_environment.setenv("JWTGATE_SECRET", "short")
    code, _, err = run("verify", "a.b.c", "--algorithm", "HS256")
    assert code == 2
    assert err.startswith("jwtgate: error: JWTGATE_SECRET: HS256 needs a secret")
    assert "short" not in err


def test_an_empty_setting_in_the_environment_is_named(clean_environment):
    clean_environment.setenv("JWTGATE_NETLIFY_JWT_SECRET", "")
    code, _, err = run("verify", "a.b.c")
    assert code == 2
    assert err == (
        "jwtgate: error: JWTGATE_NETLIFY_JWT_SECRET: set but empty; give it a value, or remove it\n"
    )


@pytest.mark.parametrize(
    "option", [["--audience", "other"], ["--leeway", "0"], ["--roles-claim", "roles"]]
)
def test_any_issuer_option_means_the_environment_is_not_read(clean_environment, option):
    clean_environment.setenv("JWTGATE_ALGORITHMS", "HS256")
    clean_environment.setenv("JWTGATE_SECRET", GENERIC_SECRET)
    code, _, err = run("verify", "a.b.c", *option)
    assert code == 2
    # JWTGATE_ALGORITHMS was not read; JWTGATE_SECRET stands in for --secret, as documented.
    assert err == 'jwtgate: error: --algorithm: required with JWTGATE_SECRET, e.g. "RS256"\n'


def test_with_nothing_configured_verify_says_what_to_give():
    code, _, err = run("verify", "a.b.c")
    assert code == 2
    assert "give --algorithm" in err
    assert "JWTGATE_*" in err
