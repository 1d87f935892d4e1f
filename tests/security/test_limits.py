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
from jwtgate.gate import DEFAULT_MAX_COOKIE_HEADER_BYTES, DEFAULT_MAX_HEADER_BYTES
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
        issuers=[es.issuer_config()],
        clock=Clock(),
        max_header_bytes=9000,
        max_cookie_header_bytes=9000,
        sources=["cookie:s"],
    )
    assert cookie_gate.authenticate(headers={"Cookie": cookie}) is not None
    with pytest.raises(InvalidRequest, match="The Cookie header is too large") as refused:
        cookie_gate.authenticate(headers={"Cookie": cookie + "x" * (9001 - len(cookie))})
    assert refused.value.status == 400
    assert refused.value.error == "invalid_request"


def _netlify_like(es: TokenFactory, **options: Any) -> Gate:
    return Gate(
        issuers=[es.issuer_config()], clock=Clock(), sources=["cookie:nf_jwt", "bearer"], **options
    )


def test_unrelated_cookies_beyond_the_header_cap_do_not_refuse_a_bearer_token(
    es: TokenFactory,
) -> None:
    """20 KB of a site's other cookies: only what is read for a token is capped at 16 KiB."""
    cookies = "; ".join(f"c{i}={'v' * 200}" for i in range(100))
    assert len(cookies) > 20_000
    headers = {"Authorization": f"Bearer {es.token(sub='u1')}", "Cookie": cookies}
    user = _netlify_like(es).authenticate(headers=headers)
    assert user is not None
    assert user.subject == "u1"
    both = {"Cookie": f"{cookies}; nf_jwt={es.token(sub='u2')}"}
    cookie_user = _netlify_like(es).authenticate(headers=both)
    assert cookie_user is not None
    assert cookie_user.source == "cookie:nf_jwt"


def test_the_cookie_header_is_capped_in_total_at_64_kib(es: TokenFactory) -> None:
    gate = _netlify_like(es)
    assert gate.max_cookie_header_bytes == DEFAULT_MAX_COOKIE_HEADER_BYTES == 65_536
    bearer = {"Authorization": f"Bearer {es.token()}"}
    exactly = "junk=" + "j" * (65_536 - 5)
    assert gate.authenticate(headers={**bearer, "Cookie": exactly}) is not None
    with pytest.raises(InvalidRequest, match="The Cookie header is too large"):
        gate.authenticate(headers={**bearer, "Cookie": exactly + "j"})
    # several Cookie headers (HTTP/2 sends one per cookie) count together
    split = [("Cookie", "a=" + "x" * 40_000), ("Cookie", "b=" + "y" * 30_000)]
    with pytest.raises(InvalidRequest, match="The Cookie header is too large"):
        gate.authenticate(MappingView([*bearer.items(), *split]))


def test_the_cookie_value_read_for_a_token_stays_capped(es: TokenFactory) -> None:
    gate = _netlify_like(es)
    with pytest.raises(InvalidRequest, match="A cookie is too large"):
        gate.authenticate(headers={"Cookie": "nf_jwt=" + "a" * 16_385})


def test_the_authorization_header_stays_capped_whatever_the_cookie_cap(es: TokenFactory) -> None:
    gate = _netlify_like(es, max_cookie_header_bytes=1_048_576)
    with pytest.raises(InvalidRequest, match="A request header is too large"):
        gate.authenticate(headers={"Authorization": "Bearer " + "a" * 16_384})


@pytest.mark.parametrize("value", [True, "65536", 1.5, 16_383, 4 * 1_048_576 + 1])
def test_cookie_header_cap_must_be_sane(es: TokenFactory, value: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_cookie_header_bytes"):
        Gate(issuers=[es.issuer_config()], max_cookie_header_bytes=value)


def test_cookie_header_cap_is_never_below_the_header_cap(es: TokenFactory) -> None:
    gate = Gate(issuers=[es.issuer_config()], max_header_bytes=100_000)
    assert gate.max_cookie_header_bytes == 100_000


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
