"""The JWS algorithms jwtgate verifies, and which key fits which.

This module pins the allow-list and ties every algorithm to one key type, so
that a key can never be used with an algorithm of another family (RFC 8725
§3.1). The cryptography is ``cryptography``'s (and ``hmac``'s), called here
with what PyJWT's ``Algorithm.verify`` would pass it: ``verify_function``
calls it directly, with its padding and hash objects made once, because PyJWT
builds them again on every call, about a microsecond of a cache miss.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = [
    "HMAC_MIN_BYTES",
    "SUPPORTED",
    "Verifier",
    "Verify",
    "family_of",
    "key_fits",
    "verifier",
]

#: ``verify(signing_input, key, signature) -> bool``: one algorithm's signature check.
Verify = Callable[[bytes, Any, bytes], bool]

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


class Verifier:
    """One algorithm's signature check, shaped as PyJWT's ``Algorithm.verify``."""

    __slots__ = ("verify",)

    def __init__(self, verify: Verify) -> None:
        #: ``verify(signing_input, key, signature) -> bool``
        self.verify = verify


def verifier(algorithm: str) -> Verifier:
    """The signature check of ``algorithm`` (which must be in ``SUPPORTED``)."""
    return _VERIFIERS[algorithm]


def _hmac(name: str) -> Verify:
    digest, equal = hmac.digest, hmac.compare_digest

    def verify(message: bytes, key: Any, signature: bytes) -> bool:
        return equal(digest(key, message, name), signature)

    return verify


def _rsa(pad: padding.AsymmetricPadding, hash_: hashes.HashAlgorithm) -> Verify:
    def verify(message: bytes, key: Any, signature: bytes) -> bool:
        try:
            key.verify(signature, message, pad, hash_)
        except InvalidSignature:
            return False
        return True

    return verify


def _pss(hash_: hashes.HashAlgorithm) -> Verify:
    # The salt as long as the hash, as RFC 7518 §3.5 (and PyJWT) require.
    return _rsa(padding.PSS(mgf=padding.MGF1(hash_), salt_length=hash_.digest_size), hash_)


def _ecdsa(size: int, hash_: hashes.HashAlgorithm) -> Verify:
    """ECDSA over a curve of ``size``-byte scalars: the JWS signature is r ‖ s (RFC 7518 §3.4)."""
    scheme = ec.ECDSA(hash_)
    number = int.from_bytes

    def verify(message: bytes, key: Any, signature: bytes) -> bool:
        if len(signature) != 2 * size:
            return False
        der = encode_dss_signature(number(signature[:size], "big"), number(signature[size:], "big"))
        try:
            key.verify(der, message, scheme)
        except InvalidSignature:
            return False
        return True

    return verify


def _eddsa(message: bytes, key: Any, signature: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


_VERIFIERS: dict[str, Verifier] = {
    "HS256": Verifier(_hmac("sha256")),
    "HS384": Verifier(_hmac("sha384")),
    "HS512": Verifier(_hmac("sha512")),
    "RS256": Verifier(_rsa(padding.PKCS1v15(), hashes.SHA256())),
    "RS384": Verifier(_rsa(padding.PKCS1v15(), hashes.SHA384())),
    "RS512": Verifier(_rsa(padding.PKCS1v15(), hashes.SHA512())),
    "PS256": Verifier(_pss(hashes.SHA256())),
    "PS384": Verifier(_pss(hashes.SHA384())),
    "PS512": Verifier(_pss(hashes.SHA512())),
    # The curves' scalar sizes: P-256, P-384, P-521 (521 bits, 66 bytes).
    "ES256": Verifier(_ecdsa(32, hashes.SHA256())),
    "ES384": Verifier(_ecdsa(48, hashes.SHA384())),
    "ES512": Verifier(_ecdsa(66, hashes.SHA512())),
    "EdDSA": Verifier(_eddsa),
}


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
