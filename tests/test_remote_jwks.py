"""Reading a fetched JWK Set: every member that can't be trusted is skipped, with its reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from jwtgate.jwks import MAX_MEMBERS, read_key_set
from jwtgate.keys import MAX_CANDIDATES
from jwtgate.testing import TokenFactory

ES = frozenset({"ES256"})
RS_ES = frozenset({"RS256", "ES256"})


def _jwk(algorithm: str = "ES256", **members: Any) -> dict[str, Any]:
    jwk = TokenFactory(algorithm).public_jwk()
    jwk.update(members)
    return {k: v for k, v in jwk.items() if v is not None}


def _body(*members: Any) -> bytes:
    return json.dumps({"keys": list(members)}).encode()


def _reasons(body: bytes, algorithms: frozenset[str] = ES) -> dict[str | None, str]:
    return {s.kid: s.reason for s in read_key_set(body, algorithms).skipped}


def test_usable_keys_are_indexed_by_kid() -> None:
    a, b = _jwk(kid="a"), _jwk("RS256", kid="b")
    keys = read_key_set(_body(a, b), RS_ES)
    assert keys.kids == ("a", "b")
    assert [k.kid for k in keys.select("a", "ES256")] == ["a"]
    assert keys.select("a", "RS256") == []  # a kid names a key, and its algorithm must fit
    assert keys.select("c", "ES256") == []  # an unknown kid finds nothing (and may refetch)
    assert len(keys.identities) == 2
    assert keys.skipped == ()


def test_a_token_without_kid_is_tried_against_compatible_keys_only() -> None:
    members = [_jwk(kid=f"k{i}") for i in range(3)] + [_jwk("RS256", kid="r")]
    keys = read_key_set(_body(*members), RS_ES)
    assert [k.kid for k in keys.select(None, "ES256")] == ["k0", "k1", "k2"]


def test_a_token_without_kid_is_tried_against_a_bounded_number_of_keys() -> None:
    members = [_jwk(kid=f"k{i}") for i in range(MAX_CANDIDATES + 4)]
    keys = read_key_set(_body(*members), ES)
    assert len(keys.select(None, "ES256")) == MAX_CANDIDATES


def test_a_set_without_kids_serves_tokens_with_one() -> None:
    keys = read_key_set(_body(_jwk(kid=None)), ES)
    assert len(keys.select("whatever", "ES256")) == 1


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (
            {"kty": "oct", "kid": "x", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"},
            "symmetric (oct) keys are never taken from a JWKS",
        ),
        (_jwk(kid="x", use="enc"), "is not for signatures"),
        (_jwk(kid="x", key_ops=["encrypt"]), "does not allow verify"),
        (_jwk(kid="x", key_ops="verify"), "does not allow verify"),
        (_jwk(kid="x", alg="ES384"), "is for ES384, which is not one of the algorithms"),
        (_jwk(kid="x", alg="none"), "unsupported alg"),
        (_jwk("RS256", kid="x", alg=None), "cannot verify any of the algorithms"),
        (_jwk("ES384", kid="x", alg=None), "cannot verify any of the algorithms"),  # wrong curve
        (_jwk(kid="x", kty="XYZ"), "unsupported kty"),
        (_jwk(kid="x", x="AAAA"), "could not be loaded"),
    ],
)
def test_unusable_members_are_skipped_with_the_reason(member: dict[str, Any], reason: str) -> None:
    good = _jwk(kid="good")
    keys = read_key_set(_body(member, good), ES)
    assert keys.kids == ("good",)
    assert [s.kid for s in keys.skipped] == ["x"]
    assert reason in keys.skipped[0].reason


def test_private_members_are_skipped() -> None:
    private = TokenFactory("ES256").signing_key
    from jwt.algorithms import ECAlgorithm

    jwk = ECAlgorithm.to_jwk(private, as_dict=True)
    jwk["kid"] = "secret"
    reasons = _reasons(_body(jwk))
    assert "private key material" in reasons["secret"]


def test_rsa_keys_under_2048_bits_are_skipped() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505
    jwk = RSAAlgorithm.to_jwk(weak, as_dict=True)
    jwk["kid"] = "weak"
    reasons = _reasons(_body(jwk, _jwk("RS256", kid="ok")), frozenset({"RS256"}))
    assert reasons == {"weak": "key 'weak' is RSA with fewer than 2048 bits"}


def test_every_key_sharing_a_kid_is_skipped() -> None:
    one, two, other = _jwk(kid="dup"), _jwk(kid="dup"), _jwk(kid="other")
    keys = read_key_set(_body(one, two, other), ES)
    assert keys.kids == ("other",)
    assert [(s.kid, s.reason) for s in keys.skipped] == [
        ("dup", "another key of the set has the same kid"),
        ("dup", "another key of the set has the same kid"),
    ]
    assert keys.select("dup", "ES256") == []


def test_a_shared_kid_across_key_types_is_not_ambiguous() -> None:
    """RFC 7517 §4.5: keys of different types may share a kid; no token can match both."""
    keys = read_key_set(_body(_jwk(kid="k"), _jwk("RS256", kid="k")), RS_ES)
    assert keys.skipped == ()
    assert len(keys.select("k", "ES256")) == 1
    assert len(keys.select("k", "RS256")) == 1


def test_a_skipped_member_does_not_make_a_kid_ambiguous() -> None:
    keys = read_key_set(_body(_jwk(kid="k", use="enc"), _jwk(kid="k")), ES)
    assert keys.kids == ("k",)


def test_non_object_members_and_odd_kids_are_skipped() -> None:
    keys = read_key_set(_body("a string", 7, _jwk(kid=12)), ES)
    assert [s.reason for s in keys.skipped] == [
        "the member is not a JSON object",
        "the member is not a JSON object",
        "a JWK's kid must be a string",
    ]
    assert keys.keys == ()


def test_a_kid_is_made_printable_and_short_for_the_log() -> None:
    keys = read_key_set(_body(_jwk(kid="bad\nkid" + "x" * 200, use="enc")), ES)
    kid = keys.skipped[0].kid
    assert kid is not None
    assert "\n" not in kid
    assert len(kid) <= 64


def test_a_huge_set_is_read_up_to_the_limit() -> None:
    member = _jwk(kid=None, use="enc")
    keys = read_key_set(_body(*[member] * (MAX_MEMBERS + 5)), ES)
    assert sum("more than" in s.reason for s in keys.skipped) == 5


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b'["keys"]', "not a JWK Set"),
        (b'{"keys": {}}', "not a JWK Set"),
        (b'{"key": []}', "not a JWK Set"),
    ],
)
def test_a_document_that_is_no_jwks_is_an_error(body: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        read_key_set(body, ES)


def test_an_empty_set_is_a_valid_set_with_no_keys() -> None:
    keys = read_key_set(b'{"keys": []}', ES)
    assert keys.keys == ()
    assert keys.kids == ()
