"""EdDSA keys of small order are refused wherever keys are loaded.

The small-order points are recomputed here from the curves' equations (not
copied from jwtgate's list): a point of order 8 is found as ``L·Q`` for a
point ``Q`` of the curve (``L`` the prime subgroup's order), its multiples
are the eight points of order dividing 8, and each is encoded canonically
and, where it exists, non-canonically. Then every encoding is offered as a
key in each form jwtgate reads: a key object, a JWK, a PEM, a JWKS member
fetched from a real server on 127.0.0.1. That such keys are dangerous is
shown against cryptography itself: it verifies a forged signature under the
identity point.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jwtgate import ConfigurationError, Gate, InvalidSignature, Issuer
from jwtgate.remote import RemoteOptions
from jwtgate.small_order import ED448_SMALL_ORDER_Y, ED25519_SMALL_ORDER_Y
from jwtgate.testing import TokenFactory

from .conftest import FrozenClock

# --- edwards25519: -x² + y² = 1 + d·x²·y² over p = 2^255 - 19 ----------------------------------
P25519 = 2**255 - 19
D25519 = -121665 * pow(121666, -1, P25519) % P25519
L25519 = 2**252 + 27742317777372353535851937790883648493


def _add25519(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = D25519 * x1 * x2 * y1 * y2 % P25519
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, -1, P25519) % P25519
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, P25519) % P25519
    return x3, y3


def _times(k: int, point: tuple[int, int], add: Any) -> tuple[int, int]:
    result = (0, 1)
    while k:
        if k & 1:
            result = add(result, point)
        point = add(point, point)
        k >>= 1
    return result


def _x25519_for(y: int) -> int | None:
    u, v = (y * y - 1) % P25519, (D25519 * y * y + 1) % P25519
    x2 = u * pow(v, -1, P25519) % P25519
    x = pow(x2, (P25519 + 3) // 8, P25519)
    if (x * x - x2) % P25519:
        x = x * pow(2, (P25519 - 1) // 4, P25519) % P25519
    return x if (x * x - x2) % P25519 == 0 else None


def _order(point: tuple[int, int], add: Any) -> int:
    n, q = 1, point
    while q != (0, 1):
        q, n = add(q, point), n + 1
    return n


def ed25519_torsion() -> list[tuple[int, int]]:
    """The eight points of order dividing 8."""
    for y in range(2, 100):
        x = _x25519_for(y)
        if x is None:
            continue
        torsion = _times(L25519, (x, y), _add25519)
        if _order(torsion, _add25519) == 8:
            return [_times(k, torsion, _add25519) for k in range(8)]
    raise AssertionError("no point of order 8 found")


def _encodings(points: list[tuple[int, int]], p: int, size: int, sign_bit: int) -> set[bytes]:
    """Each point's canonical encoding, y + p where it fits, and a set sign bit for x = 0."""
    found = set()
    for x, y in points:
        for value in (y, y + p):
            if value >= 1 << (8 * size - (1 if size == 32 else 8)):
                continue
            for sign in {x & 1, 1} if x == 0 else {x & 1}:
                found.add((value | (sign << sign_bit)).to_bytes(size, "little"))
    return found


ED25519_ENCODINGS = sorted(_encodings(ed25519_torsion(), P25519, 32, 255))

# --- edwards448: x² + y² = 1 + d·x²·y² over p = 2^448 - 2^224 - 1, d = -39081 --------------------
P448 = 2**448 - 2**224 - 1
D448 = -39081 % P448


def _add448(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = D448 * x1 * x2 * y1 * y2 % P448
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, -1, P448) % P448
    y3 = (y1 * y2 - x1 * x2) * pow(1 - t, -1, P448) % P448
    return x3, y3


def ed448_torsion() -> list[tuple[int, int]]:
    """The four points of order dividing 4: on an untwisted curve, (0, ±1) and (±1, 0)."""
    candidates = [(0, 1), (0, P448 - 1), (1, 0), (P448 - 1, 0)]
    for x, y in candidates:  # on the curve, of order dividing 4
        assert (x * x + y * y - 1 - D448 * x * x * y * y) % P448 == 0
        assert _times(4, (x, y), _add448) == (0, 1)
    return candidates


ED448_ENCODINGS = sorted(_encodings(ed448_torsion(), P448, 57, 455))


def test_the_recomputed_sets_are_jwtgates_lists() -> None:
    torsion = ed25519_torsion()
    assert len(set(torsion)) == 8
    assert sorted(_order(point, _add25519) for point in torsion) == [1, 2, 4, 4, 8, 8, 8, 8]
    cleared = {e[:31] + bytes([e[31] & 0x7F]) for e in ED25519_ENCODINGS}
    assert cleared == ED25519_SMALL_ORDER_Y
    assert {e[:56] for e in ED448_ENCODINGS} == ED448_SMALL_ORDER_Y
    assert len(ED25519_ENCODINGS) == 14
    assert len(ED448_ENCODINGS) == 10


def _loadable(encoding: bytes) -> Any | None:
    loader = ed25519.Ed25519PublicKey if len(encoding) == 32 else ed448.Ed448PublicKey
    try:
        return loader.from_public_bytes(encoding)
    except ValueError:
        return None  # cryptography refuses it already: nobody can configure it


ALL = [pytest.param(e, id=e.hex()[:8] + "…" + e.hex()[-4:]) for e in ED25519_ENCODINGS]
ALL += [pytest.param(e, id="ed448-" + e.hex()[:8] + "…" + e.hex()[-4:]) for e in ED448_ENCODINGS]


def _jwk(encoding: bytes, kid: str = "weak") -> dict[str, Any]:
    crv = "Ed25519" if len(encoding) == 32 else "Ed448"
    x = base64.urlsafe_b64encode(encoding).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": crv, "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


@pytest.mark.parametrize("encoding", ALL)
def test_a_small_order_key_is_refused_in_every_form(encoding: bytes) -> None:
    key = _loadable(encoding)
    forms: list[Any] = [_jwk(encoding), {"keys": [_jwk(encoding)]}]
    if key is not None:
        forms += [key, key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)]
    for form in forms:
        with pytest.raises(ConfigurationError, match=r"small order|no key of the JWKS"):
            Issuer("https://issuer.test/", algorithms=["EdDSA"], key=form)


def test_cryptography_verifies_a_forged_signature_under_the_identity_point() -> None:
    """Why the keys are refused: R = identity, S = 0 verifies any message under them."""
    identity = bytes([1]) + bytes(31)
    forged = identity + bytes(32)
    key = ed25519.Ed25519PublicKey.from_public_bytes(identity)
    key.verify(forged, b"any message at all")  # no exception: it verifies
    honest = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(CryptoInvalidSignature):
        honest.verify(forged, b"any message at all")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged_for_identity(kid: str) -> str:
    header = _b64(json.dumps({"alg": "EdDSA", "kid": kid}).encode())
    claims = {"sub": "admin", "exp": 4_000_000_000, "iss": "https://issuer.test/", "aud": "api"}
    payload = _b64(json.dumps({**claims, "roles": ["admin"]}).encode())
    return f"{header}.{payload}.{_b64(bytes([1]) + bytes(63))}"


def test_a_small_order_key_in_a_fetched_jwks_is_skipped_and_forgeries_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = TokenFactory("EdDSA")
    with tokens.serve_jwks() as server:
        server.extra_keys = [_jwk(bytes([1]) + bytes(31), kid="weak")]
        issuer = tokens.issuer_config(
            jwks_url=server.url, remote=RemoteOptions(clock=FrozenClock(1_000.0))
        )
        gate = Gate(issuers=[issuer])
        assert gate.authenticate(headers=tokens.headers(sub="honest")) is not None
        forged = _forged_for_identity("weak")
        with pytest.raises(InvalidSignature):
            gate.authenticate(headers={"Authorization": f"Bearer {forged}"})
    assert "ignoring key 'weak'" in caplog.text
    assert "small order" in caplog.text
