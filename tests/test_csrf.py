"""Unsafe requests authenticated by a cookie must show same-origin evidence."""

from __future__ import annotations

import pytest

from jwtgate import ConfigurationError, CrossSiteRequest, CSRFPolicy, Gate
from jwtgate.csrf import applies_to
from jwtgate.sources import MappingView


@pytest.fixture
def cookie_gate(rs256, clock):
    return Gate(issuers=[rs256.issuer_config()], sources=["bearer", "cookie:t"], clock=clock)


def request(token, method="POST", scheme="https", bearer=False, **headers):
    base = {"Host": "app.example.com"}
    if bearer:
        base["Authorization"] = f"Bearer {token}"
    else:
        base["Cookie"] = f"t={token}"
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    return MappingView(base, method=method, scheme=scheme)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "post", "PROPFIND"])
def test_unsafe_cookie_request_without_evidence_is_refused(cookie_gate, rs256, method):
    with pytest.raises(CrossSiteRequest) as info:
        cookie_gate.authenticate(request(rs256.token(), method=method))
    error = info.value
    assert (error.status, error.error) == (403, "csrf_rejected")
    assert 'error="csrf_rejected"' in error.challenge()


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec_Fetch_Site": "cross-site"},
        {"Sec_Fetch_Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://app.example.com"},  # the scheme differs
        {"Origin": "https://app.example.com.evil.example"},
    ],
)
def test_cross_site_evidence_is_refused(cookie_gate, rs256, headers):
    with pytest.raises(CrossSiteRequest):
        cookie_gate.authenticate(request(rs256.token(), **headers))


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec_Fetch_Site": "same-origin"},
        {"Sec_Fetch_Site": "Same-Origin"},
        {"Origin": "https://app.example.com"},
        {"Origin": "HTTPS://APP.EXAMPLE.COM/"},
        {"Sec_Fetch_Site": "cross-site", "Origin": "https://app.example.com"},
    ],
)
def test_same_origin_evidence_passes(cookie_gate, rs256, headers):
    assert cookie_gate.authenticate(request(rs256.token(), **headers)).subject == "user-1"


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_need_no_evidence(cookie_gate, rs256, method):
    assert cookie_gate.authenticate(request(rs256.token(), method=method)) is not None


def test_header_tokens_need_no_evidence(cookie_gate, rs256):
    view = request(rs256.token(), bearer=True, Origin="https://evil.example")
    assert cookie_gate.authenticate(view) is not None


def test_no_token_means_no_check(cookie_gate):
    assert cookie_gate.authenticate(MappingView({}, method="POST")) is None


def test_trusted_origins_and_custom_header(rs256, clock):
    policy = CSRFPolicy(trusted_origins=["https://front.example.com"], header="X-Requested-With")
    gate = Gate(issuers=[rs256.issuer_config()], sources=["cookie:t"], clock=clock, csrf=policy)
    token = rs256.token()
    assert gate.authenticate(request(token, Origin="https://front.example.com")) is not None
    assert gate.authenticate(request(token, X_Requested_With="fetch")) is not None
    with pytest.raises(CrossSiteRequest):
        gate.authenticate(request(token, Origin="https://other.example.com"))
    assert "front.example.com" in repr(policy)


def test_own_origin_needs_a_host_header(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], sources=["cookie:t"], clock=clock)
    view = MappingView({"Cookie": f"t={rs256.token()}", "Origin": "http://x"}, method="POST")
    with pytest.raises(CrossSiteRequest):
        gate.authenticate(view)


def test_csrf_can_be_disabled(rs256, clock):
    gate = Gate(issuers=[rs256.issuer_config()], sources=["cookie:t"], clock=clock, csrf=False)
    assert gate.csrf is None
    assert gate.authenticate(request(rs256.token())) is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trusted_origins": "https://a.example"},
        {"trusted_origins": ["a.example"]},
        {"trusted_origins": ["https://a.example/path"]},
        {"header": ""},
        {"header": 5},
    ],
)
def test_bad_policies_are_refused(kwargs):
    with pytest.raises(ConfigurationError, match="csrf"):
        CSRFPolicy(**kwargs)


def test_gate_refuses_a_bad_csrf_value(rs256):
    with pytest.raises(ConfigurationError, match="csrf"):
        Gate(issuers=[rs256.issuer_config()], csrf="yes")


# --- websocket handshakes: a GET that browsers send cross-site with cookies ----------------


@pytest.mark.parametrize(
    ("method", "source", "upgrade", "expected"),
    [
        ("GET", "cookie:nf_jwt", None, False),
        ("GET", "cookie:nf_jwt", "websocket", True),
        ("GET", "cookie:nf_jwt", "WebSocket", True),
        ("GET", "cookie:nf_jwt", "h2c", False),
        ("POST", "cookie:nf_jwt", None, True),
        ("GET", "bearer", "websocket", False),
        ("POST", "header:x-token", None, False),
        ("OPTIONS", "cookie:nf_jwt", None, False),
    ],
)
def test_applies_to_is_the_one_test_of_whether_csrf_applies(method, source, upgrade, expected):
    assert applies_to(method, source, upgrade) is expected


def test_a_cookie_websocket_handshake_needs_evidence(cookie_gate, rs256):
    handshake = {"Upgrade": "websocket", "Connection": "Upgrade"}
    with pytest.raises(CrossSiteRequest):
        cookie_gate.authenticate(request(rs256.token(), method="GET", **handshake))
    with pytest.raises(CrossSiteRequest):
        cookie_gate.authenticate(
            request(rs256.token(), method="GET", Origin="https://evil.example", **handshake)
        )
    same = request(
        rs256.token(sub="v"), method="GET", Origin="https://app.example.com", **handshake
    )
    assert cookie_gate.authenticate(same).subject == "v"
    bearer = request(rs256.token(sub="b"), method="GET", bearer=True, **handshake)
    assert cookie_gate.authenticate(bearer).subject == "b"
