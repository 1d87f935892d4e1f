"""Remote keys: a JWKS URL or OIDC discovery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConfigurationError
from .keys import KeySource

if TYPE_CHECKING:
    from .issuer import Issuer

__all__ = ["remote_key_source"]


def remote_key_source(issuer: Issuer, *, jwks_url: str | None, discovery: bool | str) -> KeySource:
    """The key source for ``jwks_url=`` or ``discovery=``."""
    raise ConfigurationError("jwks_url, discovery: remote key sets are not supported yet")
