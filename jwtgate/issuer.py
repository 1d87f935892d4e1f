"""One trusted issuer's rules: its keys, algorithms, audience and claim checks.

Everything is validated when the ``Issuer`` is built, so a configuration that
could not be safe (``none``, a short HMAC secret, a public key offered as an
HMAC secret, an RSA key under 2048 bits …) fails at start-up, not at the
first request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .algorithms import SUPPORTED, family_of, verifier
from .errors import (
    ConfigurationError,
    ExpiredToken,
    ImmatureToken,
    InvalidClaims,
    InvalidSignature,
    InvalidToken,
)
from .jws import JWS
from .keys import (
    MAX_CANDIDATES,
    KeySource,
    StaticKeys,
    VerificationKey,
    load_keys,
    load_secret,
)
from .logs import logger
from .sources import Source, parse_source
from .user import RolesClaim, User, roles_from_claims

if TYPE_CHECKING:
    from .remote import RemoteOptions

__all__ = ["ClaimsHook", "Issuer"]

#: Turns verified claims into the claims the ``User`` shows (e.g. decodes JSON strings).
ClaimsHook = Callable[[Mapping[str, Any]], Mapping[str, Any]]

#: RFC 7519 §4.1.4 wants leeway of "a few minutes" at most.
MAX_LEEWAY = 300
#: 9999-12-31T23:59:59Z: a NumericDate past this is nonsense and breaks ``datetime``.
MAX_NUMERIC_DATE = 253_402_300_799
MAX_KID_LENGTH = 256
_TIME_CLAIMS = ("exp", "nbf", "iat")
# Header members that change how a JWS must be processed. jwtgate implements
# none of these extensions, so a token that needs one is refused.
_UNSUPPORTED_HEADER = {
    "crit": "The token requires an unsupported critical extension",
    "b64": "Unencoded payloads are not accepted",
    "zip": "Compressed tokens are not accepted",
    "enc": "Encrypted tokens (JWE) are not accepted",
}


def _normalize_type(value: str) -> str:
    value = value.lower()
    return value[len("application/") :] if value.startswith("application/") else value


class Issuer:
    """The rules for trusting tokens from one issuer.

    ``issuer`` is the exact ``iss`` expected (``None``: not checked, only
    allowed when it is a gate's sole issuer). ``algorithms`` is required and
    never read from the token. Exactly one of ``secret``, ``key``,
    ``jwks_url`` or ``discovery`` says where the keys come from; ``remote``
    (a ``jwtgate.remote.RemoteOptions``) tunes how remote keys are fetched.
    ``claims_hook(claims) -> claims`` runs on verified claims only and gives
    the claims (and roles) the ``User`` gets, e.g. JSON strings decoded.
    ``max_keys_tried`` (1 to 8, default 8) caps the signature checks one token
    may cost when its ``kid`` does not single out a key.
    """

    def __init__(
        self,
        issuer: str | None = None,
        *,
        algorithms: Sequence[str],
        audience: str | Sequence[str] | None = None,
        secret: str | bytes | None = None,
        key: Any = None,
        jwks_url: str | None = None,
        discovery: bool | str = False,
        roles_claim: RolesClaim = "roles",
        leeway: float = 0,
        required_claims: Iterable[str] = ("exp",),
        token_type: str | None = None,
        name: str | None = None,
        sources: Sequence[str | Source] | None = None,
        metadata: Mapping[str, Any] | None = None,
        remote: RemoteOptions | None = None,
        claims_hook: ClaimsHook | None = None,
        max_keys_tried: int = MAX_CANDIDATES,
    ) -> None:
        if issuer is not None and (not isinstance(issuer, str) or not issuer):
            raise ConfigurationError("issuer: must be a non-empty string or None")
        self.issuer = issuer
        self.algorithms = _check_algorithms(algorithms)
        self.audience = _check_audience(audience)
        self.roles_claim = _check_roles_claim(roles_claim)
        if isinstance(leeway, bool) or not isinstance(leeway, int | float):
            raise ConfigurationError("leeway: must be a number of seconds")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ConfigurationError(f"leeway: must be between 0 and {MAX_LEEWAY} seconds")
        self.leeway = leeway
        if isinstance(required_claims, str):
            raise ConfigurationError("required_claims: must be a list of claim names")
        self.required_claims = tuple(required_claims)
        if not all(isinstance(c, str) and c for c in self.required_claims):
            raise ConfigurationError("required_claims: must be a list of claim names")
        if token_type is not None and (not isinstance(token_type, str) or not token_type):
            raise ConfigurationError('token_type: must be a media type such as "at+jwt", or None')
        self.token_type = token_type
        self._expected_type = None if token_type is None else _normalize_type(token_type)
        self.name = name or issuer or "default"
        self.sources: tuple[Source, ...] | None = (
            None if sources is None else tuple(parse_source(s) for s in sources)
        )
        self.metadata: Mapping[str, Any] = dict(metadata or {})
        if claims_hook is not None and not callable(claims_hook):
            raise ConfigurationError("claims_hook: must be a callable taking and returning claims")
        self.claims_hook = claims_hook
        if (
            isinstance(max_keys_tried, bool)
            or not isinstance(max_keys_tried, int)
            or not 1 <= max_keys_tried <= MAX_CANDIDATES
        ):
            raise ConfigurationError(
                f"max_keys_tried: must be a whole number in [1, {MAX_CANDIDATES}]"
            )
        self.max_keys_tried = max_keys_tried
        if remote is not None and jwks_url is None and discovery is False:
            raise ConfigurationError("remote: only goes with jwks_url= or discovery=")
        self.keys = self._key_source(secret, key, jwks_url, discovery, remote)
        self.keys.check_algorithms(self.algorithms)

    def _key_source(
        self,
        secret: str | bytes | None,
        key: Any,
        jwks_url: str | None,
        discovery: bool | str,
        remote: RemoteOptions | None,
    ) -> KeySource:
        given = [
            name
            for name, value in (
                ("secret", secret),
                ("key", key),
                ("jwks_url", jwks_url),
                ("discovery", discovery),
            )
            if value is not None and value is not False
        ]
        if len(given) != 1:
            raise ConfigurationError(
                "secret, key, jwks_url, discovery: give exactly one key source"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if isinstance(key, KeySource):
            return key
        if secret is not None:
            return StaticKeys([load_secret(secret, self.algorithms)])
        if key is not None:
            if any(family_of(a) == "HMAC" for a in self.algorithms) and not isinstance(key, dict):
                raise ConfigurationError("key: HS* algorithms take an HMAC secret: use secret=")
            return StaticKeys(load_keys(key, self.algorithms))
        from .remote import remote_key_source

        return remote_key_source(self, jwks_url=jwks_url, discovery=discovery, options=remote)

    # --- per token -------------------------------------------------------------

    def check_header(self, header: Mapping[str, Any]) -> tuple[str, str | None]:
        """The token's ``alg`` and ``kid``, once the header is known to be acceptable."""
        for member, message in _UNSUPPORTED_HEADER.items():
            if member in header:
                raise InvalidToken(message)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidToken("The token's algorithm is not allowed")
        kid = header.get("kid")
        # RFC 7515 §4.1.4: a kid is a string; "kid": null is not "no kid".
        if (kid is not None or "kid" in header) and (
            not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH
        ):
            raise InvalidToken("The token's key id is invalid")
        cty = header.get("cty")
        if cty is not None and (not isinstance(cty, str) or _normalize_type(cty) == "jwt"):
            raise InvalidToken("Nested tokens are not accepted")
        if self._expected_type is not None:
            typ = header.get("typ")
            if not isinstance(typ, str) or _normalize_type(typ) != self._expected_type:
                raise InvalidToken("The token's type is not accepted")
        return alg, kid

    def verify_signature(
        self, parsed: JWS, alg: str, candidates: Sequence[VerificationKey]
    ) -> None:
        """Check the signature against ``candidates``, the issuer's keys for the token."""
        if not candidates:
            raise InvalidSignature("No key of the issuer matches the token")
        algorithm = verifier(alg)
        # A token without a kid is tried against each compatible key: bounded, so a
        # forged token costs at most max_keys_tried signature checks.
        for candidate in candidates[: self.max_keys_tried]:
            if algorithm.verify(parsed.signing_input, candidate.key, parsed.signature):
                return
        raise InvalidSignature()

    def check_claims(self, claims: Mapping[str, Any], now: float) -> None:
        """Required claims, the NumericDates against ``now``, ``iss`` and ``aud``."""
        for claim in self.required_claims:
            if claim not in claims:
                raise InvalidClaims(f"The token lacks the {claim} claim")
        for claim in _TIME_CLAIMS:
            value = claims.get(claim)
            if value is None and claim not in claims:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                # Also refuses NaN and infinities, and never converts a huge int to float.
                or not 0 <= value <= MAX_NUMERIC_DATE
            ):
                raise InvalidClaims(f"The token's {claim} claim is not a valid date")
        leeway = self.leeway
        exp = claims.get("exp")
        if exp is not None and exp <= now - leeway:
            raise ExpiredToken()
        nbf = claims.get("nbf")
        if nbf is not None and nbf > now + leeway:
            raise ImmatureToken()
        iat = claims.get("iat")
        if iat is not None and iat > now + leeway:
            raise ImmatureToken("The token was issued in the future")
        if self.issuer is not None and claims.get("iss") != self.issuer:
            raise InvalidClaims("The token's issuer does not match")
        if self.audience is not None:
            self._check_audience(claims.get("aud"))
        sub = claims.get("sub")
        if sub is not None and not isinstance(sub, str):
            raise InvalidClaims("The token's sub claim is not a string")

    def _check_audience(self, aud: Any) -> None:
        expected = self.audience or frozenset()
        if isinstance(aud, str):
            ok = aud in expected
        elif isinstance(aud, tuple | list):
            ok = all(isinstance(a, str) for a in aud) and not expected.isdisjoint(aud)
        else:
            ok = False
        if not ok:
            raise InvalidClaims("The token is not meant for this audience")

    def make_user(self, claims: Mapping[str, Any], token: str, source: str) -> User:
        """The ``User`` for verified claims (as ``claims_hook`` presents them)."""
        if self.claims_hook is not None:
            try:
                claims = self.claims_hook(claims)
            except Exception as exc:
                # A hook that trips over hostile claims must not become a 500. Its
                # exception's text and traceback quote claim values (int("<claim>")),
                # so only its type is logged.
                logger.error(
                    "jwtgate: the claims_hook of issuer %r failed with %s",
                    self.name,
                    type(exc).__name__,
                )
                raise InvalidClaims("The token's claims could not be read") from None
        sub = claims.get("sub")
        iss = claims.get("iss")
        return User(
            subject=sub,
            claims=claims,
            roles=roles_from_claims(claims, self.roles_claim),
            issuer=iss if isinstance(iss, str) else self.issuer,
            token=token,
            source=source,
            expires_at=claims.get("exp"),
        )

    def __repr__(self) -> str:
        return (
            f"Issuer({self.issuer!r}, algorithms={sorted(self.algorithms)!r}, name={self.name!r})"
        )


def _check_algorithms(algorithms: Sequence[str]) -> frozenset[str]:
    if isinstance(algorithms, str) or not isinstance(algorithms, Iterable):
        raise ConfigurationError('algorithms: must be a list, e.g. ["RS256"]')
    algs = list(algorithms)
    if not algs:
        raise ConfigurationError("algorithms: give at least one algorithm")
    for alg in algs:
        if not isinstance(alg, str) or alg not in SUPPORTED:
            raise ConfigurationError(
                f"algorithms: {alg!r} is not supported; choose from {sorted(SUPPORTED)}"
            )
    families = {family_of(a) for a in algs}
    if "HMAC" in families and len(families) > 1:
        raise ConfigurationError(
            "algorithms: HMAC (HS*) and public-key algorithms can't be mixed in one issuer"
        )
    return frozenset(algs)


def _check_audience(audience: str | Sequence[str] | None) -> frozenset[str] | None:
    if audience is None:
        return None
    values = [audience] if isinstance(audience, str) else list(audience)
    if not values or not all(isinstance(a, str) and a for a in values):
        raise ConfigurationError("audience: must be a non-empty string, a list of them, or None")
    return frozenset(values)


def _check_roles_claim(roles_claim: RolesClaim) -> RolesClaim:
    if callable(roles_claim):
        return roles_claim
    if not isinstance(roles_claim, str | list | tuple):
        raise ConfigurationError("roles_claim: a claim path, a list of paths, or a callable")
    paths = [roles_claim] if isinstance(roles_claim, str) else list(roles_claim)
    if not paths or not all(isinstance(p, str) and p for p in paths):
        raise ConfigurationError("roles_claim: a claim path, a list of paths, or a callable")
    return roles_claim if isinstance(roles_claim, str) else tuple(paths)
