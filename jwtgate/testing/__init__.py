"""Test helpers: mint exactly the token a test needs, with no identity provider and no network.

``TokenFactory`` makes keys, good tokens, the common bad ones, and an
``Issuer`` that trusts its keys. Nothing here is needed at run time. Names
load on first use, like ``jwtgate``'s own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .devkey import DEVELOPMENT_SECRET
    from .factory import TokenFactory

_MODULE_OF = {"DEVELOPMENT_SECRET": ".devkey", "TokenFactory": ".factory"}

__all__ = ["DEVELOPMENT_SECRET", "TokenFactory"]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'jwtgate.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
