"""What the presets share: the explicit opt-out of a check, argument checks, JSON claims."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from ..issuer import ClaimsHook
from ..logs import logger
from ..user import FrozenDict, freeze

__all__ = ["UNCHECKED", "Unchecked", "decode_json_claims"]


class Unchecked(enum.Enum):
    """The type of ``UNCHECKED``."""

    UNCHECKED = "UNCHECKED"

    def __repr__(self) -> str:
        return "UNCHECKED"


#: Pass it where a preset asks for an audience, a client id or authorized
#: parties to accept tokens whatever that value is. ``None`` never means that:
#: an unset environment variable must not turn a check off.
UNCHECKED: Final = Unchecked.UNCHECKED

_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?")


def required_text(option: str, value: object, what: str) -> str:
    """``value`` when it is a non-empty string, else an error naming the preset's argument."""
    if value is None:
        raise ConfigurationError(
            f"{option}: required ({what}); got None — is its environment variable set?"
        )
    if not isinstance(value, str):
        raise ConfigurationError(f"{option}: must be a string ({what})")
    if not value.strip():
        raise ConfigurationError(f"{option}: is empty; give {what}")
    return value


def checked_values(
    option: str, value: object, what: str, *, allow_unchecked: bool = True
) -> tuple[str, ...] | None:
    """One string or a list of them; ``UNCHECKED`` gives ``None`` (not checked).

    ``None`` is refused with a message naming ``UNCHECKED``, so that an unset
    environment variable can never silently turn the check off.
    """
    opt_out = " or jwtgate.presets.UNCHECKED to accept any" if allow_unchecked else ""
    if value is UNCHECKED:
        if not allow_unchecked:
            raise ConfigurationError(f"{option}: required ({what}); it cannot be UNCHECKED")
        return None
    if value is None:
        raise ConfigurationError(
            f"{option}: required ({what}){opt_out}; got None — is its environment variable set?"
        )
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Sequence) or not values:
        raise ConfigurationError(f"{option}: give {what}, as a string or a list{opt_out}")
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigurationError(f"{option}: every value must be a non-empty string ({what})")
    return tuple(values)


def https_url(option: str, value: object, what: str) -> str:
    """An ``https://`` URL without a trailing slash (``http://`` only for a loopback host)."""
    url = required_text(option, value, what).rstrip("/")
    parts = urlsplit(url)
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigurationError(f"{option}: must be an https:// URL ({what})")
    if not parts.hostname or parts.query or parts.fragment or parts.username:
        raise ConfigurationError(f"{option}: must be a plain URL ({what})")
    return url


def host_name(option: str, value: object, what: str) -> str:
    """A host name such as ``example.us.auth0.com`` (an ``https://`` prefix is dropped)."""
    text = required_text(option, value, what).strip()
    if text.startswith("https://"):
        text = text[len("https://") :].rstrip("/")
    if _HOST.fullmatch(text) is None:
        raise ConfigurationError(f"{option}: must be a host name such as {what}")
    return text.lower()


def decode_json_claims(*names: str) -> ClaimsHook:
    """A ``claims_hook`` that decodes the named claims when they hold JSON text.

    The decoded values are read-only (objects become ``FrozenDict``, arrays
    tuples) like every claim. A value that is not valid JSON keeps its text
    and is logged at debug level: the token was valid, so the request is not
    refused for it.
    """

    def hook(claims: Mapping[str, Any]) -> Mapping[str, Any]:
        decoded: dict[str, Any] = {}
        for name in names:
            value = claims.get(name)
            if not isinstance(value, str):
                continue
            try:
                decoded[name] = freeze(json.loads(value))
            except (ValueError, RecursionError):
                logger.debug("jwtgate: the %s claim is not valid JSON; kept as text", name)
        if not decoded:
            return claims
        return FrozenDict({**claims, **decoded})

    return hook


def key_location(default_jwks_url: str, jwks_url: str | None, remote: Any) -> dict[str, Any]:
    """``Issuer`` keyword arguments for a provider's published keys (``jwks_url`` replaces them)."""
    if jwks_url is not None and (not isinstance(jwks_url, str) or not jwks_url):
        raise ConfigurationError("jwks_url: must be a URL, or None for the provider's own")
    return {"jwks_url": jwks_url or default_jwks_url, "remote": remote}
