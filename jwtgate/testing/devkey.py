"""The development key the examples and ``jwtgate demo`` run on out of the box.

Public by design: anyone can mint tokens with it. It exists so that the
examples work with no identity provider; never configure it in production.
"""

from __future__ import annotations

__all__ = ["DEVELOPMENT_SECRET"]

#: An HS256 secret (Netlify Identity's token shape), 32+ bytes as HS256 requires.
DEVELOPMENT_SECRET = "jwtgate-development-secret-never-use-in-production"
