"""Attacks that are sequences or configuration, not one request: kid storms, ECDSA twins,
invalid-curve keys; and proof that the suite's own watchers see what they guard against."""

from __future__ import annotations

import base64
import logging
import secrets
import socket
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from jwt.algorithms import ECAlgorithm

from jwtgate import ConfigurationError, Gate, InvalidToken, Issuer
from jwtgate.remote import RemoteOptions
from jwtgate.testing import TokenFactory

from .attack_kit import NOW, Clock, b64, sign_raw, watch

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def test_unknown_kid_storm_costs_at_most_one_refetch() -> None:
    factory = TokenFactory("RS256", clock=lambda: float(NOW), kid="real")
    attacker = TokenFactory("RS256", clock=lambda: float(NOW))
    with factory.serve_jwks() as server:
        issuer = factory.issuer_config(jwks_url=server.url, remote=RemoteOptions(timeout=1))
        gate = Gate(issuers=[issuer], clock=Clock())
        with watch(lambda a: a[1] == int(server.url.split(":")[2].split("/")[0])) as seen:
            for _ in range(60):
                attacker.kid = secrets.token_hex(8)
                with pytest.raises(InvalidToken) as refused:
                    gate.authenticate(headers=attacker.headers())
                assert refused.value.status == 401
                assert refused.value.error == "invalid_token"
        # The first request fetches the set; every later unknown kid waits out the cooldown.
        assert server.requests <= 2
        assert len(seen.connections) <= 2


def _high_s_twin(token: str) -> str:
    head, sig = token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(sig + "==")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    return f"{head}.{b64(r.to_bytes(32, 'big') + (P256_ORDER - s).to_bytes(32, 'big'))}"


def test_high_s_twin_is_accepted_and_cached_apart() -> None:
    """RFC 7518 ECDSA has no low-S rule, so (r, n - s) verifies too (a documented deviation).

    What matters is that jwtgate never treats a token's text as its identity
    for revocation: the twin is a distinct cache entry, and ``is_revoked``
    (keyed on claims) refuses both.
    """
    factory = TokenFactory("ES256", clock=lambda: float(NOW))
    revoked: set[str] = set()
    gate = Gate(
        issuers=[factory.issuer_config()],
        clock=Clock(),
        is_revoked=lambda user: user.subject in revoked,
    )
    token = factory.token(sub="u1")
    twin = _high_s_twin(token)
    assert twin != token
    first = gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    second = gate.authenticate(headers={"Authorization": f"Bearer {twin}"})
    assert first is not None
    assert second is not None
    assert first.subject == second.subject == "u1"
    assert gate.cache_size == 2
    revoked.add("u1")
    for presented in (token, twin):
        with pytest.raises(InvalidToken) as refused:
            gate.authenticate(headers={"Authorization": f"Bearer {presented}"})
        assert refused.value.error == "invalid_token"


def test_high_s_twin_helper_makes_a_valid_signature() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives import hashes

    der = key.sign(b"m", ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    key.public_key().verify(
        encode_dss_signature(r, P256_ORDER - s), b"m", ec.ECDSA(hashes.SHA256())
    )


def test_invalid_curve_point_key_is_refused_at_configuration() -> None:
    jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
    jwk["y"] = b64(
        (int.from_bytes(base64.urlsafe_b64decode(jwk["y"] + "=="), "big") ^ 1).to_bytes(32, "big")
    )
    with pytest.raises(ConfigurationError):
        Issuer("https://issuer.test/", algorithms=["ES256"], key=jwk)


def test_small_order_ed25519_key_is_refused_at_configuration() -> None:
    """Under the identity point, R = identity and S = 0 verify anything (test_small_order.py)."""
    identity = {"kty": "OKP", "crv": "Ed25519", "x": b64(bytes([1]) + bytes(31))}
    with pytest.raises(ConfigurationError, match="small order"):
        Issuer("https://issuer.test/", algorithms=["EdDSA"], key=identity)


def test_curve_of_the_key_must_match_the_algorithm() -> None:
    jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True)
    with pytest.raises(ConfigurationError):
        Issuer("https://issuer.test/", algorithms=["ES256"], key=jwk)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda pem: pem,
        lambda pem: "\ufeff" + pem,
        lambda pem: f'"{pem}"',
        lambda pem: '"' + pem.replace("\n", "\\n") + '"',
        lambda pem: "".join(line for line in pem.splitlines() if not line.startswith("-----")),
    ],
    ids=["pem", "pem-with-bom", "pem-in-quotes", "quoted-pem-escaped-newlines", "base64-der-body"],
)
def test_public_key_as_hmac_secret_is_refused_at_configuration(wrap: Any) -> None:
    """(A JSON array of JWKs and many more forms: tests/test_key_material.py.)"""
    pem = TokenFactory("RS256").public_pem()
    with pytest.raises(ConfigurationError, match="not an HMAC secret"):
        Issuer("https://issuer.test/", algorithms=["HS256"], secret=wrap(pem))


def test_watch_records_and_blocks_outbound_connections() -> None:
    with watch() as seen:
        sock = socket.socket()
        try:
            with pytest.raises(OSError, match="blocked"):
                sock.connect(("203.0.113.1", 443))
        finally:
            sock.close()
    assert seen.connections == [("203.0.113.1", 443)]


def test_watch_captures_debug_logs_of_any_logger() -> None:
    token = sign_raw("HS256", b"k" * 32, {"alg": "HS256"}, {"sub": "canary"})
    with watch() as seen:
        logging.getLogger("some.app").debug("leaked %s", token)
    assert token in seen.log_text()
