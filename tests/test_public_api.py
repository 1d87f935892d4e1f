"""The public names are a contract, and importing jwtgate pulls in no web framework."""

from __future__ import annotations

import subprocess
import sys

import jwtgate

EXPECTED = {
    "AnonymousUser",
    "AuthError",
    "BearerSource",
    "CSRFPolicy",
    "ConfigurationError",
    "CookieSource",
    "CrossSiteRequest",
    "ExpiredToken",
    "Forbidden",
    "Gate",
    "HeaderSource",
    "ImmatureToken",
    "InvalidClaims",
    "InvalidRequest",
    "InvalidSignature",
    "InvalidToken",
    "Issuer",
    "KeysUnavailable",
    "MissingToken",
    "QuerySource",
    "RevocationUnavailable",
    "RevokedToken",
    "Source",
    "UntrustedIssuer",
    "User",
    "__version__",
    "require_auth",
    "require_roles",
}


def test_all_lists_exactly_the_public_names():
    assert set(jwtgate.__all__) == EXPECTED
    assert len(jwtgate.__all__) == len(set(jwtgate.__all__))


def test_every_public_name_is_importable():
    for name in jwtgate.__all__:
        assert getattr(jwtgate, name) is not None


def test_configuration_error_is_a_value_error():
    assert issubclass(jwtgate.ConfigurationError, ValueError)


def test_import_jwtgate_imports_no_web_framework():
    code = (
        "import sys, jwtgate, jwtgate.testing, jwtgate.settings;"
        "jwtgate.Gate, jwtgate.settings.gate_from_settings({});"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'starlette', 'fastapi', 'uvicorn', 'gunicorn', 'httpx', 'django')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_package_ships_py_typed():
    from importlib.resources import files

    assert files("jwtgate").joinpath("py.typed").is_file()
