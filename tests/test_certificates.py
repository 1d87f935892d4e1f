"""Google's ``{kid: X.509 certificate}`` key maps, read like a JWK Set (Firebase's keys)."""

from __future__ import annotations

import json
import logging

import pytest

from jwtgate import Gate, Issuer
from jwtgate.certificates import certificate_map
from jwtgate.jwks import read_key_set
from jwtgate.remote import RemoteKeys
from jwtgate.testing import TokenFactory


def spki(key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


BROKEN = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "ES384", "EdDSA"])
def test_a_certificate_map_gives_the_certificates_keys(algorithm) -> None:
    tokens = TokenFactory(algorithm)
    keys = read_key_set(json.dumps(tokens.certificate_map()).encode(), frozenset({algorithm}))
    assert keys.kids == (tokens.kid,)
    assert keys.keys[0].algorithms == {algorithm}
    assert spki(keys.keys[0].key) == spki(tokens.public_key)


def test_an_unreadable_certificate_is_skipped_with_its_reason() -> None:
    tokens = TokenFactory("RS256")
    document = {"broken": BROKEN, **tokens.certificate_map()}
    keys = read_key_set(json.dumps(document).encode(), frozenset({"RS256"}))
    assert keys.kids == (tokens.kid,)
    assert [(s.kid, s.reason) for s in keys.skipped] == [
        ("broken", "the certificate or its key could not be read")
    ]


def test_a_certificate_for_another_algorithm_is_skipped() -> None:
    ec = TokenFactory("ES256")
    keys = read_key_set(json.dumps(ec.certificate_map()).encode(), frozenset({"RS256"}))
    assert keys.keys == ()
    assert "cannot verify" in keys.skipped[0].reason


@pytest.mark.parametrize(
    "document",
    [{}, {"kid": "not a certificate"}, {"kid": 5}, {"kid": ["-----BEGIN CERTIFICATE-----"]}],
)
def test_other_objects_are_not_certificate_maps(document) -> None:
    assert certificate_map(document) is None
    with pytest.raises(ValueError, match="nor a certificate map"):
        read_key_set(json.dumps(document).encode(), frozenset({"RS256"}))


def test_a_remote_certificate_map_verifies_tokens(clock, caplog) -> None:
    tokens = TokenFactory("RS256", clock=clock)
    with tokens.serve_jwks() as server:
        server.respond({"broken": BROKEN, **tokens.certificate_map()})
        issuer = Issuer(tokens.issuer, algorithms=["RS256"], audience="api", jwks_url=server.url)
        gate = Gate(issuers=[issuer], clock=clock)
        with caplog.at_level(logging.WARNING, logger="jwtgate"):
            user = gate.authenticate(headers=tokens.headers(sub="from-a-certificate"))
        assert user is not None
        assert user.subject == "from-a-certificate"
        assert isinstance(issuer.keys, RemoteKeys)
        assert issuer.keys.kids == (tokens.kid,)
    assert "ignoring key 'broken'" in caplog.text
    assert "BEGIN CERTIFICATE" not in caplog.text


def test_a_key_type_no_jws_algorithm_uses_is_not_converted() -> None:
    from cryptography.hazmat.primitives.asymmetric import x25519

    from jwtgate.certificates import _to_jwk

    assert _to_jwk(x25519.X25519PrivateKey.generate().public_key()) is None


def test_an_hmac_factory_has_no_certificate() -> None:
    from jwtgate import ConfigurationError

    with pytest.raises(ConfigurationError, match="certificate_map"):
        TokenFactory("HS256").certificate_map()
