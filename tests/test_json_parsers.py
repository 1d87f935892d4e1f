"""jiter (the speedups extra) and the standard library's strict decoder agree on every text.

jiter parses first where it is installed; whatever it refuses, the strict
decoder parses again. These tests hold both to one outcome — the same value,
frozen alike, or the same refusal — on valid JSON, on JSON made invalid byte by
byte, and on the texts a hostile token would try.
"""

from __future__ import annotations

import inspect
import json
import sys
import tomllib
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jwtgate.jws as jws
from jwtgate import InvalidToken, speedups
from jwtgate.jws import parse

from .tokens import b64
from .tools import unavailable

SIG = b64(b"\x01" * 32)
Outcome = tuple[str, Any]


@pytest.fixture(scope="module")
def jiter_parse() -> Callable[[bytes], Any]:
    if speedups.parse is None:
        unavailable("jiter is not installed (pip install -e '.[speedups]')")
    return speedups.parse


@contextmanager
def parser(fast: Callable[[bytes], Any] | None) -> Iterator[None]:
    saved = speedups.parse
    speedups.parse = fast
    try:
        yield
    finally:
        speedups.parse = saved


def shape(value: Any) -> Any:
    """A value with every type spelt out: 1, 1.0 and True differ, and so do -0.0 and 0.0."""
    if type(value) is jws.FrozenDict:
        return ("object", tuple((key, shape(item)) for key, item in value.items()))
    if type(value) is tuple:
        return ("array", tuple(shape(item) for item in value))
    if type(value) is float:
        return ("float", repr(value))
    if value is None or type(value) in (bool, int, str):
        return (type(value).__name__, value)
    raise AssertionError(f"not a frozen JSON value: {type(value).__name__}")


def outcome(raw: bytes, fast: Callable[[bytes], Any] | None, max_depth: int = 32) -> Outcome:
    with parser(fast):
        try:
            return "accepted", shape(jws.parse_claims(raw, max_depth=max_depth))
        except InvalidToken as exc:
            return "refused", exc.description


def assert_agree(raw: bytes, fast: Callable[[bytes], Any], max_depth: int = 32) -> Outcome:
    strict = outcome(raw, None, max_depth)
    assert outcome(raw, fast, max_depth) == strict, raw
    return strict


HOSTILE = [
    b'{"a":1,"a":2}',
    b'{"a":1,"\\u0061":2}',
    b'{"ab":1,"a\\u0062":2}',
    b'{"":1,"":2}',
    b'{"a":{"b":1,"b":2}}',
    b'{"a":[{"b":1,"b":2}]}',
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":1e400}',
    b'{"a":-1e400}',
    b'{"a":1e-400}',
    b'{"a":-0}',
    b'{"a":-0.0}',
    b'{"a":5e-324}',
    b'{"a":1.7976931348623157e308}',
    b'{"a":9007199254740993}',
    b'{"a":9007199254740993.0}',
    b'{"a":' + b"9" * 4300 + b"}",
    b'{"a":' + b"9" * 4301 + b"}",
    b'{"a":1.' + b"0" * 5000 + b"1}",
    b'{"a":"\\ud800"}',
    b'{"a":"\\udc00"}',
    b'{"a":"\\ud800\\u0041"}',
    b'{"a":"\\udd1e\\ud834"}',
    b'{"\\udbff":1}',
    b'{"a":"\\ud83d\\ude00"}',
    b'{"a":"\\uD834\\uDD1E"}',
    b'{"a":"\xed\xa0\x80"}',
    b'{"a":"\xf4\x90\x80\x80"}',
    b'{"a":"\xc0\xaf"}',
    b'{"a":"\xff"}',
    b'{"a":"\xc3\xa9"}',
    b'{"a":"x\x01y"}',
    b'{"a":"x\x7fy"}',
    b'{"a":"x\ty"}',
    b'{"a":"a\\u0000b"}',
    b'{"\x00":1}',
    b'{"a":"\\x"}',
    b'{"a":"\\u12"}',
    b'{"a":"\\u12G4"}',
    b'{"a":"\\/"}',
    b'\xef\xbb\xbf{"a":1}',
    b' \t\r\n{"a":1} \t\r\n',
    b'\x0c{"a":1}',
    b'\xa0{"a":1}',
    b'{"a":1}\x00',
    b'{"a":1}\x0b',
    b'{"a":1}\xe2\x80\x8b',
    b'{"a":1}{',
    b'{"a":1} x',
    b'{"a":1,}',
    b'{"a":[1,]}',
    b'{"a":.5}',
    b'{"a":5.}',
    b'{"a":+5}',
    b'{"a":01}',
    b'{"a":0x5}',
    b'{"a":1e}',
    b'{"a":-}',
    b'{"a":tru}',
    b'{"a" :1 , "b":[1 ,2]}',
    b'{"a":true,"b":false,"c":null}',
    b"{}",
    b"[]",
    b'"s"',
    b"null",
    b"",
    b"{",
    b'{"a":' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"a":' + b"[" * 250 + b"]" * 250 + b"}",
    b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"a":' + b'{"b":' * 250 + b"1" + b"}" * 250 + b"}",
]


@pytest.mark.parametrize("raw", HOSTILE, ids=range(len(HOSTILE)))
def test_the_parsers_agree_on_hostile_texts(raw, jiter_parse):
    assert_agree(raw, jiter_parse)
    assert_agree(raw, jiter_parse, max_depth=300)


def test_the_hostile_texts_are_refused_as_the_strict_decoder_refuses_them(jiter_parse):
    """The list above is not all agreement on acceptance: each kind of refusal is in it."""
    refusals = {
        outcome(raw, jiter_parse)[1] for raw in HOSTILE if outcome(raw, None)[0] != "accepted"
    }
    assert refusals == {
        "The token has duplicate JSON members",
        "The token holds a non-finite number",
        "The token's payload is not valid UTF-8 text",
        "The token's payload is not valid JSON",
        "The token's payload is not a JSON object",
        "The token's payload nests too deeply",
    }


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=24,
)
MARKS = [
    b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b" ", b"\t", b"\n", b"\x0c", b"\xa0",
    b"\\ud800", b"\\udc00", b"\\u0041", b"\\ud83d\\ude00", b"\\u", b'\\"', b"\\n", b"\\x",
    b"NaN", b"Infinity", b"-", b"+", b"1e400", b"0", b"01", b".", b"e", b"E",
    b"true", b"null", b'"a":1', b',"a":1', b',"":1',
    b"\x00", b"\x1f", b"\x7f", b"\xff", b"\xed\xa0\x80", b"\xc3\xa9", b"\xc3", b"\xef\xbb\xbf",
]  # fmt: skip


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    """A JSON object as some encoder might write it: escaped or not, spaced or not."""
    value = draw(st.dictionaries(st.text(max_size=8), values, max_size=6))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :")]))
    indent = draw(st.sampled_from([None, 0, 2]))
    ascii_only = draw(st.booleans())
    return json.dumps(value, ensure_ascii=ascii_only, separators=separators, indent=indent).encode()


def escaped(character: str) -> str:
    """``character`` as JSON's \\u escape: two of them, a surrogate pair, beyond the BMP."""
    units = character.encode("utf-16-be")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


@st.composite
def escaped_keys(draw: st.DrawFn) -> bytes:
    """An object whose member names repeat, some spelt with \\u escapes: duplicates in disguise."""
    names = draw(st.lists(st.sampled_from(["a", "ab", "b", "é", "", "\U0001d11e"]), max_size=6))
    members = []
    for name in names:
        # Each character as it is, or as a \\u escape (a surrogate pair beyond the BMP).
        spelt = "".join(escaped(c) if draw(st.booleans()) else c for c in name)
        members.append(f'"{spelt}":{json.dumps(draw(values))}')
    return ("{" + ",".join(members) + "}").encode()


@st.composite
def mutated(draw: st.DrawFn, texts: st.SearchStrategy[bytes]) -> bytes:
    """A text with a few bytes inserted, replaced or deleted at random places."""
    raw = draw(texts)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(raw)))
        cut = draw(st.integers(min_value=0, max_value=min(4, len(raw) - at)))
        raw = raw[:at] + draw(st.sampled_from([b"", *MARKS])) + raw[at + cut :]
    return raw


PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(raw=json_texts())
def test_the_parsers_agree_on_valid_json(raw, jiter_parse):
    assert assert_agree(raw, jiter_parse)[0] == "accepted"


@PROPERTY
@given(raw=escaped_keys())
def test_the_parsers_agree_on_names_spelt_with_escapes(raw, jiter_parse):
    assert_agree(raw, jiter_parse)


@settings(PROPERTY, max_examples=1500)
@given(raw=mutated(json_texts() | escaped_keys()))
def test_the_parsers_agree_on_json_broken_byte_by_byte(raw, jiter_parse):
    assert_agree(raw, jiter_parse)


NUMBERS = r"\A-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?\Z"


@PROPERTY
@given(number=st.from_regex(NUMBERS))
def test_the_parsers_agree_on_numbers_as_any_encoder_may_spell_them(number, jiter_parse):
    """Digits beyond a double's precision, exponents out of range: rounded or refused alike."""
    assert_agree(f'{{"n":{number},"a":[{number}]}}'.encode(), jiter_parse)


def test_claim_keys_are_shared_within_a_bounded_memo(monkeypatch):
    """The strict decoder keeps each key name once, in a memo of its own."""
    monkeypatch.setattr(speedups, "parse", None)
    monkeypatch.setattr(jws, "_KEYS", {})
    monkeypatch.setattr(jws, "_known", jws._KEYS.get)
    monkeypatch.setattr(jws, "_KEYS_SIZE", 4)
    first = jws.parse_claims(b'{"email":"a"}')
    second = jws.parse_claims(b'{"email":"b"}')
    (key_one,), (key_two,) = first, second
    assert key_one is key_two  # one string for every user's "email"
    long_key = "k" * (jws._KEY_LENGTH + 1)
    jws.parse_claims(f'{{"{long_key}":1}}'.encode())
    assert long_key not in jws._KEYS  # long keys are not kept
    jws.parse_claims(b'{"a":1,"b":2,"c":3,"d":4,"e":5}')
    assert len(jws._KEYS) <= 4


def test_jiter_parses_what_it_accepts(monkeypatch, jiter_parse):
    """Where installed, jiter is used: the strict decoder is not called on good JSON."""

    def strict(raw: bytes, what: str) -> jws.FrozenDict:
        raise AssertionError("the strict decoder ran")

    monkeypatch.setattr(jws, "_parsed_strictly", strict)
    payload = '{"sub":"u","r":[[1],{"x":[2]}],"m":{"k":"v"}}'
    header = '{"alg":"HS256"}'
    token = f"{b64(header)}.{b64(payload)}.{SIG}"
    claims = parse(token).claims
    assert claims == {"sub": "u", "r": ((1,), {"x": (2,)}), "m": {"k": "v"}}
    assert type(claims) is type(claims["m"]) is type(claims["r"][1]) is jws.FrozenDict
    with pytest.raises(TypeError):
        claims["m"]["k"] = "w"  # type: ignore[index]


def test_jiter_is_used_when_it_parses_as_jwtgate_needs(jiter_parse, caplog):
    checked = speedups.checked_jiter()
    assert checked is not None
    assert checked(b'{"a":[1]}') == {"a": [1]}
    assert not caplog.records


def test_without_jiter_the_strict_decoder_alone_is_used(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "jiter", None)  # import jiter raises ImportError
    assert speedups.checked_jiter() is None
    assert not caplog.records  # not installed is not a problem


@pytest.mark.parametrize(
    ("from_json", "why"),
    [
        (lambda data, **options: json.loads(data), "accepts duplicates and NaN"),
        (lambda data, allow_inf_nan=True, cache_mode="all": {}, "an option it lacks"),
        (lambda data, **options: {}, "parses wrongly"),
    ],
)
def test_a_jiter_that_does_not_parse_as_jwtgate_needs_is_not_used(
    monkeypatch, caplog, from_json, why
):
    fake = types.SimpleNamespace(from_json=from_json, __version__="0.1.0")
    monkeypatch.setitem(sys.modules, "jiter", fake)
    assert speedups.checked_jiter() is None, why
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage() == (
        "jwtgate: jiter 0.1.0 does not parse JSON as jwtgate needs (pip install 'jiter>=0.8.2'); "
        "the standard library's decoder is used"
    )


def test_the_warning_asks_for_the_jiter_the_speedups_extra_asks_for():
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    (requirement,) = pyproject["project"]["optional-dependencies"]["speedups"]
    assert requirement == "jiter>=0.8.2"
    assert requirement in inspect.getsource(speedups.checked_jiter)
