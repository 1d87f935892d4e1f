"""The JWS algorithms jwtgate verifies, and which key fits which.

The cryptography is PyJWT's (its ``Algorithm`` objects); this module only
pins the allow-list and ties every algorithm to one key type, so that a key
can never be used with an algorithm of another family (RFC 8725 §3.1).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import Algorithm, get_default_algorithms

__all__ = [
    "HMAC_MIN_BYTES",
    "SUPPORTED",
    "family_of",
    "key_fits",
    "verifier",
]

_PYJWT = get_default_algorithms()

HMAC_MIN_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
_FAMILIES = {
    **dict.fromkeys(HMAC_MIN_BYTES, "HMAC"),
    **dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "RSA"),
    **dict.fromkeys(_EC_CURVES, "EC"),
    "EdDSA": "OKP",
}
#: Every algorithm an issuer may allow. ``none`` is not, and never will be.
SUPPORTED = frozenset(_FAMILIES)
RSA_MIN_BITS = 2048


def family_of(algorithm: str) -> str:
    """``"HMAC"``, ``"RSA"``, ``"EC"`` or ``"OKP"``: the key type ``algorithm`` needs."""
    return _FAMILIES[algorithm]


def verifier(algorithm: str) -> Algorithm:
    """PyJWT's implementation of ``algorithm`` (which must be in ``SUPPORTED``)."""
    return _PYJWT[algorithm]


def key_fits(key: Any, algorithm: str) -> bool:
    """True when ``key`` is of the type and size ``algorithm`` requires."""
    family = _FAMILIES.get(algorithm)
    if family == "HMAC":
        return isinstance(key, bytes) and len(key) >= HMAC_MIN_BYTES[algorithm]
    if family == "RSA":
        return isinstance(key, rsa.RSAPublicKey) and key.key_size >= RSA_MIN_BITS
    if family == "EC":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
            key.curve, _EC_CURVES[algorithm]
        )
    if family == "OKP":
        return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    return False
