"""Is this "secret" really key material? The guard against a public key used as an HMAC secret.

If a public key is configured as an HMAC secret, anyone who has the public
key (everyone) can sign tokens with it. A prefix test ("starts with
``-----BEGIN``") misses the forms a key takes on its way through a ``.env``
file, a secrets manager or a copy-paste: a UTF-8 BOM, surrounding quotes,
``\\n`` written as two characters, the base64 body of the DER without its
armour, a JSON array of JWKs. So the value is first unwrapped (whitespace,
BOM, quotes, escapes, a JSON string) and every form is then offered to
cryptography's own loaders (PEM, DER, base64 or hex of DER, OpenSSH) and to
the JSON parser; whatever one of them accepts is key material, not a secret.

This runs once, when an issuer is configured; random secrets (hex, base64 or
text) are never valid DER, PEM or JSON, so they pass.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    load_der_private_key,
    load_der_public_key,
    load_pem_private_key,
    load_pem_public_key,
    load_ssh_public_key,
)

__all__ = ["describe_key_material"]

_BOM = b"\xef\xbb\xbf"
_QUOTES = (b'"', b"'", b"`")
_ESCAPES = {b"\\n": b"\n", b"\\r": b"\r", b"\\t": b"\t", b"\\/": b"/", b'\\"': b'"'}
_BASE64 = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")
_HEX = re.compile(rb"(?:[0-9a-fA-F]{2})+")
_SSH_PREFIXES = (b"ssh-", b"ecdsa-sha2-", b"sk-ssh-", b"sk-ecdsa-")


def _unwrapped(value: bytes) -> Iterator[bytes]:
    """``value`` and what it becomes once BOM, quotes, escapes and JSON quoting are removed."""
    yield value
    text = value
    for _ in range(4):  # layers such as '"\ufeff-----BEGIN…"' come a few deep at most
        before = text
        text = text.strip()
        if text.startswith(_BOM):
            text = text[len(_BOM) :]
        if len(text) >= 2 and text[:1] in _QUOTES and text[-1:] == text[:1]:
            decoded = _json_string(text) if text[:1] == b'"' else None
            text = decoded if decoded is not None else text[1:-1]
        for escaped, plain in _ESCAPES.items():
            text = text.replace(escaped, plain)
        if text == before:
            break
        yield text


def _json_string(text: bytes) -> bytes | None:
    """The string a JSON string literal spells (its escapes decoded), else ``None``."""
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return decoded.encode("utf-8", "surrogatepass") if isinstance(decoded, str) else None


def _loaders() -> Iterator[tuple[str, Callable[[bytes], Any]]]:
    yield "a PEM public key", load_pem_public_key
    yield "a PEM certificate", x509.load_pem_x509_certificate
    yield "a PEM private key", lambda data: load_pem_private_key(data, password=None)
    yield "a DER public key", load_der_public_key
    yield "a DER certificate", x509.load_der_x509_certificate
    yield "a DER private key", lambda data: load_der_private_key(data, password=None)


def _loaded_as(data: bytes) -> str | None:
    """What cryptography's loaders read ``data`` as, if anything."""
    for what, load in _loaders():
        try:
            load(data)
        except UnsupportedAlgorithm:  # parsed as a key, of a kind cryptography can't use
            return what
        except (ValueError, TypeError):
            continue
        return what
    if not data.lstrip().startswith(_SSH_PREFIXES):
        return None  # (the SSH loader calls any "word base64" an unsupported key type)
    try:
        load_ssh_public_key(data.strip())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return "SSH key material"
    return "an SSH public key"


def _json_key(data: bytes) -> str | None:
    """A JWK, a JWK Set or a list of JWKs; also one cut short (it still names a ``kty``)."""
    if data.lstrip().startswith((b"{", b"[")):
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            return "a JWK or JWK Set"
        if isinstance(parsed, list):
            return "a list of JWKs"
    return "a JWK or JWK Set" if b'"kty"' in data else None


def _decoded(text: bytes) -> Iterator[bytes]:
    """``text`` read as base64, base64url or hex (whitespace ignored), where it is one."""
    compact = b"".join(text.split())
    if len(compact) >= 16 and _BASE64.fullmatch(compact):
        padded = compact.rstrip(b"=") + b"=" * (-len(compact.rstrip(b"=")) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = decode(padded)
            except (binascii.Error, ValueError):
                continue
            yield decoded
    if _HEX.fullmatch(compact):
        yield bytes.fromhex(compact.decode("ascii"))


def describe_key_material(value: bytes) -> str | None:
    """What key material ``value`` is or decodes to ("a PEM public key" …), else ``None``."""
    for text in _unwrapped(value):
        if b"-----BEGIN" in text:
            return _loaded_as(text) or "PEM-armoured key material"
        found = _loaded_as(text) or _json_key(text)
        if found is not None:
            return found
        for decoded in _decoded(text):
            found = _loaded_as(decoded) or (
                "base64 of PEM-armoured key material" if b"-----BEGIN" in decoded else None
            )
            if found is not None:
                return found if found.startswith("base64") else f"{found} (base64 or hex)"
    return None
