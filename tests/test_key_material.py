"""A public key never becomes an HMAC secret, however it is wrapped on its way to the config.

Each variant is a form a public key takes in a ``.env`` file, a secrets
manager or a copy-paste. The replay: an attacker who knows the public key
signs an admin token with HS256 keyed with exactly those bytes; before the
check was made on the decoded material, such a configuration was accepted
and the forged token verified. Now the configuration is refused, naming
what was found and never quoting it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import RSAAlgorithm

from jwtgate import ConfigurationError, Gate, Issuer
from jwtgate.key_material import describe_key_material
from jwtgate.presets import netlify
from jwtgate.testing import DEVELOPMENT_SECRET

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
EC_KEY = ec.generate_private_key(ec.SECP256R1()).public_key()
ED_KEY = ed25519.Ed25519PrivateKey.generate().public_key()
_PEM = serialization.Encoding.PEM
_DER = serialization.Encoding.DER
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def _pem(key: Any = RSA_KEY) -> str:
    return key.public_bytes(_PEM, _SPKI).decode()


def _der(key: Any = RSA_KEY) -> bytes:
    return key.public_bytes(_DER, _SPKI)


def _body(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def _jwk(key: Any = RSA_KEY) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key, as_dict=True)
    return jwk


VARIANTS: dict[str, Callable[[], str | bytes]] = {
    # the five forms found in the review
    "pem-with-utf8-bom": lambda: "\ufeff" + _pem(),
    "pem-in-double-quotes": lambda: f'"{_pem()}"',
    "quoted-pem-with-backslash-n": lambda: '"' + _pem().replace("\n", "\\n") + '"',
    "base64-der-body-without-armour": lambda: "".join(_body(_pem())),
    "json-array-of-jwks": lambda: json.dumps([_jwk()]),
    # and their neighbours
    "pem-with-utf8-bom-as-bytes": lambda: b"\xef\xbb\xbf" + _pem().encode(),
    "pem-in-single-quotes": lambda: f"'{_pem()}'",
    "pem-with-backslash-n-unquoted": lambda: _pem().replace("\n", "\\n"),
    "pem-with-crlf": lambda: _pem().replace("\n", "\r\n"),
    "bom-inside-quotes": lambda: '"\ufeff' + _pem() + '"',
    "quotes-inside-bom": lambda: '\ufeff"' + _pem() + '"',
    "json-string-of-the-pem": lambda: json.dumps(_pem()),
    "base64-der-body-with-line-breaks": lambda: "\n".join(_body(_pem())),
    "base64url-der": lambda: base64.urlsafe_b64encode(_der()).decode().rstrip("="),
    "hex-der": lambda: _der().hex(),
    "raw-der-bytes": lambda: _der(),
    "base64-of-the-pem-text": lambda: base64.b64encode(_pem().encode()).decode(),
    "jwk-set": lambda: json.dumps({"keys": [_jwk()]}),
    "jwk-in-quotes": lambda: "'" + json.dumps(_jwk()) + "'",
    "jwk-cut-short": lambda: json.dumps(_jwk())[:-20],
    "pkcs1-pem": lambda: RSA_KEY.public_bytes(_PEM, serialization.PublicFormat.PKCS1).decode(),
    "ec-pem-with-bom": lambda: "\ufeff" + _pem(EC_KEY),
    "ec-base64-der-body": lambda: "".join(_body(_pem(EC_KEY))),
    "ed25519-pem-in-quotes": lambda: f'"{_pem(ED_KEY)}"',
    "ed25519-base64-der": lambda: base64.b64encode(_der(ED_KEY)).decode(),
    "ssh-key-in-quotes": lambda: (
        '"'
        + RSA_KEY.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ).decode()
        + '"'
    ),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_admin_token(secret: bytes) -> str:
    """What an attacker holding the public key signs: HS256 over an admin's claims."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": "attacker", "exp": 4_000_000_000, "app_metadata": {"roles": ["admin"]}}
    payload = _b64(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{_b64(hmac.new(secret, signing_input, hashlib.sha256).digest())}"


def _configure_then_replay(configure: str, secret: str | bytes, forged: str) -> None:
    if configure == "issuer":
        issuer = Issuer(None, algorithms=["HS256"], secret=secret, roles_claim="app_metadata.roles")
    else:
        issuer = netlify(jwt_secret=secret)
    # Reached only if the secret was accepted: the forged admin token then passed.
    user = Gate(issuers=[issuer]).authenticate(headers={"Authorization": f"Bearer {forged}"})
    raise AssertionError(f"accepted; the forged token made {user!r}")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("configure", ["issuer", "netlify-preset"])
def test_a_wrapped_public_key_is_refused_as_an_hmac_secret(variant: str, configure: str) -> None:
    secret = VARIANTS[variant]()
    raw = secret if isinstance(secret, bytes) else secret.encode()
    forged = forged_admin_token(raw)
    with pytest.raises(ConfigurationError) as info:
        _configure_then_replay(configure, secret, forged)
    message = str(info.value)
    # in the caller's words: the preset's argument is jwt_secret=
    assert message.startswith(
        "secret: this is " if configure == "issuer" else "jwt_secret: this is "
    )
    assert "not an HMAC secret" in message
    for line in _body(_pem()) + _body(_pem(EC_KEY)) + _body(_pem(ED_KEY)):
        assert line[:20] not in message  # never quotes the material


@pytest.mark.parametrize(
    ("variant", "found"),
    [
        ("pem-with-utf8-bom", "a PEM public key"),
        ("base64-der-body-without-armour", "a DER public key (base64 or hex)"),
        ("hex-der", "a DER public key (base64 or hex)"),
        ("json-array-of-jwks", "a list of JWKs"),
        ("jwk-set", "a JWK or JWK Set"),
        ("ssh-key-in-quotes", "an SSH public key"),
        ("base64-of-the-pem-text", "a PEM public key (base64 or hex)"),
    ],
)
def test_the_message_says_what_was_found(variant: str, found: str) -> None:
    secret = VARIANTS[variant]()
    assert describe_key_material(secret if isinstance(secret, bytes) else secret.encode()) == found


def test_certificates_and_private_keys_are_key_material_too() -> None:
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(_PEM, PrivateFormat.PKCS8, NoEncryption())
    der = private.private_bytes(_DER, PrivateFormat.PKCS8, NoEncryption())
    assert describe_key_material(b'"' + pem + b'"') == "a PEM private key"
    assert describe_key_material(base64.b64encode(der)) == "a DER private key (base64 or hex)"
    assert describe_key_material(b"-----BEGIN SOMETHING ELSE-----\nAAAA\n") == (
        "PEM-armoured key material"
    )


def _random_secrets() -> list[bytes]:
    rng = random.Random(20240601)  # noqa: S311 - the same secrets on every run
    made = [DEVELOPMENT_SECRET.encode()]
    for _ in range(2000):
        raw = rng.randbytes(rng.choice([32, 48, 64]))
        made += [
            raw,
            raw.hex().encode(),
            base64.b64encode(raw),
            base64.urlsafe_b64encode(raw).rstrip(b"="),
            b'"' + base64.b64encode(raw) + b'"',
        ]
    return made


def test_random_secrets_of_every_usual_shape_are_accepted() -> None:
    refused = [s for s in _random_secrets() if describe_key_material(s) is not None]
    assert refused == []


def test_secrets_starting_with_a_brace_are_not_taken_for_json() -> None:
    """Random bytes start with ``{`` once in 256: only JSON that parses is refused."""
    secret = b"{" + bytes(range(1, 40))
    assert describe_key_material(secret) is None
    assert Issuer(None, algorithms=["HS256"], secret=secret)


@pytest.mark.parametrize(
    "wrapped",
    [
        lambda body: "\ufeff" + body,  # a BOM before a base64 body
        lambda body: f'"{body}"',
        lambda body: f"'{body}'",
        lambda body: json.dumps(body),
        lambda body: '"\\ufeff' + body + '"',  # a JSON string whose escape spells a BOM
        lambda body: "`" + body.replace("/", "\\/") + "`",
        lambda body: '"\t' + body + '"',  # not valid JSON (a raw tab): quotes stripped anyway
    ],
)
def test_a_wrapped_base64_body_is_unwrapped(wrapped: Callable[[str], str]) -> None:
    body = "".join(_body(_pem()))
    assert describe_key_material(wrapped(body).encode()) == "a DER public key (base64 or hex)"


def test_broken_ssh_key_material_is_still_refused() -> None:
    assert describe_key_material(b"ssh-rsa AAAAnot-a-key") == "SSH key material"
