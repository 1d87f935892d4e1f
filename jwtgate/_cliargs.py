"""Argument checks and messages of the ``jwtgate`` command, in its own vocabulary.

The library's configuration errors name Python parameters (``jwks_url``,
``secret``); a person at a shell typed flags (``--jwks-url``, ``--secret``).
This module turns the one into the other, and checks the values argparse
can check on its own (algorithm and preset names), so that every bad command
line ends in one line on stderr naming the flag to change.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable, Iterable

from .algorithms import SUPPORTED

__all__ = ["algorithm", "choice", "flag_words", "one_of", "unreachable_reason"]

#: Python parameter names, as the command's flags spell them.
FLAGS = {
    "algorithms": "--algorithm",
    "algorithm": "--algorithm",
    "audience": "--audience",
    "discovery": "--discovery",
    "issuer": "--issuer",
    "jwks_url": "--jwks-url",
    "jwt_secret": "--secret",
    "key": "--key",
    "leeway": "--leeway",
    "roles_claim": "--roles-claim",
    "secret": "--secret",
    "verification_key": "--key",
    "app_id": "--audience",
    # jwtgate revoke's store
    "url": "--redis",
    "prefix": "--prefix",
    "max_token_lifetime": "--max-token-lifetime",
}
_NAME = r"[a-z_]+"
_LEADING = re.compile(rf"^(?P<names>{_NAME}(?:, {_NAME})*): ")
_ASSIGNED = re.compile(rf"\b(?P<name>{_NAME})=(?=$|[\s,.;)])")
_GOT = re.compile(rf"\(got (?P<names>{_NAME}(?:, {_NAME})*)\)")


def _flags(names: str) -> str:
    return ", ".join(FLAGS.get(name, name) for name in names.split(", "))


def flag_words(message: str) -> str:
    """``message`` (a ``ConfigurationError``'s) with parameter names spelt as flags.

    Only names in the positions the library uses for them are changed: the
    leading ``"name, name: "`` list, ``"use name="`` and ``"(got name, name)"``,
    so that prose such as "a public key" is left alone.
    """
    message = _LEADING.sub(lambda m: _flags(m["names"]) + ": ", message, count=1)
    message = _GOT.sub(lambda m: f"(got {_flags(m['names'])})", message)
    return _ASSIGNED.sub(lambda m: FLAGS.get(m["name"], m.group(0)), message)


def _suggest(value: str, valid: Iterable[str]) -> str:
    by_case = {name.lower(): name for name in valid}
    close = by_case.get(value.lower()) or next(
        iter(difflib.get_close_matches(value.lower(), list(by_case), n=1)), None
    )
    return f" (did you mean {by_case.get(close, close)}?)" if close else ""


def algorithm(value: str) -> str:
    """An ``--algorithm`` value: exactly one of the names jwtgate supports."""
    if value in SUPPORTED:
        return value
    if value.lower() == "none":
        raise argparse.ArgumentTypeError(
            "'none' is never accepted: jwtgate only deals in signed tokens"
        )
    raise argparse.ArgumentTypeError(
        f"{value!r} is not a supported algorithm{_suggest(value, SUPPORTED)}; "
        f"choose from {', '.join(sorted(SUPPORTED))}"
    )


def choice(what: str, valid: Iterable[str]) -> Callable[[str], str]:
    """An argparse ``type`` accepting one of ``valid``; a typo lists them all."""
    names = sorted(valid)

    def check(value: str) -> str:
        if value in names:
            return value
        raise argparse.ArgumentTypeError(
            f"unknown {what} {value!r}{_suggest(value, names)}; choose from {', '.join(names)}"
        )

    check.__name__ = what
    return check


def one_of(names: list[str], word: str = "or") -> str:
    """``"a"``, ``"a or b"``, ``"a, b or c"`` (``word="and"``: ``"a, b and c"``)."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def unreachable_reason(reason: str | None) -> str:
    """Why an issuer's keys could not be fetched, in plain words."""
    if not reason:
        return "no answer"
    if "ConnectionRefused" in reason:
        return "connection refused"
    if reason.startswith("no complete answer"):
        return f"timed out ({reason})"
    if reason == "the answer is not JSON":
        return "the answer is not a JWK Set (not JSON)"
    return reason
