"""Test helpers: mint exactly the token a test needs, with no identity provider and no network.

``TokenFactory`` makes keys, good tokens, the common bad ones, and an
``Issuer`` that trusts its keys. Nothing here is needed at run time. Names
load on first use, like ``jwtgate``'s own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .devkey import DEVELOPMENT_SECRET
    from .factory import TokenFactory

_LOCATIONS = {".devkey": ("DEVELOPMENT_SECRET",), ".factory": ("TokenFactory",)}

__all__ = ["DEVELOPMENT_SECRET", "TokenFactory"]


__getattr__ = lazy_names(__name__, globals(), _LOCATIONS)


def __dir__() -> list[str]:
    return sorted(__all__)
