"""Project Wycheproof's JOSE vectors through jwtgate's key handling and verification.

The vectors live in ``../shared/vectors/wycheproof`` beside the checkout (CI
has them; ``SHARED_VECTORS`` names another ``vectors`` directory); they are
read at test time, never copied. Without them (a clone of its own, not beside
``shared/``) these tests skip, saying why.

Two layers are checked. At the JWS layer (the vectors' payloads are not JWT
claim sets) every verdict must match the vector's, but for the deliberate
deviations listed in ``DEVIATIONS``. Through ``Gate.authenticate`` every
vector must be refused with a 400/401 ``AuthError``, never anything else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from jwtgate import AuthError, ConfigurationError, Gate, Issuer
from jwtgate.algorithms import SUPPORTED
from jwtgate.errors import InvalidToken
from jwtgate.jws import parse_jws

# SHARED_VECTORS points elsewhere (e.g. from a checkout that is not beside shared/).
VECTORS = (
    Path(
        os.environ.get("SHARED_VECTORS")
        or Path(__file__).resolve().parents[3] / "shared" / "vectors"
    )
    / "wycheproof"
)
SKIP_REASON = (
    f"Wycheproof vectors not found at {VECTORS} (they ship beside the checkout, not in it)"
)

#: tcId → (the verdict jwtgate gives, why it differs from the vector's label).
DEVIATIONS: dict[int, tuple[str, str]] = {
    367: ("valid", "mislabelled upstream: byte-identical to the valid tcId 357"),
    370: ("valid", "mislabelled upstream: byte-identical to the valid tcId 357"),
    372: ("invalid", "labelled valid, but a '?' in a segment is not base64url"),
    373: ("invalid", "labelled valid, but a '?' in a segment is not base64url"),
    346: ("invalid", "key alg PS256 used with a PS384 header: a key verifies one algorithm"),
    350: ("invalid", "key alg PS256 used with a PS384 header: a key verifies one algorithm"),
    347: ("invalid", "key alg 'ES521' is not a registered JWS algorithm: the key is refused"),
    351: ("invalid", "key alg 'ES521' is not a registered JWS algorithm: the key is refused"),
}


def _load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


def _cases(name: str) -> list[Any]:
    if not VECTORS.is_dir():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=SKIP_REASON), id="absent")]
    cases = []
    for group in _load(name)["testGroups"]:
        for test in group["tests"]:
            cases.append(
                pytest.param(
                    group, test, id=f"{name}:{group['comment']}:{test['tcId']}:{test['comment']}"
                )
            )
    return cases


def _issuer(group: dict[str, Any]) -> Issuer:
    """The issuer a relying party would configure for the group's key (may refuse it)."""
    key = group.get("public") or group["private"]
    if "keys" in key:
        algorithms = sorted(_algorithms_of(key))
    else:
        algorithm = key.get("alg")
        algorithms = [algorithm] if algorithm in SUPPORTED else ["RS256", "PS256", "ES256"]
    return Issuer(None, algorithms=algorithms, key=key, required_claims=())


def _jws_verdict(issuer: Issuer, token: str) -> str:
    try:
        jws = parse_jws(token)
        alg, kid = issuer.check_header(jws.header)
        issuer.verify_signature(jws, alg, issuer.keys.keys_for(kid, alg))
    except InvalidToken:
        return "invalid"
    return "valid"


def _expected(test: dict[str, Any]) -> str:
    deviation = DEVIATIONS.get(test["tcId"])
    return deviation[0] if deviation else test["result"]


@pytest.mark.parametrize(("group", "test"), _cases("json_web_signature_test.json"))
def test_signature_vectors(group, test):
    token = test["jws"] if isinstance(test["jws"], str) else json.dumps(test["jws"])
    try:
        issuer = _issuer(group)
    except ConfigurationError:
        # A key jwtgate refuses to configure verifies nothing: every token is invalid.
        assert _expected(test) == "invalid", "a key needed for a valid vector was refused"
        return
    assert _jws_verdict(issuer, token) == _expected(test)
    _assert_refused_by_gate(issuer, token)


def _assert_refused_by_gate(issuer: Issuer, token: str) -> None:
    gate = Gate(issuers=[issuer], cache_size=0)
    with pytest.raises(AuthError) as info:
        gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    assert info.value.status in (400, 401)


@pytest.mark.parametrize(("group", "test"), _cases("json_web_crypto_test.json"))
def test_crypto_vectors_are_all_refused_or_agree(group, test):
    token = test.get("jws") or test.get("jwe")
    token = token if isinstance(token, str) else json.dumps(token)
    try:
        issuer = _issuer(group)
    except ConfigurationError:
        assert test["result"] == "invalid" or "jwe" in test
        return
    if "jws" in test and isinstance(test["jws"], str) and test["tcId"] not in DEVIATIONS:
        assert _jws_verdict(issuer, token) == test["result"]
    else:
        assert _jws_verdict(issuer, token) == "invalid"
    _assert_refused_by_gate(issuer, token)


@pytest.mark.parametrize(("group", "test"), _cases("json_web_key_test.json"))
def test_key_set_vectors(group, test):
    """A key set jwtgate configures verifies the valid vectors; bad keys are refused or skipped."""
    token = test["jws"] if isinstance(test["jws"], str) else json.dumps(test["jws"])
    keys = group.get("public") or group["private"]
    try:
        issuer = Issuer(None, algorithms=sorted(_algorithms_of(keys)), key=keys, required_claims=())
    except ConfigurationError:
        assert test["result"] == "invalid", "a key set needed for a valid vector was refused"
        return
    assert _jws_verdict(issuer, token) == test["result"]


def _algorithms_of(jwks: dict[str, Any]) -> set[str]:
    algs = {k.get("alg") for k in jwks["keys"]} & SUPPORTED
    families = {a[:2] for a in algs}
    if "HS" in families and len(families) > 1:
        # jwtgate never mixes HMAC and public-key algorithms in one issuer.
        algs = {a for a in algs if not a.startswith("HS")}
    return algs or {"RS256"}
