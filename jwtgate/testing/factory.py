"""``TokenFactory``: keys, tokens and a trusting ``Issuer`` for tests."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, get_default_algorithms

from ..algorithms import HMAC_MIN_BYTES, SUPPORTED, family_of
from ..errors import ConfigurationError
from ..issuer import Issuer

if TYPE_CHECKING:
    from .jwks_server import JWKSServer

__all__ = ["PROVIDERS", "TokenFactory", "generate_key"]

_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}
#: The providers whose tokens the factory mints in their shape (a class method each).
PROVIDERS = ("netlify", "privy", "auth0", "cognito", "keycloak", "firebase", "supabase", "clerk")
_SHAPES = ("generic", *PROVIDERS)
_KEY_OPTIONS = frozenset({"secret", "key", "jwks_url", "discovery"})


def generate_key(algorithm: str) -> Any:
    """A fresh signing key for ``algorithm``: bytes for HS*, a private key object otherwise."""
    family = family_of(algorithm)
    if family == "HMAC":
        while True:
            secret = secrets.token_bytes(HMAC_MIN_BYTES[algorithm])
            # About one random secret in 256 starts with "{" (after whitespace), which
            # load_secret rightly refuses as a JWK: draw again rather than fail a test.
            if not secret.lstrip().startswith((b"{", b"-----BEGIN", b"ssh-", b"ecdsa-sha2-")):
                return secret
    if family == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if family == "EC":
        return ec.generate_private_key(_CURVES[algorithm])
    return ed25519.Ed25519PrivateKey.generate()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _set_path(claims: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    target = claims
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


class TokenFactory:
    """Mints tokens that ``issuer_config()`` accepts, and the bad tokens a test wants refused.

    ``key`` signs instead of a freshly generated key (an HMAC secret for HS*,
    a private key object otherwise).

    >>> tokens = TokenFactory(algorithm="ES256")
    >>> gate = Gate(issuers=[tokens.issuer_config()])
    >>> gate.authenticate(headers=tokens.headers(sub="u1", roles=["admin"]))
    """

    def __init__(
        self,
        algorithm: str = "RS256",
        issuer: str | None = "https://issuer.test/",
        audience: str | None = "api",
        roles_claim: str = "roles",
        clock: Callable[[], float] | None = None,
        *,
        key: Any = None,
        kid: str | None = None,
        _shape: str = "generic",
        _params: Mapping[str, Any] | None = None,
    ) -> None:
        if algorithm not in SUPPORTED:
            raise ConfigurationError(f"algorithm: {algorithm!r} is not supported")
        if _shape not in _SHAPES:  # pragma: no cover - internal
            raise ValueError(_shape)
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.roles_claim = roles_claim
        self.clock = clock or time.time
        self.kid = kid if kid is not None else secrets.token_hex(4)
        if isinstance(key, str):
            key = key.encode()
        self.signing_key = key if key is not None else generate_key(algorithm)
        self._shape = _shape
        self._params: Mapping[str, Any] = dict(_params or {})

    # --- provider shapes -----------------------------------------------------------

    @classmethod
    def netlify(
        cls, *, secret: str | bytes | None = None, clock: Callable[[], float] | None = None
    ) -> TokenFactory:
        """Netlify Identity (GoTrue) tokens: HS256, kid "nf-ident", no iss or iat, roles in
        ``app_metadata.roles``, signed with ``secret`` (default: a fresh random one).
        ``issuer_config()`` is the netlify preset."""
        return cls(
            "HS256",
            issuer=None,
            audience=None,
            roles_claim="app_metadata.roles",
            clock=clock,
            key=secret,
            kid="nf-ident",
            _shape="netlify",
        )

    @classmethod
    def privy(
        cls,
        *,
        app_id: str = "test-app",
        token: str = "identity",
        clock: Callable[[], float] | None = None,
    ) -> TokenFactory:
        """Privy tokens: ES256, iss "privy.io", aud the app id. Identity tokens (the
        default) carry ``custom_metadata``/``linked_accounts`` as JSON strings (roles go
        in ``custom_metadata.roles``); ``token="access"`` ones a session id ``sid``."""
        if token not in ("identity", "access"):
            raise ConfigurationError('token: "identity" or "access"')
        return cls(
            "ES256",
            issuer="privy.io",
            audience=app_id,
            clock=clock,
            _shape="privy",
            _params={"token": token},
        )

    @classmethod
    def auth0(
        cls,
        domain: str = "example.us.auth0.com",
        *,
        audience: str = "https://api.example.com",
        client_id: str = "Xk3QwRtY8uIo1pAsDfGh2jKlZx9cVbNm",
        clock: Callable[[], float] | None = None,
    ) -> TokenFactory:
        """Auth0 access tokens for an API: RS256, ``iss`` ``https://{domain}/``, ``aud``
        the API and the userinfo URL, ``azp`` the client; roles go in ``permissions``.
        ``issuer_config(jwks_url=...)`` is the auth0 preset."""
        return cls(
            "RS256",
            issuer=f"https://{domain}/",
            audience=audience,
            roles_claim="permissions",
            clock=clock,
            _shape="auth0",
            _params={"domain": domain, "audience": audience, "client_id": client_id},
        )

    @classmethod
    def cognito(
        cls,
        region: str = "eu-west-1",
        user_pool_id: str = "eu-west-1_Example01",
        *,
        client_id: str = "4example1client2id3abc",
        token_use: str = "access",
        clock: Callable[[], float] | None = None,
    ) -> TokenFactory:
        """Cognito user pool tokens: RS256 without ``typ``; access tokens carry
        ``client_id`` and no ``aud``, ID tokens (``token_use="id"``) ``aud``; roles go
        in ``cognito:groups``. ``issuer_config(jwks_url=...)`` is the cognito preset."""
        return cls(
            "RS256",
            issuer=f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
            audience=client_id if token_use == "id" else None,
            roles_claim="cognito:groups",
            clock=clock,
            _shape="cognito",
            _params={
                "region": region,
                "user_pool_id": user_pool_id,
                "client_id": client_id,
                "token_use": token_use,
            },
        )

    @classmethod
    def keycloak(
        cls,
        realm_url: str = "https://sso.example.com/realms/example",
        *,
        client_id: str = "example-api",
        azp: str = "example-app",
        clock: Callable[[], float] | None = None,
    ) -> TokenFactory:
        """Keycloak access tokens (payload ``typ`` "Bearer") whose ``aud`` holds
        ``client_id`` (an audience mapper); roles go in
        ``resource_access[client_id].roles``. ``issuer_config(jwks_url=...)`` is the
        keycloak preset."""
        return cls(
            "RS256",
            issuer=realm_url,
            audience=client_id,
            clock=clock,
            _shape="keycloak",
            _params={"realm_url": realm_url, "client_id": client_id, "azp": azp},
        )

    @classmethod
    def firebase(
        cls, project_id: str = "example-project", *, clock: Callable[[], float] | None = None
    ) -> TokenFactory:
        """Firebase ID tokens: RS256, ``iss`` ``https://securetoken.google.com/{project}``,
        ``aud`` the project, ``auth_time`` and ``user_id``; roles go in the custom claim
        ``roles``. ``issuer_config(jwks_url=...)`` is the firebase preset."""
        return cls(
            "RS256",
            issuer=f"https://securetoken.google.com/{project_id}",
            audience=project_id,
            clock=clock,
            _shape="firebase",
            _params={"project_id": project_id},
        )

    @classmethod
    def supabase(
        cls,
        project_url: str = "https://example.supabase.co",
        *,
        algorithm: str = "ES256",
        clock: Callable[[], float] | None = None,
    ) -> TokenFactory:
        """Supabase Auth access tokens: ES256 (a project's default signing key; HS256
        with ``key=`` the legacy JWT secret), ``iss`` ``{project_url}/auth/v1``, ``aud``
        "authenticated"; roles go in ``app_metadata.roles``.
        ``issuer_config(jwks_url=...)`` is the supabase preset."""
        return cls(
            algorithm,
            issuer=f"{project_url.rstrip('/')}/auth/v1",
            audience="authenticated",
            roles_claim="app_metadata.roles",
            clock=clock,
            _shape="supabase",
            _params={"project_url": project_url},
        )

    @classmethod
    def clerk(
        cls,
        issuer_url: str = "https://clerk.example.com",
        *,
        azp: str = "https://example.com",
        clock: Callable[[], float] | None = None,
    ) -> TokenFactory:
        """Clerk session tokens (v2): RS256, ``iss`` the Frontend API URL, ``azp`` the
        app's origin, no ``aud``; ``roles=["org:admin"]`` becomes the organization role
        ``o.rol``. ``issuer_config(jwks_url=...)`` is the clerk preset."""
        return cls(
            "RS256",
            issuer=issuer_url,
            audience=None,
            clock=clock,
            _shape="clerk",
            _params={"issuer_url": issuer_url, "azp": azp},
        )

    # --- keys ----------------------------------------------------------------------

    @property
    def secret(self) -> bytes:
        """The HMAC secret (HS* factories only)."""
        if not isinstance(self.signing_key, bytes):
            raise ConfigurationError("secret: this factory signs with a private key")
        return self.signing_key

    @property
    def public_key(self) -> Any:
        """The verification key object (asymmetric factories only)."""
        if isinstance(self.signing_key, bytes):
            raise ConfigurationError("public_key: this factory signs with an HMAC secret")
        return self.signing_key.public_key()

    def public_pem(self) -> str:
        """The verification key as PEM (asymmetric factories only)."""
        from cryptography.hazmat.primitives import serialization

        pem: bytes = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode()

    def public_jwk(self) -> dict[str, Any]:
        """The verification key as a public JWK with ``kid``, ``alg`` and ``use``."""
        family = family_of(self.algorithm)
        loader: Any = {"RSA": RSAAlgorithm, "EC": ECAlgorithm, "OKP": OKPAlgorithm}.get(family)
        if loader is None:
            raise ConfigurationError("jwks: an HMAC secret must never be published")
        jwk: dict[str, Any] = loader.to_jwk(self.public_key, as_dict=True)
        jwk.update(kid=self.kid, alg=self.algorithm, use="sig")
        return jwk

    def jwks(self) -> dict[str, Any]:
        """A JWKS holding the verification key, as an issuer would publish it."""
        return {"keys": [self.public_jwk()]}

    def certificate_map(self) -> dict[str, str]:
        """``{kid: PEM certificate}``: the key as Google publishes Firebase's (self-signed).

        Asymmetric factories only."""
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        if isinstance(self.signing_key, bytes):
            raise ConfigurationError("certificate_map: an HMAC secret has no certificate")
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwtgate test key")])
        start = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start - datetime.timedelta(days=1))
            .not_valid_after(start + datetime.timedelta(days=7))
            # Ed25519 signs without a separate hash.
            .sign(self.signing_key, None if self.algorithm == "EdDSA" else hashes.SHA256())
        )
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        return {self.kid: pem}

    def issuer_config(self, **overrides: Any) -> Issuer:
        """An ``Issuer`` that trusts this factory's key, with no network."""
        if self._shape != "generic":
            from .shapes import preset

            return preset(self, overrides)
        options: dict[str, Any] = {
            "algorithms": [self.algorithm],
            "audience": self.audience,
            "roles_claim": self.roles_claim,
        }
        if not _KEY_OPTIONS.intersection(overrides):
            if isinstance(self.signing_key, bytes):
                options["secret"] = self.signing_key
            else:
                options["key"] = self.public_key
        options.update(overrides)
        return Issuer(self.issuer, **options)

    @contextlib.contextmanager
    def serve_jwks(self, *, issuer: str | None = None) -> Iterator[JWKSServer]:
        """A real JWKS server on 127.0.0.1 publishing this factory's key, for the ``with`` block.

        Pass ``jwks_url=server.url`` (or ``discovery=server.discovery_url``) to
        ``issuer_config``. The discovery document names ``issuer`` (default:
        the factory's). See ``JWKSServer`` for rotation, outages and delays.
        """
        from .jwks_server import JWKSServer

        with JWKSServer(self, issuer=issuer) as server:
            yield server

    # --- tokens --------------------------------------------------------------------

    def claims(
        self,
        *,
        sub: str | None = "user-1",
        roles: list[str] | None = None,
        expires_in: float | None = 3600,
        not_before: float | None = None,
        **claims: Any,
    ) -> dict[str, Any]:
        """The payload ``token()`` would sign. ``not_before`` is seconds from now."""
        now = int(self.clock())
        payload: dict[str, Any] = {}
        if self._shape != "netlify":
            payload["iat"] = now
            if self.issuer is not None:
                payload["iss"] = self.issuer
            if self.audience is not None:
                payload["aud"] = self.audience
        if sub is not None:
            payload["sub"] = sub
        if expires_in is not None:
            payload["exp"] = now + int(expires_in)
        if not_before is not None:
            payload["nbf"] = now + int(not_before)
        placed = False
        if self._shape != "generic":
            from .shapes import fill_claims

            placed = fill_claims(self, payload, None if roles is None else list(roles), claims)
        if roles is not None and not placed:
            _set_path(payload, self.roles_claim, list(roles))
        payload.update(claims)
        return payload

    def token(
        self,
        sub: str | None = "user-1",
        roles: list[str] | None = None,
        expires_in: float | None = 3600,
        not_before: float | None = None,
        headers: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A compact JWT that ``issuer_config()`` accepts (unless the arguments say otherwise)."""
        payload = self.claims(
            sub=sub, roles=roles, expires_in=expires_in, not_before=not_before, **claims
        )
        return self.sign(payload, headers=headers)

    def sign(
        self,
        payload: Mapping[str, Any],
        *,
        headers: Mapping[str, Any] | None = None,
        key: Any = None,
    ) -> str:
        """Sign any payload, however wrong, with this factory's key (or ``key``) and ``kid``.

        ``headers`` are merged into the JOSE header; a member given as ``None``
        is left out (``headers={"kid": None}``: a token without ``kid``).
        """
        # Encoded here rather than with jwt.encode, which refuses the odd headers and
        # claims (a numeric kid, a list as iss …) that tests need to send.
        from .shapes import header_for

        header = {"alg": self.algorithm, **header_for(self._shape), "kid": self.kid}
        header.update(headers or {})
        header = {name: value for name, value in header.items() if value is not None}
        signing_input = f"{_b64(_json(header))}.{_b64(_json(dict(payload)))}"
        signature = get_default_algorithms()[self.algorithm].sign(
            signing_input.encode(), key if key is not None else self.signing_key
        )
        return f"{signing_input}.{_b64(signature)}"

    # --- bad tokens ----------------------------------------------------------------

    def expired(self, **kwargs: Any) -> str:
        """A token whose ``exp`` passed an hour ago (beyond any allowed leeway)."""
        kwargs["expires_in"] = -3600
        return self.token(**kwargs)

    def not_yet_valid(self, **kwargs: Any) -> str:
        """A token whose ``nbf`` is an hour ahead."""
        kwargs["not_before"] = 3600
        return self.token(**kwargs)

    def wrong_signature(self, **kwargs: Any) -> str:
        """A token signed by another key of the same algorithm, with the same ``kid``."""
        headers = kwargs.pop("headers", None)
        return self.sign(self.claims(**kwargs), headers=headers, key=generate_key(self.algorithm))

    def wrong_audience(self, **kwargs: Any) -> str:
        """A token for another audience."""
        kwargs["aud"] = "another-audience"
        return self.token(**kwargs)

    def wrong_issuer(self, **kwargs: Any) -> str:
        """A token that names another issuer."""
        kwargs["iss"] = "https://another-issuer.test/"
        return self.token(**kwargs)

    def alg_none(self, **kwargs: Any) -> str:
        """An unsecured token (``alg: none``, empty signature)."""
        headers = {"alg": "none", "typ": "JWT", **kwargs.pop("headers", {})}
        payload = self.claims(**kwargs)
        return f"{_b64(_json(headers))}.{_b64(_json(payload))}."

    def tampered(self, **kwargs: Any) -> str:
        """A good token whose payload was changed after signing (roles raised to admin)."""
        headers = kwargs.pop("headers", None)
        payload = self.claims(**kwargs)
        token = self.sign(payload, headers=headers)
        header_b64, _, signature = token.split(".")
        forged = dict(payload, sub="admin")
        _set_path(forged, self.roles_claim, ["admin"])
        return f"{header_b64}.{_b64(_json(forged))}.{signature}"

    # --- request shapes ------------------------------------------------------------

    def headers(self, **kwargs: Any) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for ``token(**kwargs)``."""
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}

    def cookies(self, name: str, **kwargs: Any) -> dict[str, str]:
        """``{name: <token>}`` for ``token(**kwargs)``."""
        return {name: self.token(**kwargs)}

    def __repr__(self) -> str:
        return f"TokenFactory({self.algorithm!r}, issuer={self.issuer!r}, kid={self.kid!r})"
