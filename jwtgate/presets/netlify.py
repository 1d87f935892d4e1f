"""Netlify Identity (GoTrue) access tokens."""

from __future__ import annotations

from ..errors import ConfigurationError, RenamedParameters
from ..issuer import Issuer
from ._common import required_text

__all__ = ["NETLIFY_ROLES_CLAIMS", "netlify"]

#: Netlify keeps roles in ``app_metadata.roles``; its role-based redirects read
#: ``app_metadata.authorization.roles``. A user's roles are the union of both.
NETLIFY_ROLES_CLAIMS = ("app_metadata.roles", "app_metadata.authorization.roles")


def netlify(*, jwt_secret: str | bytes | None, identity_url: str | None = None) -> Issuer:
    """Netlify Identity (GoTrue) access tokens, as the ``nf_jwt`` cookie or a Bearer header.

    GoTrue signs HS256 with the site's JWT secret (Site settings → Identity),
    sets ``kid`` "nf-ident" and no ``iss`` or ``iat``, and may send an empty
    ``aud``; so ``iss`` and ``aud`` are not checked and ``exp`` and ``sub`` are
    required. The issuer has no ``iss`` of its own: beside other issuers it
    takes the tokens that carry none. ``identity_url``
    (``https://<site>/.netlify/identity``) is kept in ``issuer.metadata`` for
    code that needs to call GoTrue back.
    """
    what = "the site's Identity JWT secret, from Netlify's Site settings → Identity"
    if not isinstance(jwt_secret, bytes):
        jwt_secret = required_text("jwt_secret", jwt_secret, what)
    elif not jwt_secret:
        raise ConfigurationError(f"jwt_secret: is empty; give {what}")
    # The issuer speaks of secret=; the preset's caller passed jwt_secret=.
    with RenamedParameters({"secret": "jwt_secret"}):
        return Issuer(
            None,
            algorithms=["HS256"],
            secret=jwt_secret,
            roles_claim=NETLIFY_ROLES_CLAIMS,
            required_claims=("exp", "sub"),
            name="netlify",
            sources=("cookie:nf_jwt", "bearer"),
            metadata={"identity_url": identity_url} if identity_url else None,
        )
