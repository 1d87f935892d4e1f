"""The pytest plugin: fixtures for suites that use it, nothing for those that don't."""

from __future__ import annotations

import subprocess
import sys

from jwtgate import Gate
from jwtgate.testing import TokenFactory

pytest_plugins = ["pytester"]


def test_token_factory_fixture_mints_accepted_tokens(token_factory):
    assert isinstance(token_factory, TokenFactory)
    assert token_factory.algorithm == "RS256"
    gate = Gate(issuers=[token_factory.issuer_config()])
    assert gate.authenticate(headers=token_factory.headers(sub="u")).subject == "u"


def test_make_token_factory_builds_other_shapes(make_token_factory):
    assert make_token_factory("ES256", issuer="https://x.test/").issuer == "https://x.test/"
    assert make_token_factory("netlify").kid == "nf-ident"
    assert make_token_factory("auth0", domain="t.eu.auth0.com").issuer == "https://t.eu.auth0.com/"
    clerk = make_token_factory("clerk", azp="https://app.test")
    assert clerk.claims()["azp"] == "https://app.test"


def test_fixtures_give_fresh_keys_per_test(make_token_factory):
    assert make_token_factory("HS256").secret != make_token_factory("HS256").secret


def test_the_entry_point_registers_the_plugin(pytester):
    pytester.makepyfile(
        """
        def test_uses_fixture(token_factory):
            assert token_factory.token().count(".") == 2
        """
    )
    result = pytester.runpytest_subprocess("-p", "jwtgate", "-q")
    result.assert_outcomes(passed=1)


def test_loading_the_plugin_imports_no_jwtgate_code():
    code = (
        "import sys, jwtgate.testing.pytest_plugin;"
        "print(sorted(m for m in sys.modules if m.startswith(('jwt', 'cryptography', 'werkzeug'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "['jwtgate', 'jwtgate._lazy', 'jwtgate.testing', 'jwtgate.testing.pytest_plugin']"
    )
