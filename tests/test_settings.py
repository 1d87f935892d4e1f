"""jwtgate.settings: one reader of JWTGATE_* settings, whatever holds them, errors in their names.

The Flask-specific reading (``app.config``, ``JWTGate``) is in test_flask.py,
Django's in test_django.py, the command line's in test_cli_settings.py.
"""

from __future__ import annotations

import types

import pytest

from jwtgate import ConfigurationError, Gate
from jwtgate.settings import (
    DJANGO_SETTINGS,
    FLASK_SETTINGS,
    GATE_SETTINGS,
    SETTINGS,
    Settings,
    gate_from_settings,
    settings_of,
)
from jwtgate.testing import TokenFactory

SECRET = "g" * 40


def hs256(**settings):
    return {"JWTGATE_ALGORITHMS": "HS256", "JWTGATE_SECRET": SECRET, **settings}


# --- where settings come from ---------------------------------------------------------------


def test_a_mapping_an_environment_and_a_settings_object_read_alike(monkeypatch, clock):
    tokens = TokenFactory("HS256", issuer="https://id.example/", audience="api", key=SECRET)
    tokens.clock = clock
    values = hs256(JWTGATE_ISSUER="https://id.example/", JWTGATE_AUDIENCE="api")
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    django_like = types.SimpleNamespace(DEBUG=False, **values)  # read by attribute
    import os

    for source in (values, os.environ, django_like):
        gate = gate_from_settings(source)
        assert gate is not None
        gate._clock = clock
        user = gate.authenticate(headers=tokens.headers(sub="same"))
        assert user is not None
        assert user.subject == "same"


def test_settings_of_keeps_only_jwtgate_names():
    assert settings_of({"JWTGATE_ISSUER": "x", "DEBUG": True, 3: "y"}) == {"JWTGATE_ISSUER": "x"}
    assert settings_of(types.SimpleNamespace(JWTGATE_LEEWAY=5, SECRET_KEY="k")) == {
        "JWTGATE_LEEWAY": 5
    }


def test_no_issuer_is_no_gate():
    assert gate_from_settings({}) is None
    assert gate_from_settings({"JWTGATE_SOURCES": "bearer", "JWTGATE_CACHE_TTL": "5"}) is None


def test_python_values_are_taken_as_they_are(rs256):
    gate = gate_from_settings(
        {
            "JWTGATE_ALGORITHMS": ("RS256",),
            "JWTGATE_PUBLIC_KEY": rs256.public_key,  # a key object, as Python settings may hold
            "JWTGATE_LEEWAY": 5,
            "JWTGATE_CACHE_SIZE": 10.0,
            "JWTGATE_CSRF": False,
        }
    )
    assert gate is not None
    assert gate.issuers[0].leeway == 5
    assert gate._cache.maxsize == 10
    assert gate.csrf is None


# --- the vocabulary -------------------------------------------------------------------------


def test_every_setting_is_described_and_belongs_somewhere():
    assert set(SETTINGS) == set(GATE_SETTINGS) | set(FLASK_SETTINGS) | set(DJANGO_SETTINGS)
    assert all(name.startswith("JWTGATE_") and text for name, text in SETTINGS.items())


def test_every_setting_is_in_the_settings_page():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text()
    missing = [name for name in SETTINGS if f"`{name}`" not in page]
    assert missing == []


def test_jwtgate_secret_is_never_the_netlify_secret():
    # One meaning per name: JWTGATE_SECRET is the generic issuer's secret, and needs
    # JWTGATE_ALGORITHMS; Netlify's secret has its own name.
    with pytest.raises(
        ConfigurationError, match="JWTGATE_ALGORITHMS: required with JWTGATE_SECRET"
    ):
        gate_from_settings({"JWTGATE_SECRET": SECRET})
    gate = gate_from_settings({"JWTGATE_NETLIFY_JWT_SECRET": SECRET})
    assert gate is not None
    assert gate.issuers[0].name == "netlify"


# --- errors in the settings' own words --------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_an_empty_netlify_secret_says_it_is_empty(value):
    with pytest.raises(ConfigurationError) as found:
        gate_from_settings({"JWTGATE_NETLIFY_JWT_SECRET": value})
    assert str(found.value) == (
        "JWTGATE_NETLIFY_JWT_SECRET: set but empty; give it a value, or remove it"
    )


@pytest.mark.parametrize(
    "name", ["JWTGATE_AUDIENCE", "JWTGATE_ISSUER", "JWTGATE_CSRF_HEADER", "JWTGATE_LOGIN_URL"]
)
def test_an_empty_setting_is_refused_even_where_nothing_reads_it(name):
    # An empty JWTGATE_AUDIENCE read as "unset" would turn the audience check off.
    with pytest.raises(ConfigurationError, match=f"{name}: set but empty"):
        Settings({**hs256(), name: ""})


def test_none_counts_as_unset():
    assert (
        gate_from_settings({"JWTGATE_NETLIFY_JWT_SECRET": None, "JWTGATE_AUDIENCE": None}) is None
    )


def test_a_netlify_secret_beside_a_public_key_needs_jwtgate_issuer(rs256):
    with pytest.raises(ConfigurationError) as found:
        gate_from_settings(
            {
                "JWTGATE_NETLIFY_JWT_SECRET": SECRET,
                "JWTGATE_ALGORITHMS": "RS256",
                "JWTGATE_PUBLIC_KEY": rs256.public_pem(),
            }
        )
    message = str(found.value)
    assert message.startswith("JWTGATE_ISSUER: required beside JWTGATE_NETLIFY_JWT_SECRET")
    assert "JWTGATE_PUBLIC_KEY" in message


def test_two_key_sources_are_named():
    with pytest.raises(ConfigurationError) as found:
        gate_from_settings(hs256(JWTGATE_JWKS_URL="https://id.example/jwks"))
    assert str(found.value) == "JWTGATE_SECRET, JWTGATE_JWKS_URL: give exactly one key source"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"JWTGATE_NETLIFY_JWT_SECRET": "short"}, "JWTGATE_NETLIFY_JWT_SECRET: HS256 needs"),
        (hs256(JWTGATE_SECRET="short"), "JWTGATE_SECRET: HS256 needs"),
        (hs256(JWTGATE_ALGORITHMS="HS256,RS256"), "JWTGATE_ALGORITHMS: HMAC"),
        (hs256(JWTGATE_ALGORITHMS="XS1"), "JWTGATE_ALGORITHMS: 'XS1' is not supported"),
        (hs256(JWTGATE_LEEWAY="1000"), "JWTGATE_LEEWAY: must be between 0 and"),
        (hs256(JWTGATE_TOKEN_TYPE=5), "JWTGATE_TOKEN_TYPE: must be a string"),
        (hs256(JWTGATE_SOURCES="bearer,smoke:signals"), "JWTGATE_SOURCES: unknown source"),
        (hs256(JWTGATE_SOURCES="bearer,bearer"), "JWTGATE_SOURCES: a source is listed twice"),
        (hs256(JWTGATE_CACHE_SIZE="-1"), "JWTGATE_CACHE_SIZE: must be a whole number"),
        (hs256(JWTGATE_CACHE_SIZE="1.5"), "JWTGATE_CACHE_SIZE: a whole number"),
        (hs256(JWTGATE_CACHE_SIZE="inf"), "JWTGATE_CACHE_SIZE: must be a finite number"),
        (hs256(JWTGATE_CACHE_SIZE="nan"), "JWTGATE_CACHE_SIZE: must be a finite number"),
        (hs256(JWTGATE_CACHE_TTL=float("inf")), "JWTGATE_CACHE_TTL: must be a finite number"),
        (hs256(JWTGATE_CACHE_TTL="-1"), "JWTGATE_CACHE_TTL: must be a number of seconds"),
        (
            hs256(JWTGATE_CSRF_TRUSTED_ORIGINS="app.example.com"),
            "JWTGATE_CSRF_TRUSTED_ORIGINS: 'app.example.com' is not an origin",
        ),
        (
            {"JWTGATE_ALGORITHMS": "RS256", "JWTGATE_PUBLIC_KEY": "-----BEGIN nonsense"},
            "JWTGATE_PUBLIC_KEY: not a PEM or DER public key",
        ),
        (
            {"JWTGATE_ALGORITHMS": "RS256", "JWTGATE_PUBLIC_KEY": {"kty": "oct", "k": "AA"}},
            "JWTGATE_PUBLIC_KEY: key is a symmetric key",
        ),
    ],
)
def test_the_core_s_errors_name_the_setting_not_the_parameter(settings, expected):
    with pytest.raises(ConfigurationError) as found:
        gate_from_settings(settings)
    assert str(found.value).startswith(expected), str(found.value)


def test_a_clash_between_issuers_names_their_settings():
    privy = TokenFactory.privy(app_id="app-1")
    with pytest.raises(ConfigurationError) as found:
        gate_from_settings(
            {
                "JWTGATE_PRIVY_APP_ID": "app-1",
                "JWTGATE_PRIVY_VERIFICATION_KEY": privy.public_pem(),
                "JWTGATE_ISSUER": "privy.io",
                "JWTGATE_ALGORITHMS": "ES256",
                "JWTGATE_PUBLIC_KEY": privy.public_pem(),
            }
        )
    message = str(found.value)
    assert message.startswith("JWTGATE_PRIVY_APP_ID, JWTGATE_PRIVY_VERIFICATION_KEY")
    assert "two issuers have the same iss" in message


def test_a_bad_privy_app_id_is_named():
    with pytest.raises(
        ConfigurationError, match=r"^JWTGATE_PRIVY_APP_ID: must be the Privy app id"
    ):
        gate_from_settings({"JWTGATE_PRIVY_APP_ID": "not an id!"})


def test_misspelt_names_are_refused_with_the_closest_one():
    with pytest.raises(ConfigurationError, match="did you mean JWTGATE_NETLIFY_JWT_SECRET"):
        gate_from_settings({"JWTGATE_NETLIFY_SECRET": SECRET})
    with pytest.raises(ConfigurationError, match=r"JWTGATE_QQQQQQQQQQQQ: not a jwtgate setting$"):
        gate_from_settings({"JWTGATE_QQQQQQQQQQQQ": "1"})


def test_a_setting_of_another_framework_is_named_as_such():
    with pytest.raises(ConfigurationError) as found:
        Settings({"JWTGATE_REQUEST_USER": True}, known=GATE_SETTINGS, reader="Flask's JWTGate")
    assert str(found.value) == "JWTGATE_REQUEST_USER: Flask's JWTGate does not read this setting"


def test_labels_name_the_flags_a_value_came_from():
    labels = {"JWTGATE_SECRET": "--secret", "JWTGATE_ALGORITHMS": "--algorithm"}
    with pytest.raises(ConfigurationError, match=r"^--algorithm: required with --secret"):
        gate_from_settings({"JWTGATE_SECRET": SECRET}, labels=labels)
    with pytest.raises(ConfigurationError, match=r"^--secret: HS256 needs a secret"):
        gate_from_settings(hs256(JWTGATE_SECRET="short"), labels=labels)


@pytest.mark.parametrize(
    ("method", "value", "expected"),
    [
        ("flag", "YES", True),
        ("flag", " off ", False),
        ("flag", True, True),
        ("number", "1e3", 1000.0),
        ("number", 7, 7),
        ("strings", "a, b  c", ["a", "b", "c"]),
        ("strings", ("a",), ["a"]),
        ("text", "x", "x"),
    ],
)
def test_typed_readers(method, value, expected):
    assert getattr(Settings({"JWTGATE_LEEWAY": value}), method)("JWTGATE_LEEWAY") == expected


@pytest.mark.parametrize(
    ("method", "value", "message"),
    [
        ("flag", "perhaps", "must be true or false"),
        ("number", "soon", "must be a number"),
        ("number", True, "must be a number"),
        ("number", "-inf", "must be a finite number"),
        ("number", float("nan"), "must be a finite number"),
        ("strings", 5, "a list of strings"),
        ("strings", ",", "give at least one value"),
        ("text", 5, "must be a string"),
    ],
)
def test_typed_readers_refuse_in_the_setting_s_name(method, value, message):
    with pytest.raises(ConfigurationError, match=f"^JWTGATE_LEEWAY: {message}"):
        getattr(Settings({"JWTGATE_LEEWAY": value}), method)("JWTGATE_LEEWAY")


def test_a_gate_built_from_settings_is_an_ordinary_gate():
    gate = Settings(hs256()).gate(cache_size=0, sources=["bearer"])
    assert isinstance(gate, Gate)
    assert gate._cache.maxsize == 0
    assert [s.spec for s in gate.sources] == ["bearer"]
