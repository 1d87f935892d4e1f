"""Test helpers: mint exactly the token a test needs, with no identity provider and no network.

``TokenFactory`` makes keys, good tokens, the common bad ones, and an
``Issuer`` that trusts its keys. Nothing here is needed at run time.
"""

from __future__ import annotations

from .devkey import DEVELOPMENT_SECRET
from .factory import TokenFactory

__all__ = ["DEVELOPMENT_SECRET", "TokenFactory"]
