"""Strict parsing of a compact JWS, before any key is touched.

Written here rather than left to ``jwt.decode`` for two reasons. Strictness:
PyJWT accepts duplicate JSON member names, ``NaN`` and ``Infinity``; this
parser refuses them. Speed: a token no cache holds yet is parsed on every
first request of a user and on every refusal, so this is most of what a
cache miss costs beyond the signature check. PyJWT checks base64url
character by character in Python and parses the header twice; here the
token is decoded by ``binascii`` in strict mode after one ``bytes.translate``,
a header seen before is not parsed again (a provider signs every token with
one of a few headers), and one JSON decoder, built once, freezes objects and
refuses duplicates as it parses.

With the ``speedups`` extra installed, jiter parses JSON first
(``jwtgate.speedups``); whatever it refuses is parsed again by the strict
decoder here, which names the refusal or, where jiter's limits are narrower
(its nesting limit), decides alone. So with or without it, a token is
accepted or refused alike, with the same message.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from . import speedups
from .errors import InvalidToken
from .user import FrozenDict, freeze_json_array

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "JWS",
    "ParsedToken",
    "json_marks",
    "parse",
    "parse_body",
    "parse_claims",
    "parse_header",
    "parse_jws",
    "parse_parts",
]

#: How deeply objects and arrays may nest in a header or payload.
DEFAULT_MAX_DEPTH = 32

_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]+)")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SEGMENT_CHARS = re.compile(r"[A-Za-z0-9_.-]*")
# The last character of a canonical base64url segment leaves its unused bits at zero.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}
# base64url's two own characters as standard base64 spells them, for binascii.
_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
# Every byte but base64url's alphabet and the dot, for bytes.translate to delete.
_NOT_BASE64URL: Final = bytes(
    c for c in range(256) if not (chr(c).isascii() and (chr(c).isalnum() or chr(c) in "-_."))
)
_PADDING: Final = (b"", b"", b"==", b"=")
# Every byte but JSON's structural ones, for bytes.translate to delete (json_marks).
_NOT_MARKS: Final = bytes(c for c in range(256) if c not in b'{[:,"')
#: Headers seen before, by their base64url text: parsed and checked once each.
_HEADERS: OrderedDict[str, FrozenDict] = OrderedDict()
_HEADERS_SIZE: Final = 256
_HEADER_TEXT_LIMIT: Final = 512


@dataclass(frozen=True, slots=True)
class JWS:
    """A compact JWS taken apart, its payload left as bytes: nothing in it is verified yet."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class ParsedToken(JWS):
    """A compact JWS whose payload is a JWT claims set: nothing in it is verified yet."""

    claims: dict[str, Any]


def _b64decode(segment: str) -> bytes:
    """One base64url segment, strictly: the slow path's decoder, which names what is wrong."""
    remainder = len(segment) % 4
    if remainder == 1 or (remainder and segment[-1] not in _CANONICAL_LAST[remainder]):
        raise InvalidToken("The token is malformed")
    try:
        return binascii.a2b_base64(
            segment.encode("ascii").translate(_TO_STANDARD) + _PADDING[remainder],
            strict_mode=True,
        )
    except (binascii.Error, ValueError):  # pragma: no cover - the regex admits only valid input
        raise InvalidToken("The token is malformed") from None


def _segment(standard: bytes, last: str) -> bytes:
    """One segment already translated to standard base64; ``last`` is its last character."""
    remainder = len(standard) % 4
    if remainder and (remainder == 1 or last not in _CANONICAL_LAST[remainder]):
        raise ValueError("not canonical")
    return binascii.a2b_base64(standard + _PADDING[remainder], strict_mode=True)


def _frozen_object(pairs: list[tuple[str, Any]]) -> FrozenDict:
    # Keys shared: every user's claims hold one "email", one "app_metadata" … (some 55
    # bytes each) where the parser makes a new string for every key of every token.
    # (Arrays are frozen here; the objects in them were frozen by this hook already.)
    obj = FrozenDict(
        [
            (_known(k) or _key(k), freeze_json_array(v) if v.__class__ is list else v)
            for k, v in pairs
        ]
    )
    if len(obj) != len(pairs):
        raise InvalidToken("The token has duplicate JSON members")
    return obj


# The keys seen, each kept once. Not sys.intern: on CPython 3.12.0 to 3.12.5 interned
# strings are immortal, and these come from tokens not verified yet. Bounded instead.
_KEYS: dict[str, str] = {}
_KEYS_SIZE: Final = 4096
_KEY_LENGTH: Final = 64
_known = _KEYS.get


def _key(key: str) -> str:
    """``key``, kept for the next tokens when it is short (and the memo not full)."""
    if len(key) <= _KEY_LENGTH:
        if len(_KEYS) >= _KEYS_SIZE:
            _KEYS.clear()
        _KEYS[key] = key
    return key


def _no_constants(name: str) -> Any:
    raise InvalidToken("The token holds a non-finite number")


# Built once: json.loads(..., object_pairs_hook=...) builds a decoder on every call.
_DECODER: Final = json.JSONDecoder(object_pairs_hook=_frozen_object, parse_constant=_no_constants)
# Its scanner, called directly: decode() wraps it in two regex matches for whitespace.
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in a parsed JSON value (a scalar is 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        deepest = max(deepest, level)
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | tuple))
    return deepest


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_marks(raw: bytes) -> bytes:
    """The JSON text's ``{``, ``[``, ``:``, ``,`` and ``"`` alone, in order: a quarter of it.

    The depth limit and the size estimate (``jwtgate.sizes``) count these;
    five counts of the marks cost less than two of the whole text.
    """
    return raw.translate(None, _NOT_MARKS)


def _json_object(raw: bytes, what: str, max_depth: int, marks: bytes | None = None) -> FrozenDict:
    # Counting brackets is cheap and bounds the depth; walk only when it might be exceeded.
    if marks is None:
        brackets = raw.count(b"{") + raw.count(b"[")
    else:
        brackets = marks.count(b"{") + marks.count(b"[")
    value = None
    fast = speedups.parse
    if fast is not None and raw[:1] == b"{":  # else not an object, or rare spacing
        value = speedups.parsed(fast, raw, brackets)
    if value is None:
        value = _parsed_strictly(raw, what)
    if brackets > max_depth and _depth(value) > max_depth:
        raise InvalidToken(f"The token's {what} nests too deeply")
    return value


def _parsed_strictly(raw: bytes, what: str) -> FrozenDict:
    """``raw`` parsed by the standard library's decoder, with every check of its own."""
    try:
        text = raw.decode("utf-8")
        if text[:1] == "{":
            # The usual case, without json.loads's wrappers: an object and nothing after it.
            value, end = _scan(text, 0)
            if end != len(text):
                value = _DECODER.decode(text)  # trailing whitespace, or an error
        else:
            value = _DECODER.decode(text)
    except InvalidToken:
        raise
    except (ValueError, RecursionError, StopIteration):
        # Bad UTF-8, bad JSON, or numbers and nesting too large to parse safely.
        raise InvalidToken(f"The token's {what} is not valid JSON") from None
    if value.__class__ is not FrozenDict:
        raise InvalidToken(f"The token's {what} is not a JSON object")
    # ("\\" first: a one-character search is several times quicker than a two-character one.)
    if "\\" in text and _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        # JSON escapes can spell lone surrogates, which are not Unicode text (RFC 8725 §3.7).
        raise InvalidToken(f"The token's {what} is not valid UTF-8 text")
    return value


def _remember_header(segment: str, raw: bytes, header: FrozenDict) -> None:
    """Keep a flat header (nesting is never needed, so the depth limit can't matter).

    At most ``_HEADERS_SIZE`` of them, the oldest going first, without a lock:
    each step is one dict call, atomic under the GIL.
    """
    if len(segment) <= _HEADER_TEXT_LIMIT and raw.count(b"{") == 1 and b"[" not in raw:
        if len(_HEADERS) >= _HEADERS_SIZE:
            with contextlib.suppress(KeyError):  # emptied by another thread meanwhile
                _HEADERS.popitem(last=False)
        _HEADERS[segment] = header


def _parse_slowly(token: str, max_depth: int) -> tuple[FrozenDict, bytes, bytes, bytes]:
    """The plain algorithm, which also says what is wrong with a token that is not a JWS."""
    match = _COMPACT.fullmatch(token)
    if match is None:
        if _SEGMENT_CHARS.fullmatch(token) and token.count(".") == 4:
            raise InvalidToken("Encrypted tokens (JWE) are not accepted")
        if token.endswith(".") and token.count(".") == 2:
            raise InvalidToken("Unsigned tokens are not accepted")
        raise InvalidToken("The token is malformed")
    header_b64, payload_b64, signature_b64 = match.groups()
    header = _json_object(_b64decode(header_b64), "header", max_depth)
    payload = _b64decode(payload_b64)
    signature = _b64decode(signature_b64)
    return header, payload, token[: match.end(2)].encode("ascii"), signature


#: Where ``parse_header`` left a token, for ``parse_body``: its ASCII bytes, the same
#: translated to standard base64, and the positions of its two dots.
Split = tuple[bytes, bytes, int, int]


def parse_header(token: str, max_depth: int) -> tuple[FrozenDict, Split]:
    """The first half of ``parse_parts``: the header, and where the rest lies.

    Every character of the token is checked (so a token that is not a compact JWS
    is refused here, with what is wrong with it); the payload and the signature
    are decoded by ``parse_body``, so that a token its header already refuses
    (an algorithm not allowed, an unknown ``kid``) is not decoded further.
    """
    # The fast path accepts exactly the tokens _parse_slowly accepts: ASCII, two dots,
    # non-empty header and signature, nothing outside base64url's alphabet (translate
    # deletes any other character: the length then differs), canonical segments (the
    # payload's and the signature's checked by parse_body). Anything else takes the slow
    # path, which says what is wrong.
    try:
        raw = token.encode("ascii")
        first = raw.index(b".")
        second = raw.index(b".", first + 1)
        standard = raw.translate(_TO_STANDARD, _NOT_BASE64URL)
        if (
            first == 0
            or second == len(raw) - 1
            or len(standard) != len(raw)
            or raw.find(b".", second + 1) >= 0
        ):
            raise ValueError("not a compact JWS")
        segment = token[:first]
        header = _HEADERS.get(segment) if max_depth >= 1 else None
        header_raw = b"" if header is not None else _segment(standard[:first], token[first - 1])
    except (ValueError, binascii.Error):  # UnicodeEncodeError is a ValueError
        _parse_slowly(token, max_depth)  # raises, saying what is wrong
        raise InvalidToken("The token is malformed") from None  # pragma: no cover
    if header is None:
        header = _json_object(header_raw, "header", max_depth)
        _remember_header(segment, header_raw, header)
    return header, (raw, standard, first, second)


def parse_body(token: str, split: Split) -> tuple[bytes, bytes, bytes]:
    """The second half of ``parse_parts``: (payload, signing input, signature)."""
    raw, standard, first, second = split
    try:
        payload = _segment(standard[first + 1 : second], token[second - 1])
        signature = _segment(standard[second + 1 :], token[-1])
    except (ValueError, binascii.Error):
        raise InvalidToken("The token is malformed") from None
    return payload, raw[:second], signature


def parse_parts(token: str, max_depth: int) -> tuple[FrozenDict, bytes, bytes, bytes]:
    """``parse_jws`` as a tuple (header, payload, signing input, signature)."""
    header, split = parse_header(token, max_depth)
    return (header, *parse_body(token, split))


def parse_jws(token: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> JWS:
    """Split and decode a compact JWS, strictly; the payload may be any bytes.

    Raises ``InvalidToken`` for anything that is not exactly three canonical
    base64url segments with a JSON-object header and a signature: JWE (five
    segments), detached or unsecured tokens included.
    """
    return JWS(*parse_parts(token, max_depth))


def parse_claims(
    payload: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH, marks: bytes | None = None
) -> FrozenDict:
    """A JWS payload parsed as a JWT claims set: a JSON object, strictly.

    ``marks`` are the payload's ``json_marks``, when the caller has them.
    """
    return _json_object(payload, "payload", max_depth, marks)


def parse(token: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> ParsedToken:
    """``parse_jws``, and the payload parsed as a JSON object: a JWT's claims set."""
    header, payload, signing_input, signature = parse_parts(token, max_depth)
    claims = parse_claims(payload, max_depth=max_depth)
    return ParsedToken(header, payload, signing_input, signature, claims)
