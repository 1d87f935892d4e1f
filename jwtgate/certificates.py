"""Google's other key format: a JSON object mapping each ``kid`` to a PEM X.509 certificate.

Firebase documents its token keys at a URL that answers such a map
(``https://www.googleapis.com/robot/v1/metadata/x509/securetoken@…``) rather
than a JWK Set. ``certificate_map`` turns one into JWK members, so that they
go through exactly the checks of any published key (``jwks.read_key_set``).
A certificate is only a carrier for its public key here: Google's own
verifier (google-auth) checks neither its dates nor its chain, and neither
does jwtgate; the trust comes from the URL, as with a JWK Set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

__all__ = ["certificate_map"]

_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


def _to_jwk(public_key: Any) -> dict[str, Any] | None:
    if isinstance(public_key, rsa.RSAPublicKey):
        return RSAAlgorithm.to_jwk(public_key, as_dict=True)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return ECAlgorithm.to_jwk(public_key, as_dict=True)
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return OKPAlgorithm.to_jwk(public_key, as_dict=True)
    return None


def certificate_map(document: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]] | None:
    """The JWK members of a ``{kid: PEM certificate}`` map and the kids that could not be read.

    ``None`` when ``document`` is not such a map (empty, or a value that is
    not a PEM certificate).
    """
    if not document or not all(
        isinstance(kid, str) and isinstance(pem, str) and pem.lstrip().startswith(_PEM_CERTIFICATE)
        for kid, pem in document.items()
    ):
        return None
    members: list[dict[str, Any]] = []
    unreadable: list[str] = []
    for kid, pem in document.items():
        try:
            jwk = _to_jwk(x509.load_pem_x509_certificate(pem.encode()).public_key())
        except (ValueError, TypeError):
            jwk = None
        if jwk is None:
            unreadable.append(kid)
        else:
            members.append({**jwk, "kid": kid})
    return members, unreadable
