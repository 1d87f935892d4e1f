"""Finding the token: bearer, cookie, header and query sources, and their malformed shapes."""

from __future__ import annotations

import pytest

from jwtgate import (
    BearerSource,
    ConfigurationError,
    CookieSource,
    HeaderSource,
    InvalidRequest,
    InvalidToken,
    QuerySource,
)
from jwtgate.sources import MappingView, RequestView, cookie_values, parse_bearer, parse_source

TOKEN = "aaa.bbb.ccc"


@pytest.mark.parametrize(
    "value",
    [
        f"Bearer {TOKEN}",
        f"bearer {TOKEN}",
        f"BEARER {TOKEN}",
        f"Bearer   {TOKEN}",
        f" Bearer {TOKEN} ",
        f"Bearer {TOKEN}  ",
    ],
)
def test_bearer_scheme_is_case_insensitive(value):
    assert parse_bearer(value) == TOKEN


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Digest x=1", "Token abc", ""])
def test_another_scheme_means_no_token(value):
    assert parse_bearer(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        f"Bearer {TOKEN} extra",
        f'Bearer "{TOKEN}"',
        f"Bearer {TOKEN},",
        f"Bearer,{TOKEN}",
        f"Bearer{TOKEN}",
        f"Bearer\t{TOKEN}",
        "Bearer tök",
        "Bearer a=b",
    ],
)
def test_malformed_bearer_is_invalid_request(value):
    with pytest.raises(InvalidRequest) as info:
        BearerSource().check(parse_bearer(value))
    assert info.value.status == 400
    assert info.value.error == "invalid_request"
    assert TOKEN not in info.value.description


def test_malformed_bearer_is_refused_by_the_gate_with_400(gate):
    for value in ("Bearer", "Bearer a b", 'Bearer "x"', "Bearer tök"):
        with pytest.raises(InvalidRequest) as info:
            gate.authenticate(headers={"Authorization": value})
        assert info.value.status == 400


def test_other_sources_refuse_non_jws_characters_as_invalid_token():
    with pytest.raises(InvalidToken, match="malformed") as info:
        CookieSource("t").check("a.b.c~")
    assert info.value.status == 401
    CookieSource("t").check("a.b.c")
    BearerSource().check("a.b.c")


def test_two_authorization_headers_are_invalid_request():
    view = MappingView([("Authorization", f"Bearer {TOKEN}"), ("authorization", "Bearer x.y.z")])
    with pytest.raises(InvalidRequest, match="More than one Authorization"):
        BearerSource().extract(view)


def test_header_names_match_case_insensitively():
    assert BearerSource().extract(MappingView({"AUTHORIZATION": f"Bearer {TOKEN}"})) == TOKEN


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (f"nf_jwt={TOKEN}", [TOKEN]),
        (f"a=1; nf_jwt={TOKEN}; b=2", [TOKEN]),
        (f'nf_jwt="{TOKEN}"', [TOKEN]),
        (f"x_nf_jwt={TOKEN}", []),
        (f"nf_jwt_old={TOKEN}", []),
        ("a=1", []),
        (f"nf_jwt={TOKEN};nf_jwt=other", [TOKEN, "other"]),
    ],
)
def test_cookie_values_finds_exactly_the_named_cookie(header, value):
    assert cookie_values([header], "nf_jwt") == value


def test_cookie_source_reads_the_cookie_header_or_given_cookies():
    source = CookieSource("nf_jwt")
    assert source.spec == "cookie:nf_jwt"
    assert source.extract(MappingView({"Cookie": f"nf_jwt={TOKEN}"})) == TOKEN
    assert source.extract(MappingView({}, cookies={"nf_jwt": TOKEN})) == TOKEN
    assert source.extract(MappingView({"Cookie": f"nf_jwt={TOKEN}"}, cookies={})) is None


def test_two_different_values_of_one_cookie_are_invalid_request():
    view = MappingView({"Cookie": f"nf_jwt={TOKEN}; nf_jwt=x.y.z"})
    with pytest.raises(InvalidRequest):
        CookieSource("nf_jwt").extract(view)
    same = MappingView({"Cookie": f"nf_jwt={TOKEN}; nf_jwt={TOKEN}"})
    assert CookieSource("nf_jwt").extract(same) == TOKEN


def test_header_source_with_and_without_prefix():
    plain = HeaderSource("privy-id-token")
    assert plain.spec == "header:privy-id-token"
    assert plain.extract(MappingView({"Privy-Id-Token": f" {TOKEN} "})) == TOKEN
    assert plain.extract(MappingView({"Privy-Id-Token": "  "})) is None
    assert plain.extract(MappingView({})) is None
    prefixed = HeaderSource("X-Auth", prefix="Token ")
    assert prefixed.extract(MappingView({"x-auth": f"Token {TOKEN}"})) == TOKEN
    assert prefixed.extract(MappingView({"x-auth": TOKEN})) is None


def test_query_source_reads_the_query_string():
    source = QuerySource("access_token")
    assert source.extract(MappingView({}, query_string=f"a=1&access_token={TOKEN}")) == TOKEN
    assert source.extract(MappingView({}, query_string="a=1")) is None
    with pytest.raises(InvalidRequest):
        source.extract(MappingView({}, query_string="access_token=a&access_token=b"))


def test_base_request_view_defaults():
    class HeadersOnly(RequestView):
        def header_values(self, name):
            return {"cookie": ["c=1"]}.get(name, [])

    view = HeadersOnly()
    assert view.query_string() == ""
    assert view.query_values("x") == []
    assert view.cookie_values("c") == ["1"]
    with pytest.raises(NotImplementedError):
        RequestView().header_values("x")


@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        ("bearer", BearerSource),
        ("Bearer", BearerSource),
        ("cookie:nf_jwt", CookieSource),
        ("header:privy-id-token", HeaderSource),
        ("query:token", QuerySource),
    ],
)
def test_parse_source_specs(spec, cls):
    source = parse_source(spec)
    assert isinstance(source, cls)
    assert parse_source(source) is source
    assert repr(source) == f"{cls.__name__}({source.spec!r})"


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "cookie",
        "cookie:",
        "bearer:x",
        "header:",
        "header:bad name",
        "header:Authorization",
        "query:a;b",
        "form:x",
        42,
        None,
    ],
)
def test_bad_source_specs_are_configuration_errors(spec):
    with pytest.raises(ConfigurationError, match="sources"):
        parse_source(spec)


def test_source_equality_is_by_spec():
    assert CookieSource("a") == parse_source("cookie:a")
    assert CookieSource("a") != CookieSource("b")
    assert CookieSource("a") != "cookie:a"
    assert len({CookieSource("a"), parse_source("cookie:a")}) == 1


def test_base_source_extract_is_abstract():
    from jwtgate import Source

    with pytest.raises(NotImplementedError):
        Source().extract(MappingView({}))
