"""Strict parsing of compact JWS: three canonical base64url segments of JSON objects.

Every test runs twice: with jiter parsing first (the speedups extra) and with
the standard library's decoder alone.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest

import jwtgate.jws as jws
from jwtgate import InvalidToken, speedups
from jwtgate.jws import parse

from .tokens import b64
from .tools import unavailable

HEADER = b64('{"alg":"HS256"}')
PAYLOAD = b64('{"sub":"u"}')
SIG = b64(b"\x01" * 32)


@pytest.fixture(autouse=True, params=["jiter", "stdlib"])
def json_parser(request, monkeypatch):
    """Which parser reads the JSON; no header is remembered from another test."""
    monkeypatch.setattr(jws, "_HEADERS", OrderedDict())
    if request.param == "stdlib":
        monkeypatch.setattr(speedups, "parse", None)
    elif speedups.parse is None:
        unavailable("jiter is not installed (pip install -e '.[speedups]')")
    return request.param


def t(h: str | bytes = '{"alg":"HS256"}', p: str | bytes = '{"sub":"u"}') -> str:
    return f"{b64(h)}.{b64(p)}.{SIG}"


def test_parse_returns_header_claims_and_signing_input():
    parsed = parse(f"{HEADER}.{PAYLOAD}.{SIG}")
    assert parsed.header == {"alg": "HS256"}
    assert parsed.claims == {"sub": "u"}
    assert parsed.signing_input == f"{HEADER}.{PAYLOAD}".encode()
    assert parsed.signature == b"\x01" * 32


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "malformed"),
        ("abc", "malformed"),
        (f"{HEADER}.{PAYLOAD}", "malformed"),
        (f"{HEADER}.{PAYLOAD}.", "Unsigned"),
        (f"{HEADER}..{SIG}", "payload is not valid JSON"),
        (f"{HEADER}.{PAYLOAD}.{SIG}.x", "malformed"),
        (f"{HEADER}.{PAYLOAD}.{SIG}.x.y", "Encrypted tokens"),
        (f"{HEADER}.{PAYLOAD}.{SIG}=", "malformed"),
        (f"{HEADER}=.{PAYLOAD}.{SIG}", "malformed"),
        (f"{HEADER}.{PAYLOAD}.{SIG[:-1]}+", "malformed"),
        (f"{HEADER}.{PAYLOAD}.{SIG[:-1]}/", "malformed"),
        (f" {HEADER}.{PAYLOAD}.{SIG}", "malformed"),
        (f"{HEADER}.{PAYLOAD}.{SIG}\n", "malformed"),
        (f"{HEADER}.{PAYLOAD} .{SIG}", "malformed"),
        (f"{HEADER}.{PAYLOAD}.{SIG[:-1]}é", "malformed"),
        # 4n+1 characters can't be base64 at all.
        (f"{HEADER}.{PAYLOAD}.A", "malformed"),
        # Non-canonical: the unused low bits of the last character are not zero.
        (f"{HEADER}.{PAYLOAD}.{b64(b'ab')[:-1]}x", "malformed"),
        (f"{HEADER}.{PAYLOAD}.{b64(b'a')[:-1]}B", "malformed"),
        (t(h="[1]"), "header is not a JSON object"),
        (t(p='"s"'), "payload is not a JSON object"),
        (t(p="null"), "payload is not a JSON object"),
        (t(p="{"), "payload is not valid JSON"),
        (t(p=b'{"a":"\xff"}'), "payload is not valid JSON"),
        (t(p=b"\xef\xbb\xbf{}"), "payload is not valid JSON"),
        (t(p='{"a":1,"a":2}'), "duplicate JSON members"),
        (t(h='{"alg":"HS256","alg":"none"}'), "duplicate"),
        (t(p='{"a":{"b":1,"b":1}}'), "duplicate"),
        (t(p='{"a":"\\ud800"}'), "not valid UTF-8"),
        (t(p='{"a":"x\\uDFFFy"}'), "not valid UTF-8"),
        (t(p='{"\\udbff":1}'), "not valid UTF-8"),
        (t(h='{"alg":"HS256","kid":"\\ud800"}'), "header is not valid UTF-8"),
        (t(p='{"a":NaN}'), "non-finite"),
        (t(p='{"a":Infinity}'), "non-finite"),
        (t(p='{"a":-Infinity}'), "non-finite"),
        (t(p='{"a":' + "9" * 5000 + "}"), "not valid JSON"),
        (t(p='{"a":' + "[" * 100_000 + "]" * 100_000 + "}"), "not valid JSON"),
    ],
)
def test_malformed_tokens_are_invalid_token(token, message):
    with pytest.raises(InvalidToken, match=message) as info:
        parse(token)
    assert info.value.status == 401
    assert info.value.error == "invalid_token"


def test_escaped_surrogate_pairs_are_fine():
    assert parse(t(p='{"a":"\\ud83d\\ude00"}')).claims["a"] == "\U0001f600"


def test_arrays_become_tuples_and_objects_read_only():
    parsed = parse(t(p='{"r":[[1],{"x":[2]}]}'))
    assert parsed.claims["r"] == ((1,), {"x": (2,)})
    with pytest.raises(TypeError):
        parsed.claims["r"][1]["x"] = 3


def test_the_fast_and_the_slow_parsers_agree():
    """Every token the strict fast path refuses, the plain algorithm refuses alike."""
    good = f"{HEADER}.{PAYLOAD}.{SIG}"
    for token in (good, f"{HEADER}.{PAYLOAD}.{SIG[:-1]}x", f"{HEADER}.{PAYLOAD}!.{SIG}"):
        try:
            fast = jws.parse_parts(token, 32)
        except InvalidToken as exc:
            with pytest.raises(InvalidToken, match=str(exc.description)):
                jws._parse_slowly(token, 32)
        else:
            assert jws._parse_slowly(token, 32) == fast


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_every_character_outside_base64url_is_refused_alike_by_both_paths(segment):
    """The fast path's alphabet check covers every segment, before any is decoded."""
    parts = [HEADER, PAYLOAD, SIG]
    for code in range(128):
        character = chr(code)
        if character.isalnum() or character in "-_":
            continue
        broken = list(parts)
        broken[segment] = parts[segment][:3] + character + parts[segment][3:]
        token = ".".join(broken)
        with pytest.raises(InvalidToken) as slow:
            jws._parse_slowly(token, 32)
        with pytest.raises(InvalidToken) as fast:
            jws.parse_header(token, 32)
        assert fast.value.description == slow.value.description, repr(character)


def test_the_header_comes_first_and_the_rest_is_decoded_apart():
    header, split = jws.parse_header(f"{HEADER}.{PAYLOAD}.{SIG[:-1]}x", 32)
    assert header == {"alg": "HS256"}
    with pytest.raises(InvalidToken, match="malformed"):  # a non-canonical signature
        jws.parse_body(f"{HEADER}.{PAYLOAD}.{SIG[:-1]}x", split)
    token = f"{HEADER}.{PAYLOAD}.{SIG}"
    header, split = jws.parse_header(token, 32)
    assert jws.parse_body(token, split) == jws._parse_slowly(token, 32)[1:]


def test_claim_keys_are_shared_by_either_parser():
    first = parse(t(p='{"email":"a","app_metadata":{"roles":["r"]}}')).claims
    second = parse(t(p='{"email":"b","app_metadata":{"roles":["s"]}}')).claims
    for one, two in ((first, second), (first["app_metadata"], second["app_metadata"])):
        assert [id(k) for k in one] == [id(k) for k in two]  # one string per key name


def test_nesting_beyond_jiters_own_limit_is_judged_by_the_depth_limit_alone():
    """jiter stops at 200 levels or so; the strict decoder decides beyond, with or without it."""
    deep = "[" * 300 + "]" * 300
    token = t(p=f'{{"a":{deep}}}')
    with pytest.raises(InvalidToken, match="payload nests too deeply"):
        parse(token)
    claims = parse(token, max_depth=301).claims
    depth, value = 0, claims["a"]
    while value:
        depth, value = depth + 1, value[0]
    assert depth == 299
    assert value == ()
