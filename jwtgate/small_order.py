"""EdDSA public keys of small order: keys under which forged signatures verify.

An Ed25519 public key is a point of the curve. The eight points whose order
divides the cofactor 8 (the identity, the point of order 2, two of order 4,
four of order 8) make verification meaningless: under the identity point,
the signature ``R`` = identity, ``S`` = 0 verifies for every message, and
OpenSSL (through cryptography) accepts it. Such a key can only come from a
mistake or an attacker (a JWKS someone could write to, a configuration
copied from a test), so it is refused when keys are loaded, like libsodium's
``crypto_sign_verify`` refuses it when verifying.

The list holds each point's ``y`` coordinate as it is encoded (32 bytes,
little-endian, the sign bit of ``x`` cleared), canonical and, for ``y`` < 19,
the non-canonical ``y + p`` too: libsodium's list. Ed448 (cofactor 4) has
four such points: ``y`` = 0, 1, ``p - 1`` and the non-canonical ``p``,
``p + 1``. Written out rather than computed at import (the curve arithmetic
costs milliseconds); ``tests/test_small_order.py`` recomputes both sets from
the curve equations and checks every point.
"""

from __future__ import annotations

from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["ED448_SMALL_ORDER_Y", "ED25519_SMALL_ORDER_Y", "has_small_order"]

ED25519_SMALL_ORDER_Y: Final = frozenset(
    bytes.fromhex(point)
    for point in (
        # the identity (order 1), and its non-canonical encoding y = p + 1
        "0100000000000000000000000000000000000000000000000000000000000000",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        # order 2: y = p - 1
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        # order 4: y = 0, and its non-canonical encoding y = p
        "0000000000000000000000000000000000000000000000000000000000000000",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        # order 8: the two y coordinates of the four points
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    )
)

_ED448_P = 2**448 - 2**224 - 1
ED448_SMALL_ORDER_Y: Final = frozenset(
    y.to_bytes(56, "little") for y in (0, 1, _ED448_P - 1, _ED448_P, _ED448_P + 1)
)


def has_small_order(key: Any) -> bool:
    """True for an Ed25519 or Ed448 public key whose point has small order."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return raw[:31] + bytes([raw[31] & 0x7F]) in ED25519_SMALL_ORDER_Y
    if isinstance(key, ed448.Ed448PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return raw[:56] in ED448_SMALL_ORDER_Y
    return False
