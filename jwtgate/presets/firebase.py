"""Firebase Authentication ID tokens, with the checks of ``firebase-admin``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..issuer import Issuer
from ..sources import Source
from ..user import RolesClaim
from ._common import key_location, required_text

if TYPE_CHECKING:
    from ..remote import RemoteOptions

__all__ = ["FIREBASE_CERTIFICATES_URL", "FIREBASE_ISSUER", "FIREBASE_JWKS_URL", "firebase"]

#: ``iss`` of a project's ID tokens: this prefix and the project id.
FIREBASE_ISSUER = "https://securetoken.google.com/"
#: Google's keys for Firebase ID tokens as ``{kid: X.509 certificate}`` (what firebase-admin reads).
FIREBASE_CERTIFICATES_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
#: The same keys as a JWK Set.
FIREBASE_JWKS_URL = (
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com"
)
_PROJECT_ID = re.compile(r"[a-z0-9][a-z0-9.:-]{0,99}")


def _firebase_uid(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 128


def firebase(
    project_id: str,
    *,
    roles_claim: RolesClaim = "roles",
    jwks_url: str | None = None,
    remote: RemoteOptions | None = None,
    sources: Sequence[str | Source] | None = None,
) -> Issuer:
    """ID tokens of one Firebase project, checked as ``firebase-admin``'s ``verify_id_token``.

    RS256 with a ``kid``; ``aud`` exactly the project id and ``iss``
    ``https://securetoken.google.com/{project_id}``; ``exp`` and ``iat``
    required; ``sub`` (the uid) a string of 1 to 128 characters;
    ``auth_time``, when present, not in the future (Firebase's documented
    rule). No clock leeway, as the SDK's default. The keys are Google's
    certificate map (``FIREBASE_CERTIFICATES_URL``); ``jwks_url`` may name
    that map or a JWK Set (``FIREBASE_JWKS_URL``), both are read. Roles come
    from the custom claim ``roles`` (``auth.set_custom_user_claims(uid,
    {"roles": [...]})``).
    """
    project = required_text("project_id", project_id, "the Firebase project id")
    if _PROJECT_ID.fullmatch(project) is None:
        raise ConfigurationError("project_id: must be the project id, e.g. my-app-1a2b3")
    return Issuer(
        FIREBASE_ISSUER + project,
        algorithms=["RS256"],
        require_kid=True,
        required_claims=("exp", "iat", "sub"),
        # Exactly the project id: one string, as firebase-admin compares it.
        expected_claims={"aud": project, "sub": _firebase_uid},
        past_claims=("auth_time",),
        roles_claim=roles_claim,
        name=f"firebase:{project}",
        sources=sources,
        metadata={"project_id": project},
        **key_location(FIREBASE_CERTIFICATES_URL, jwks_url, remote),
    )
