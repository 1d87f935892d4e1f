"""What the presets share: UNCHECKED, None never opting out, JSON claims."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from jwtgate import ConfigurationError, Gate, InvalidClaims
from jwtgate.presets import UNCHECKED, decode_json_claims
from jwtgate.testing import TokenFactory
from jwtgate.user import FrozenDict


def test_unchecked_is_one_named_value() -> None:
    from jwtgate.presets import Unchecked

    assert repr(UNCHECKED) == "UNCHECKED"
    assert UNCHECKED is Unchecked.UNCHECKED
    assert UNCHECKED is not None


# --- claims hooks ----------------------------------------------------------------------


def test_decode_json_claims_decodes_text_and_freezes_it() -> None:
    hook = decode_json_claims("meta", "list")
    claims = hook(FrozenDict({"sub": "u", "meta": '{"a": [1, {"b": 2}]}', "list": "[1]"}))
    assert claims == {"sub": "u", "meta": {"a": (1, {"b": 2})}, "list": (1,)}
    assert isinstance(claims["meta"], FrozenDict)


def test_decode_json_claims_leaves_claims_without_text_alone() -> None:
    hook = decode_json_claims("meta")
    claims = FrozenDict({"sub": "u", "meta": {"already": "object"}})
    assert hook(claims) is claims


@pytest.mark.parametrize("raw", ["{not json", "[" * 5000 + "]" * 5000])
def test_decode_json_claims_keeps_text_that_is_not_json(raw: str, caplog) -> None:
    # The generic hook is lenient (the Privy preset refuses such tokens outright).
    tokens = TokenFactory("ES256")
    gate = Gate(
        issuers=[tokens.issuer_config(claims_hook=decode_json_claims("meta"))],
        max_token_bytes=32_768,
    )
    with caplog.at_level(logging.DEBUG, logger="jwtgate"):
        user = gate.authenticate(headers=tokens.headers(meta=raw))
    assert user is not None
    assert user.claims["meta"] == raw
    assert "meta claim is not valid JSON" in caplog.text


def test_a_claims_hook_that_fails_is_a_401_not_a_500(caplog) -> None:
    tokens = TokenFactory("ES256")

    def broken(claims: Any) -> Any:
        raise KeyError("surprise")

    gate = Gate(issuers=[tokens.issuer_config(claims_hook=broken)])
    with caplog.at_level(logging.ERROR, logger="jwtgate"), pytest.raises(InvalidClaims) as info:
        gate.authenticate(headers=tokens.headers())
    assert info.value.status == 401
    assert info.value.description == "The token's claims could not be read"
    assert "claims_hook" in caplog.text


def test_a_failing_claims_hook_logs_the_issuer_and_exception_type_but_no_claim(caplog) -> None:
    tokens = TokenFactory("ES256")
    canary = "claim-value-4f1c9d"

    def strict(claims: Any) -> Any:
        return {**claims, "age": int(claims["age"])}  # ValueError quoting the claim

    gate = Gate(issuers=[tokens.issuer_config(claims_hook=strict, name="people")])
    with caplog.at_level(logging.DEBUG, logger="jwtgate"), pytest.raises(InvalidClaims) as info:
        gate.authenticate(headers=tokens.headers(age=canary))
    assert canary not in info.value.description
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "jwtgate: the claims_hook of issuer 'people' failed with ValueError"
    ]
    for record in caplog.records:
        assert canary not in record.getMessage()
        assert record.exc_info is None  # no traceback: its last line quotes the claim
        assert canary not in (record.exc_text or "")
    assert canary not in caplog.text


def test_a_claims_hook_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="claims_hook"):
        TokenFactory("ES256").issuer_config(claims_hook="decode")


def test_urls_and_key_locations_are_checked() -> None:
    from jwtgate.presets import keycloak, supabase

    with pytest.raises(ConfigurationError, match="realm_url: must be a plain URL"):
        keycloak("https://sso.example.com/realms/main?x=1", client_id="api")
    with pytest.raises(ConfigurationError, match="jwks_url: must be a URL"):
        supabase("https://abcdefghij.supabase.co", jwks_url="")


def test_privy_roles_need_a_metadata_object() -> None:
    with pytest.raises(ValueError, match="custom_metadata"):
        TokenFactory.privy().claims(roles=["admin"], custom_metadata="{}")
