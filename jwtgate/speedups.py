"""The ``speedups`` extra: jiter, a compiled JSON parser, for a token's first request.

``pip install 'jwtgate[speedups]'`` installs jiter, the JSON parser (in Rust)
of pydantic-core. ``jwtgate.jws`` then parses a token's header and claims
with it first: jiter refuses duplicate member names (however their characters
are escaped), ``NaN`` and ``Infinity``, lone surrogates and bad UTF-8 itself,
in a third of the strict decoder's instructions; freezing what it returns
(objects become ``FrozenDict``, arrays tuples, so that cached claims cannot
change under another request) brings that to 0.7. Whatever jiter refuses,
the strict decoder parses again: the speed changes, the verdicts and messages
do not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

from .logs import logger
from .user import FrozenDict, freeze_json_object

__all__ = ["checked_jiter", "parse", "parsed"]

# What jiter must refuse, as jwtgate.jws's strict decoder does: a duplicate name spelt with an
# escape, a non-finite number, an escaped and an encoded lone surrogate.
_MUST_REFUSE: Final = (
    b'{"a":1,"\\u0061":2}',
    b'{"a":NaN}',
    b'{"a":"\\ud800"}',
    b'{"a":"\xed\xa0\x80"}',
)


def checked_jiter() -> Callable[[bytes], Any] | None:
    """jiter's parser, if it is installed and parses as jwtgate needs; else ``None``.

    Checked once, at import: a jiter older than the ``speedups`` extra asks for
    may lack an option, a later one may change a default. Either way the strict
    decoder alone is used, and a warning says so.
    """
    try:
        import jiter
    except ImportError:
        return None
    # cache_mode="keys": every token's "email", "app_metadata" … one string each, as
    # jwtgate.jws's _frozen_object does for the strict decoder (jiter's cache is fixed in size).
    from_json = functools.partial(
        jiter.from_json, allow_inf_nan=False, catch_duplicate_keys=True, cache_mode="keys"
    )
    try:
        works = from_json(b'{"a":[1,{"b":"c"}]}') == {"a": [1, {"b": "c"}]} and all(
            map(functools.partial(_refuses, from_json), _MUST_REFUSE)
        )
    except Exception:  # whatever an incompatible jiter raises (a TypeError for an option)
        works = False
    if not works:
        logger.warning(
            "jwtgate: jiter %s does not parse JSON as jwtgate needs (pip install 'jiter>=0.8.2'); "
            "the standard library's decoder is used",
            getattr(jiter, "__version__", "(unknown version)"),
        )
        return None
    return from_json


def _refuses(from_json: Callable[[bytes], Any], text: bytes) -> bool:
    try:
        from_json(text)
    except ValueError:
        return True
    return False


#: jiter's parser, checked once at import; ``None`` without the extra (or with a jiter
#: that does not parse as jwtgate needs): the strict decoder alone is used.
parse: Callable[[bytes], Any] | None = checked_jiter()


def parsed(from_json: Callable[[bytes], Any], raw: bytes, brackets: int) -> FrozenDict | None:
    """``raw``, a JSON object, parsed by ``from_json`` (``parse``) and frozen.

    ``None`` where jiter refuses it. jiter refuses duplicate names, ``NaN``
    and ``Infinity``, lone surrogates (escaped or not) and bad UTF-8 itself:
    what it returns needs none of the strict decoder's checks (the depth limit
    is the caller's). ``brackets`` counts the ``{`` and ``[`` in ``raw``.
    """
    try:
        value: dict[str, Any] = from_json(raw)  # an object: the caller saw its "{"
    except ValueError:
        return None
    if brackets == 1:  # nothing nested: no object or array but this one
        return FrozenDict(value)
    return freeze_json_object(value)
