"""Verification keys and where an issuer gets them.

Every key is loaded once, at configuration time, into a typed object bound to
the algorithms it may verify (``VerificationKey``), so that no request ever
parses a PEM or decides a key's family from the token. ``KeySource`` is the
protocol an issuer's keys come through: ``StaticKeys`` for a secret, PEM, JWK
or JWKS given in configuration; remote key sets plug in the same way.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

from .algorithms import HMAC_MIN_BYTES, RSA_MIN_BITS, SUPPORTED, family_of, key_fits
from .errors import ConfigurationError
from .key_material import describe_key_material
from .logs import logger
from .small_order import has_small_order

__all__ = [
    "KeySource",
    "StaticKeys",
    "VerificationKey",
    "bind_key",
    "load_jwk",
    "load_keys",
    "load_secret",
]

#: How many keys a token without ``kid`` may be tried against.
MAX_CANDIDATES = 8

_PUBLIC_KEY_TYPES = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)
_PRIVATE_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})
_JWK_LOADERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "RSA": RSAAlgorithm.from_jwk,
    "EC": ECAlgorithm.from_jwk,
    "OKP": OKPAlgorithm.from_jwk,
    "oct": HMACAlgorithm.from_jwk,
}


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A loaded key and the algorithms (all of one family) it may verify."""

    key: Any
    algorithms: frozenset[str]
    kid: str | None = None

    def __repr__(self) -> str:
        # Never the key material: HMAC keys are secrets.
        return f"VerificationKey(kid={self.kid!r}, algorithms={sorted(self.algorithms)!r})"


class KeySource:
    """Where an issuer's keys come from.

    ``keys_for`` answers from memory and never does I/O. A source that can
    fetch (a remote JWKS) says so with ``needs_refresh``; the gate then calls
    ``refresh`` (sync) or ``refresh_async`` (off the event loop) and asks
    again. ``subscribe`` lets the gate drop cached claims when keys go away.
    """

    def keys_for(self, kid: str | None, algorithm: str) -> Sequence[VerificationKey]:
        """The keys that may verify a token with this ``kid`` and ``alg``."""
        raise NotImplementedError

    def needs_refresh(self, kid: str | None) -> bool:
        """True when fetching may produce a key for ``kid`` that ``keys_for`` lacks."""
        return False

    def refresh(self) -> None:
        """Fetch the keys again (blocking). Static sources have nothing to do."""

    async def refresh_async(self) -> None:
        """Fetch the keys again without blocking the event loop."""

    def subscribe(self, on_keys_removed: Callable[[], None]) -> None:
        """Register a callback run whenever keys are withdrawn."""

    def check_algorithms(self, algorithms: Iterable[str]) -> None:
        """Raise ``ConfigurationError`` when some algorithm can never be verified."""


class StaticKeys(KeySource):
    """Keys given in configuration; they never change."""

    def __init__(self, keys: Sequence[VerificationKey]) -> None:
        if not keys:
            raise ConfigurationError("key: no usable key was given")
        self._keys = tuple(keys)
        self._unnamed = tuple(k for k in keys if k.kid is None)
        self._by_kid: dict[str, tuple[VerificationKey, ...]] = {}
        for k in keys:
            if k.kid is not None:
                self._by_kid[k.kid] = (*self._by_kid.get(k.kid, ()), k)

    @property
    def keys(self) -> tuple[VerificationKey, ...]:
        return self._keys

    def keys_for(self, kid: str | None, algorithm: str) -> Sequence[VerificationKey]:
        pool = self._keys if kid is None else self._by_kid.get(kid, ()) + self._unnamed
        return [k for k in pool if algorithm in k.algorithms][:MAX_CANDIDATES]

    def check_algorithms(self, algorithms: Iterable[str]) -> None:
        for algorithm in algorithms:
            if not any(algorithm in k.algorithms for k in self._keys):
                raise ConfigurationError(f"algorithms: no configured key can verify {algorithm}")

    def __repr__(self) -> str:
        return f"StaticKeys({list(self._keys)!r})"


def load_secret(secret: str | bytes, algorithms: Iterable[str]) -> VerificationKey:
    """An HMAC secret as a key for the issuer's HS* algorithms.

    Refuses a secret shorter than the hash (RFC 7518 §3.2) and anything that
    is, or decodes to, key material (``key_material.describe_key_material``),
    so that a public key can never become an HMAC secret (the classic RS256 →
    HS256 confusion).
    """
    algs = frozenset(algorithms)
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, bytes):
        raise ConfigurationError("secret: must be str or bytes")
    if any(family_of(a) != "HMAC" for a in algs):
        raise ConfigurationError("secret: an HMAC secret only goes with HS256, HS384 or HS512")
    material = describe_key_material(secret)
    if material is not None:
        raise ConfigurationError(
            f"secret: this is {material}, not an HMAC secret (quotes, BOM and escapes "
            "ignored); pass it as key= with its own algorithm, e.g. RS256"
        )
    for algorithm in sorted(algs):
        if len(secret) < HMAC_MIN_BYTES[algorithm]:
            raise ConfigurationError(
                f"secret: {algorithm} needs a secret of at least "
                f"{HMAC_MIN_BYTES[algorithm]} bytes (got {len(secret)})"
            )
    return VerificationKey(secret, algs)


def load_keys(key: Any, algorithms: Iterable[str]) -> list[VerificationKey]:
    """Keys from configuration: PEM, certificate, JWK, JWKS, key object or a list of them."""
    algs = frozenset(algorithms)
    if isinstance(key, list | tuple):
        loaded = [vk for item in key for vk in load_keys(item, algs)]
        if not loaded:
            raise ConfigurationError("key: the list holds no key")
        return loaded
    if isinstance(key, str | bytes):
        return _load_text(key, algs)
    if isinstance(key, dict):
        if "keys" in key:
            return _load_jwks(key, algs)
        return [load_jwk(key, algs)]
    if isinstance(key, _PRIVATE_KEY_TYPES):
        raise ConfigurationError("key: this is a private key; pass its public key")
    if isinstance(key, _PUBLIC_KEY_TYPES):
        return [bind_key(key, algs, kid=None, jwk_alg=None)]
    if isinstance(key, os.PathLike):
        raise ConfigurationError(
            "key: this is a file path, not a key; pass the file's contents, "
            "e.g. key=Path(...).read_text()"
        )
    raise ConfigurationError(f"key: unsupported key of type {type(key).__name__}")


def _load_text(text: str | bytes, algs: frozenset[str]) -> list[VerificationKey]:
    data = text.encode() if isinstance(text, str) else text
    stripped = data.strip()
    if stripped.startswith(b"{"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            raise ConfigurationError("key: not valid JWK or JWKS JSON") from None
        return load_keys(parsed, algs)
    if b"PRIVATE KEY" in stripped:
        raise ConfigurationError("key: this is a private key; pass its public key")
    public: Any
    try:
        if stripped.startswith(b"-----BEGIN CERTIFICATE"):
            public = x509.load_pem_x509_certificate(stripped).public_key()
        elif stripped.startswith(b"-----BEGIN"):
            public = load_pem_public_key(stripped)
        else:
            public = load_der_public_key(data)
    except (ValueError, TypeError):
        raise ConfigurationError(f"key: not a PEM or DER public key{_hint(stripped)}") from None
    return [bind_key(public, algs, kid=None, jwk_alg=None)]


# What people pass as key= instead of a key: a URL to fetch, a file to read.
_KEY_FILE_SUFFIXES = (
    b".pem",
    b".crt",
    b".cer",
    b".der",
    b".key",
    b".pub",
    b".json",
    b".jwk",
    b"jwks",
)
_PATH_STARTS = (b"/", b"./", b"../", b"~/", b"~\\", b".\\")
_DRIVE = re.compile(rb"[A-Za-z]:[\\/]")


def _hint(text: bytes) -> str:
    """A pointer to the right argument when ``key=`` got a URL or a file name."""
    if len(text) > 1024 or any(c.isspace() for c in text.decode("latin-1")):
        return ""
    lowered = text.lower()
    if lowered.startswith((b"https://", b"http://")):
        return (
            ": it is a URL; for keys published there use jwks_url= (or discovery= for an "
            "OpenID configuration) instead of key="
        )
    if lowered.endswith(_KEY_FILE_SUFFIXES) or text.startswith(_PATH_STARTS) or _DRIVE.match(text):
        return (
            ": it looks like a file name; pass the file's contents, "
            'e.g. key=Path("pub.pem").read_text()'
        )
    return ""


def _load_jwks(jwks: dict[str, Any], algs: frozenset[str]) -> list[VerificationKey]:
    members = jwks.get("keys")
    if not isinstance(members, list) or not members:
        raise ConfigurationError("key: the JWKS has no keys")
    loaded: list[VerificationKey] = []
    for member in members:
        try:
            loaded.append(load_jwk(member, algs))
        except ConfigurationError as exc:
            # A published set often holds keys for other uses; skip those, loudly.
            logger.warning("jwtgate: skipping a key of the configured JWKS: %s", exc)
    if not loaded:
        raise ConfigurationError("key: no key of the JWKS can verify the issuer's algorithms")
    kids = [k.kid for k in loaded if k.kid is not None]
    if len(kids) != len(set(kids)):
        raise ConfigurationError("key: the JWKS has two keys with the same kid")
    return loaded


def load_jwk(jwk: Any, algs: frozenset[str]) -> VerificationKey:
    """One public JWK as a key for ``algs``; ``ConfigurationError`` says why it can't be."""
    if not isinstance(jwk, dict):
        raise ConfigurationError("key: a JWK must be a JSON object")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ConfigurationError("key: a JWK's kid must be a string")
    label = f"JWK {kid!r}" if kid else "JWK"
    if _PRIVATE_JWK_MEMBERS & jwk.keys():
        raise ConfigurationError(f"key: {label} holds private key material; pass the public key")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise ConfigurationError(f"key: {label} is not for signatures (use={use!r})")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise ConfigurationError(f"key: {label} does not allow verify in key_ops")
    jwk_alg = jwk.get("alg")
    if jwk_alg is not None and jwk_alg not in SUPPORTED:
        raise ConfigurationError(f"key: {label} has an unsupported alg")
    loader = _JWK_LOADERS.get(jwk.get("kty"))  # type: ignore[arg-type]
    if loader is None:
        raise ConfigurationError(f"key: {label} has an unsupported kty")
    try:
        loaded = loader(jwk)
    except Exception:  # PyJWT's messages may quote the key: never pass them on.
        raise ConfigurationError(f"key: {label} could not be loaded") from None
    return bind_key(loaded, algs, kid=kid, jwk_alg=jwk_alg)


# The small primes of the ROCA fingerprint (CVE-2017-15361), and for each the
# residues that powers of 65537 take modulo it. Infineon's flawed generator
# made moduli whose residues all fall in these subgroups; a random modulus
# does so with negligible probability. Checked once, when a key is loaded.
# (every odd prime up to 167)
_ROCA_PRIMES = tuple(p for p in range(3, 168) if all(p % d for d in range(2, p)))
_ROCA_RESIDUES = tuple((p, frozenset(pow(65537, k, p) for k in range(p))) for p in _ROCA_PRIMES)


def has_roca_fingerprint(modulus: int) -> bool:
    """True when an RSA modulus bears the ROCA fingerprint: its private key is recoverable."""
    return all(modulus % p in residues for p, residues in _ROCA_RESIDUES)


def bind_key(
    key: Any, algs: frozenset[str], *, kid: str | None, jwk_alg: str | None
) -> VerificationKey:
    """Tie a loaded public key to the algorithms of ``algs`` it fits (and its JWK ``alg``)."""
    label = f"key {kid!r}" if kid else "key"
    if jwk_alg is not None and jwk_alg not in algs:
        raise ConfigurationError(
            f"key: {label} is for {jwk_alg}, which is not one of the algorithms {sorted(algs)}"
        )
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < RSA_MIN_BITS:
            raise ConfigurationError(f"key: {label} is RSA with fewer than {RSA_MIN_BITS} bits")
        if has_roca_fingerprint(key.public_numbers().n):
            raise ConfigurationError(
                f"key: {label} was made by a flawed generator (ROCA, CVE-2017-15361)"
            )
    if has_small_order(key):
        raise ConfigurationError(
            f"key: {label} is an EdDSA point of small order, under which forged signatures verify"
        )
    if isinstance(key, bytes) and not any(family_of(a) == "HMAC" for a in algs):
        raise ConfigurationError(f"key: {label} is a symmetric key; the algorithms are not HS*")
    usable = frozenset(a for a in algs if key_fits(key, a))
    if jwk_alg is not None:
        usable &= {jwk_alg}
    if not usable:
        raise ConfigurationError(
            f"key: {label} cannot verify any of the algorithms {sorted(algs)} "
            "(wrong key type, curve or size)"
        )
    return VerificationKey(key, usable, kid)
