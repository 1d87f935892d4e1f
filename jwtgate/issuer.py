"""One trusted issuer's rules: its keys, algorithms, audience and claim checks.

Everything is validated when the ``Issuer`` is built, so a configuration that
could not be safe (``none``, a short HMAC secret, a public key offered as an
HMAC secret, an RSA key under 2048 bits …) fails at start-up, not at the
first request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from .algorithms import SUPPORTED, family_of, verifier
from .claim_rules import VARIABLE, ClaimRule, check_claim_rules, claim_rules
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
from .user import FrozenDict, RolesClaim, User, roles_reader, verified_user

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
#: The refusal of a token for which the issuer has no key (an unknown ``kid``, say).
NO_KEY = "No key of the issuer matches the token"
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

    What a provider's own verifier checks beyond that can be stated here too:
    ``expected_claims`` (claim name → exact value, or ``predicate(value)``
    given ``None`` for a missing claim), ``authorized_parties`` (the ``azp``
    claim must be one of them), ``require_kid`` (a token without ``kid`` is
    refused), ``past_claims`` (NumericDates such as ``auth_time`` that must
    not be in the future) and ``issuer_aliases`` (other exact ``iss`` values
    the same issuer signs under). ``secret`` may be given with one other key
    source when ``algorithms`` mix HS* and public-key algorithms: HS* tokens
    are then checked with the secret only, the others with the public keys
    only.
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
        expected_claims: Mapping[str, ClaimRule] | None = None,
        authorized_parties: Sequence[str] | None = None,
        require_kid: bool = False,
        past_claims: Sequence[str] = (),
        issuer_aliases: Sequence[str] = (),
    ) -> None:
        if issuer is not None and (not isinstance(issuer, str) or not issuer):
            raise ConfigurationError("issuer: must be a non-empty string or None")
        self.issuer = issuer
        self.issuer_aliases = _check_names("issuer_aliases", issuer_aliases, "issuer URLs")
        if self.issuer_aliases and issuer is None:
            raise ConfigurationError("issuer_aliases: only goes with an issuer")
        #: Every ``iss`` this issuer accepts (empty when ``iss`` is not checked).
        self.accepted_issuers = frozenset((issuer, *self.issuer_aliases) if issuer else ())
        mixed = secret is not None and any(
            value is not None and value is not False for value in (key, jwks_url, discovery)
        )
        self.algorithms = _check_algorithms(algorithms, mixed_keys=mixed)
        self.audience = _check_audience(audience)
        self.roles_claim = _check_roles_claim(roles_claim)
        self._headers: dict[int, tuple[Mapping[str, Any], tuple[str, str | None]]] = {}
        self._roles_of = roles_reader(self.roles_claim)
        if isinstance(leeway, bool) or not isinstance(leeway, int | float):
            raise ConfigurationError("leeway: must be a number of seconds")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ConfigurationError(f"leeway: must be between 0 and {MAX_LEEWAY} seconds")
        self.leeway = leeway
        if isinstance(required_claims, str):
            raise ConfigurationError("required_claims: must be a list of claim names")
        self.required_claims = tuple(required_claims)
        # The strings a token's iss and aud share (see make_user).
        self._names = {name: name for name in (*self.accepted_issuers, *(self.audience or ()))}
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
        self.expected_claims = claim_rules(expected_claims)
        if authorized_parties is not None:
            authorized_parties = _check_names(
                "authorized_parties", authorized_parties, "client ids or origins"
            )
            if not authorized_parties:
                raise ConfigurationError("authorized_parties: give at least one, or None")
        self.authorized_parties = (
            None if authorized_parties is None else frozenset(authorized_parties)
        )
        if not isinstance(require_kid, bool):
            raise ConfigurationError("require_kid: must be True or False")
        self.require_kid = require_kid
        self.past_claims = _check_names("past_claims", past_claims, "claim names")
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
        if len(given) == 2 and secret is not None:
            return self._mixed_key_source(secret, key, jwks_url, discovery, remote)
        if len(given) != 1:
            raise ConfigurationError(
                "secret, key, jwks_url, discovery: give exactly one key source"
                + (" (or secret= and one other)" if len(given) > 2 else "")
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

    def _mixed_key_source(
        self,
        secret: str | bytes,
        key: Any,
        jwks_url: str | None,
        discovery: bool | str,
        remote: RemoteOptions | None,
    ) -> KeySource:
        """The secret for the HS* algorithms, the other source for the public-key ones."""
        from .mixed_keys import MixedKeys
        from .remote import remote_key_source

        hmac = frozenset(a for a in self.algorithms if family_of(a) == "HMAC")
        public = self.algorithms - hmac
        if not hmac or not public:
            raise ConfigurationError(
                "secret: goes with key=, jwks_url= or discovery= only when algorithms "
                'list both HS* and public-key algorithms, e.g. ["HS256", "ES256"]'
            )
        secret_keys = StaticKeys([load_secret(secret, hmac)])
        if key is not None:
            return MixedKeys(secret_keys, StaticKeys(load_keys(key, public)))
        remote_keys = remote_key_source(
            self, jwks_url=jwks_url, discovery=discovery, options=remote, algorithms=public
        )
        return MixedKeys(secret_keys, remote_keys)

    # --- per token -------------------------------------------------------------

    def check_header(self, header: Mapping[str, Any]) -> tuple[str, str | None]:
        """The token's ``alg`` and ``kid``, once the header is known to be acceptable."""
        # The parser hands out one FrozenDict per header text (jwtgate.jws), so the answer
        # for it is kept: held with the header itself, whose id can't then be reused.
        known = self._headers.get(id(header))
        if known is not None and known[0] is header:
            return known[1]
        found = self._check_header(header)
        if type(header) is FrozenDict:
            if len(self._headers) >= _HEADERS_KEPT:
                self._headers.clear()
            self._headers[id(header)] = (header, found)
        return found

    def _check_header(self, header: Mapping[str, Any]) -> tuple[str, str | None]:
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
        if self.require_kid and not kid:
            raise InvalidToken("The token has no key id")
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
        self.check_signature(parsed.signing_input, parsed.signature, alg, candidates)

    def check_signature(
        self,
        signing_input: bytes,
        signature: bytes,
        alg: str,
        candidates: Sequence[VerificationKey],
    ) -> None:
        """``verify_signature`` on the token's parts (the gate has them, not a ``JWS``)."""
        if not candidates:
            raise InvalidSignature(NO_KEY)
        verify = verifier(alg).verify
        # A token without a kid is tried against each compatible key: bounded, so a
        # forged token costs at most max_keys_tried signature checks.
        for candidate in candidates[: self.max_keys_tried]:
            if verify(signing_input, candidate.key, signature):
                return
        raise InvalidSignature()

    def check_claims(self, claims: Mapping[str, Any], now: float) -> None:
        """Required claims, the NumericDates against ``now``, ``iss`` and ``aud``."""
        for claim in self.required_claims:
            if claim not in claims:
                raise InvalidClaims(f"The token lacks the {claim} claim")
        get = claims.get
        exp, nbf, iat = get("exp"), get("nbf"), get("iat")
        # Every cache miss runs this: dates that are numbers in range, or absent, pass at
        # once; anything else (null, a bool, a string …) goes through the check that names it.
        if not (
            (_in_range(exp) if exp is not None else "exp" not in claims)
            and (_in_range(nbf) if nbf is not None else "nbf" not in claims)
            and (_in_range(iat) if iat is not None else "iat" not in claims)
        ):
            _check_dates(claims, _TIME_CLAIMS)
        leeway = self.leeway
        if exp is not None and exp <= now - leeway:
            raise ExpiredToken()
        if nbf is not None and nbf > now + leeway:
            raise ImmatureToken()
        if iat is not None and iat > now + leeway:
            raise ImmatureToken("The token was issued in the future")
        for claim in self.past_claims:
            _check_dates(claims, (claim,))
            value = get(claim)
            if value is not None and value > now + leeway:
                raise InvalidClaims(f"The token's {claim} claim is in the future")
        if self.issuer is not None:
            iss = get("iss")
            if not isinstance(iss, str) or iss not in self.accepted_issuers:
                raise InvalidClaims("The token's issuer does not match")
        if self.audience is not None:
            self._check_audience(get("aud"))
        sub = get("sub")
        if sub is not None and not isinstance(sub, str):
            raise InvalidClaims("The token's sub claim is not a string")
        if self.authorized_parties is not None:
            azp = get("azp")
            if not isinstance(azp, str) or azp not in self.authorized_parties:
                raise InvalidClaims("The token's authorized party (azp) is not accepted")
        if self.expected_claims:
            check_claim_rules(self.expected_claims, claims)

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
                refusal = InvalidClaims("The token's claims could not be read")
                refusal.__dict__[VARIABLE] = True  # the application's code: never remembered
                raise refusal from None
        if type(claims) is FrozenDict:  # as parsed (a hook may return any mapping)
            # Every user's claims hold the issuer's own iss and aud strings, not copies.
            for name in _SHARED_CLAIMS:
                value = claims.get(name)
                shared = self._names.get(value) if value.__class__ is str else None
                if shared is not None:
                    dict.__setitem__(claims, name, shared)
        # Read after the sharing: the User's issuer is then that one string as well.
        iss = claims.get("iss")
        issuer = iss if isinstance(iss, str) else self.issuer
        if type(claims) is FrozenDict:
            roles = self._roles_of(claims)
            return verified_user(
                claims.get("sub"), claims, roles, issuer, token, source, claims.get("exp")
            )
        return User(
            subject=claims.get("sub"),
            claims=claims,
            roles=self._roles_of(claims),
            issuer=issuer,
            token=token,
            source=source,
            expires_at=claims.get("exp"),
        )

    def __repr__(self) -> str:
        return (
            f"Issuer({self.issuer!r}, algorithms={sorted(self.algorithms)!r}, name={self.name!r})"
        )


_NUMBER = (int, float)
_SHARED_CLAIMS = ("iss", "aud")
#: How many headers' answers an issuer keeps (see check_header).
_HEADERS_KEPT = 64


def _in_range(value: Any) -> bool:
    """A NumericDate as JSON gives them: an int or float in [0, MAX_NUMERIC_DATE]."""
    return value.__class__ in _NUMBER and 0 <= value <= MAX_NUMERIC_DATE


def is_numeric_date(value: Any) -> TypeGuard[int | float]:
    """A date this library can compare: an int or float (not a bool) in [0, MAX_NUMERIC_DATE].

    Also false for NaN and infinities; a huge int is never converted to a float.
    """
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and 0 <= value <= MAX_NUMERIC_DATE
    )


def _check_dates(claims: Mapping[str, Any], names: Iterable[str]) -> None:
    """Refuse a present date claim that is not a NumericDate this library can compare."""
    for claim in names:
        value = claims.get(claim)
        if value is None and claim not in claims:
            continue
        if not is_numeric_date(value):
            raise InvalidClaims(f"The token's {claim} claim is not a valid date")


def _check_algorithms(algorithms: Sequence[str], *, mixed_keys: bool = False) -> frozenset[str]:
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
    if "HMAC" in families and len(families) > 1 and not mixed_keys:
        raise ConfigurationError(
            "algorithms: HMAC (HS*) and public-key algorithms can't be mixed in one issuer, "
            "unless secret= and public keys (key=, jwks_url= or discovery=) are both given"
        )
    return frozenset(algs)


def _check_names(option: str, values: Sequence[str], what: str) -> tuple[str, ...]:
    """A list of non-empty strings (not one bare string, which would be read letter by letter)."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ConfigurationError(f"{option}: must be a list of {what}")
    names = tuple(values)
    if not all(isinstance(v, str) and v for v in names):
        raise ConfigurationError(f"{option}: must be a list of {what}")
    return names


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
