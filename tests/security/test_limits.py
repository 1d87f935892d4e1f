"""The caps on work one request can cause: header bytes read, keys tried per token."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import jwtgate.issuer
from jwtgate import (
    ConfigurationError,
    CrossSiteRequest,
    Gate,
    InvalidRequest,
    InvalidSignature,
    Issuer,
)
from jwtgate.gate import DEFAULT_MAX_HEADER_BYTES
from jwtgate.keys import MAX_CANDIDATES
from jwtgate.sources import MappingView
from jwtgate.testing import TokenFactory

from .attack_kit import NOW, Clock


@pytest.fixture(scope="module")
def es() -> TokenFactory:
    return TokenFactory("ES256", clock=lambda: float(NOW))


def test_default_header_cap_is_16_kib(es: TokenFactory) -> None:
    gate = Gate(issuers=[es.issuer_config()])
    assert gate.max_header_bytes == DEFAULT_MAX_HEADER_BYTES == 16_384


def test_default_header_cap_grows_with_a_larger_token_cap(es: TokenFactory) -> None:
    gate = Gate(issuers=[es.issuer_config()], max_token_bytes=32_768)
    assert gate.max_header_bytes == 32_768 + 1024


@pytest.mark.parametrize("value", [True, "16384", 1.5, 8192, 8192 + 63, 2_000_000])
def test_header_cap_must_be_sane(es: TokenFactory, value: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_header_bytes"):
        Gate(issuers=[es.issuer_config()], max_header_bytes=value)


def test_header_cap_is_inclusive(es: TokenFactory) -> None:
    gate = Gate(issuers=[es.issuer_config()], clock=Clock(), max_header_bytes=9000)
    token = es.token()
    padded = "Bearer " + token
    assert gate.authenticate(headers={"Authorization": padded}) is not None
    cookie = "pad=" + "p" * (9000 - len(token) - 14) + "; s=" + token
    assert len(cookie) <= 9000
    cookie_gate = Gate(
        issuers=[es.issuer_config()], clock=Clock(), max_header_bytes=9000, sources=["cookie:s"]
    )
    assert cookie_gate.authenticate(headers={"Cookie": cookie}) is not None
    with pytest.raises(InvalidRequest) as refused:
        cookie_gate.authenticate(headers={"Cookie": cookie + "x" * (9001 - len(cookie))})
    assert refused.value.status == 400
    assert refused.value.error == "invalid_request"


def test_cookie_mapping_values_are_capped(es: TokenFactory) -> None:
    gate = Gate(issuers=[es.issuer_config()], sources=["cookie:s"], clock=Clock())
    with pytest.raises(InvalidRequest):
        gate.authenticate(cookies={"s": "a" * 20_000})


def test_query_string_is_capped(es: TokenFactory) -> None:
    gate = Gate(issuers=[es.issuer_config()], sources=["query:token"], clock=Clock())
    view = MappingView(query_string=f"token={es.token()}&x=" + "y" * 20_000)
    with pytest.raises(InvalidRequest, match="query string"):
        gate.authenticate(view)


def test_capped_view_passes_the_request_line_through(es: TokenFactory) -> None:
    gate = Gate(issuers=[es.issuer_config()], sources=["cookie:s"], clock=Clock())
    view = MappingView({"Cookie": f"s={es.token()}"}, method="POST", path="/x", scheme="https")
    view_headers = {"Origin": "https://api.test", "Host": "api.test", "Cookie": f"s={es.token()}"}
    same_origin = MappingView(view_headers, method="POST", path="/x", scheme="https")
    assert gate.authenticate(same_origin) is not None  # CSRF read method, scheme and Host
    with pytest.raises(CrossSiteRequest):
        gate.authenticate(view)


@pytest.mark.parametrize("value", [0, MAX_CANDIDATES + 1, True, 2.0, "3"])
def test_keys_tried_must_be_sane(es: TokenFactory, value: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_keys_tried"):
        es.issuer_config(max_keys_tried=value)


def _keys(n: int) -> list[Any]:
    return [ec.generate_private_key(ec.SECP256R1()).public_key() for _ in range(n)]


@pytest.mark.parametrize(("cap", "expected"), [(None, MAX_CANDIDATES), (1, 1), (3, 3)])
def test_a_forged_token_costs_at_most_max_keys_tried_checks(
    monkeypatch: pytest.MonkeyPatch, es: TokenFactory, cap: int | None, expected: int
) -> None:
    options = {} if cap is None else {"max_keys_tried": cap}
    issuer = Issuer(
        "https://issuer.test/",
        algorithms=["ES256"],
        audience="api",
        key=_keys(MAX_CANDIDATES + 4),
        **options,
    )
    checks: list[int] = []
    real = jwtgate.issuer.verifier

    def counting(alg: str) -> Any:
        algorithm = real(alg)

        class Counting:
            def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
                checks.append(1)
                return bool(algorithm.verify(msg, key, sig))

        return Counting()

    monkeypatch.setattr(jwtgate.issuer, "verifier", counting)
    gate = Gate(issuers=[issuer], clock=Clock())
    forged = jwt.encode(es.claims(), es.signing_key, algorithm="ES256")  # no kid at all
    with pytest.raises(InvalidSignature) as refused:
        gate.authenticate(headers={"Authorization": f"Bearer {forged}"})
    assert refused.value.error == "invalid_token"
    assert len(checks) == expected


def test_a_custom_source_sees_the_request_line_through_the_cap(es: TokenFactory) -> None:
    from jwtgate.sources import RequestView, Source

    seen: list[tuple[str, str, str]] = []

    class LineSource(Source):
        def __init__(self) -> None:
            self.spec = "custom:line"

        def extract(self, view: RequestView) -> str | None:
            seen.append((view.method, view.path, view.scheme))
            return None

    gate = Gate(issuers=[es.issuer_config()], sources=[LineSource()], clock=Clock())
    view = MappingView({}, method="PUT", path="/p", scheme="https")
    assert gate.authenticate(view) is None
    assert seen == [("PUT", "/p", "https")]
