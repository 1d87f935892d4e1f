"""A bad configuration fails when the Issuer is built, naming the field."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning

from jwtgate import ConfigurationError, Issuer
from jwtgate.keys import KeySource, StaticKeys, VerificationKey
from jwtgate.testing.factory import generate_key

SECRET = "s" * 32


@pytest.fixture(scope="module")
def rsa_key():
    return generate_key("RS256")


@pytest.fixture(scope="module")
def p256():
    return generate_key("ES256")


def pem(public) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"algorithms": []}, "algorithms"),
        ({"algorithms": "HS256"}, "algorithms"),
        ({"algorithms": ["none"]}, "algorithms"),
        ({"algorithms": ["NONE"]}, "algorithms"),
        ({"algorithms": ["HS256", "none"]}, "algorithms"),
        ({"algorithms": ["HS257"]}, "algorithms"),
        ({"algorithms": [256]}, "algorithms"),
        ({"algorithms": None}, "algorithms"),
        ({"algorithms": ["HS256", "RS256"]}, "algorithms"),
        ({"algorithms": ["HS256"], "audience": ""}, "audience"),
        ({"algorithms": ["HS256"], "audience": []}, "audience"),
        ({"algorithms": ["HS256"], "audience": [1]}, "audience"),
        ({"algorithms": ["HS256"], "leeway": -1}, "leeway"),
        ({"algorithms": ["HS256"], "leeway": 301}, "leeway"),
        ({"algorithms": ["HS256"], "leeway": "30"}, "leeway"),
        ({"algorithms": ["HS256"], "leeway": True}, "leeway"),
        ({"algorithms": ["HS256"], "required_claims": "exp"}, "required_claims"),
        ({"algorithms": ["HS256"], "required_claims": [""]}, "required_claims"),
        ({"algorithms": ["HS256"], "token_type": ""}, "token_type"),
        ({"algorithms": ["HS256"], "roles_claim": ""}, "roles_claim"),
        ({"algorithms": ["HS256"], "roles_claim": []}, "roles_claim"),
        ({"algorithms": ["HS256"], "roles_claim": 5}, "roles_claim"),
        ({"algorithms": ["HS256"], "sources": ["nope"]}, "sources"),
    ],
)
def test_bad_rules_are_refused(kwargs, field):
    kwargs.setdefault("secret", SECRET)
    with pytest.raises(ConfigurationError, match=field):
        Issuer("https://issuer.test/", **kwargs)


def test_issuer_must_be_a_non_empty_string():
    with pytest.raises(ConfigurationError, match="issuer"):
        Issuer("", algorithms=["HS256"], secret=SECRET)


def test_exactly_one_key_source(rsa_key):
    with pytest.raises(ConfigurationError, match=r"exactly one key source$"):
        Issuer("i", algorithms=["HS256"])
    with pytest.raises(ConfigurationError, match=r"\(got key, jwks_url\)"):
        Issuer("i", algorithms=["RS256"], key=rsa_key.public_key(), jwks_url="https://x.test/k")
    with pytest.raises(ConfigurationError, match=r"one other\) \(got secret, key, jwks"):
        Issuer(
            "i",
            algorithms=["HS256", "RS256"],
            secret=SECRET,
            key=rsa_key.public_key(),
            jwks_url="https://x.test/k",
        )
    # A secret beside public keys needs algorithms of both kinds.
    with pytest.raises(ConfigurationError, match="only when algorithms list both"):
        Issuer("i", algorithms=["RS256"], secret=SECRET, key=rsa_key.public_key())


@pytest.mark.parametrize(
    ("algorithms", "secret", "message"),
    [
        (["HS256"], "s" * 31, "at least 32 bytes"),
        (["HS384"], "s" * 47, "at least 48 bytes"),
        (["HS512"], "s" * 63, "at least 64 bytes"),
        (["HS256", "HS512"], "s" * 32, "HS512 needs"),
        (["HS256"], b"", "at least 32"),
        (["RS256"], "s" * 64, "only goes with HS"),
        (["HS256"], 12345, "str or bytes"),
    ],
)
def test_weak_or_misplaced_secrets_are_refused(algorithms, secret, message):
    with pytest.raises(ConfigurationError, match=message):
        Issuer("i", algorithms=algorithms, secret=secret)


def test_a_public_key_is_never_accepted_as_an_hmac_secret(rsa_key, p256):
    candidates = [
        pem(rsa_key.public_key()),
        "  " + pem(p256.public_key()),
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode(),
        p256.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode(),
        json.dumps({"kty": "RSA", "n": "x" * 400, "e": "AQAB"}),
    ]
    for candidate in candidates:
        with pytest.raises(ConfigurationError, match=r"secret: this is .*, not an HMAC secret"):
            Issuer("i", algorithms=["HS256"], secret=candidate)


def test_hs_algorithms_never_take_an_asymmetric_key(rsa_key):
    with pytest.raises(ConfigurationError, match="use secret="):
        Issuer("i", algorithms=["HS256"], key=pem(rsa_key.public_key()))
    with pytest.raises(ConfigurationError, match="use secret="):
        Issuer("i", algorithms=["HS256"], key=rsa_key.public_key())


def test_rsa_keys_under_2048_bits_are_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505
    with pytest.raises(ConfigurationError, match="fewer than 2048 bits"):
        Issuer("i", algorithms=["RS256"], key=small)


@pytest.mark.parametrize(
    ("curve", "algorithm"),
    [(ec.SECP384R1(), "ES256"), (ec.SECP256R1(), "ES384"), (ec.SECP256K1(), "ES256")],
)
def test_ec_curve_is_tied_to_the_algorithm(curve, algorithm):
    key = ec.generate_private_key(curve).public_key()
    with pytest.raises(ConfigurationError, match="cannot verify"):
        Issuer("i", algorithms=[algorithm], key=key)


def test_a_key_of_another_family_is_refused(rsa_key, p256):
    with pytest.raises(ConfigurationError, match="cannot verify"):
        Issuer("i", algorithms=["ES256"], key=rsa_key.public_key())
    with pytest.raises(ConfigurationError, match="cannot verify"):
        Issuer("i", algorithms=["RS256"], key=p256.public_key())
    with pytest.raises(ConfigurationError, match="cannot verify"):
        Issuer("i", algorithms=["EdDSA"], key=p256.public_key())


def test_every_algorithm_needs_a_key(rsa_key):
    with pytest.raises(ConfigurationError, match="no configured key can verify ES256"):
        Issuer("i", algorithms=["RS256", "ES256"], key=rsa_key.public_key())


def test_private_keys_are_refused(rsa_key):
    with pytest.raises(ConfigurationError, match="private key"):
        Issuer("i", algorithms=["RS256"], key=rsa_key)
    private_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(ConfigurationError, match="private key"):
        Issuer("i", algorithms=["RS256"], key=private_pem)


def test_unsupported_key_objects_are_refused():
    with warnings.catch_warnings():  # newer cryptography releases deprecate DSA itself
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        dsa_key = dsa.generate_private_key(key_size=2048).public_key()
    with pytest.raises(ConfigurationError, match=r"cannot verify|unsupported"):
        Issuer("i", algorithms=["RS256"], key=dsa_key)
    with pytest.raises(ConfigurationError, match="unsupported key of type int"):
        Issuer("i", algorithms=["RS256"], key=42)
    with pytest.raises(ConfigurationError, match="not a PEM or DER"):
        Issuer("i", algorithms=["RS256"], key="-----BEGIN PUBLIC KEY-----\ngarbage\n")
    with pytest.raises(ConfigurationError, match="not valid JWK"):
        Issuer("i", algorithms=["RS256"], key="{not json")


def test_every_key_format_loads_and_binds_to_its_algorithm(rsa_key, p256):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    public = rsa_key.public_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(rsa_key, hashes.SHA256())
    )
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for key in (
        public,
        pem(public),
        pem(public).encode(),
        der,
        cert.public_bytes(serialization.Encoding.PEM).decode(),
    ):
        issuer = Issuer("i", algorithms=["RS256", "PS256"], key=key)
        (vk,) = issuer.keys.keys
        assert vk.algorithms == {"RS256", "PS256"}
        assert "RSAPublicKey" in type(vk.key).__name__ or hasattr(vk.key, "key_size")

    for key, algorithm in (
        (ed25519.Ed25519PrivateKey.generate().public_key(), "EdDSA"),
        (ed448.Ed448PrivateKey.generate().public_key(), "EdDSA"),
        (p256.public_key(), "ES256"),
    ):
        issuer = Issuer("i", algorithms=[algorithm], key=key)
        assert issuer.keys.keys[0].algorithms == {algorithm}


def jwk_of(private, **extra):
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    algo = RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else ECAlgorithm
    return {**algo.to_jwk(private.public_key(), as_dict=True), **extra}


def test_jwk_alg_binds_the_key_to_that_algorithm_only(rsa_key):
    issuer = Issuer(
        "i",
        algorithms=["RS256", "PS256"],
        key=[jwk_of(rsa_key, alg="PS256", kid="a"), jwk_of(rsa_key, alg="RS256", kid="b")],
    )
    by_kid = {k.kid: k.algorithms for k in issuer.keys.keys}
    assert by_kid == {"a": {"PS256"}, "b": {"RS256"}}
    assert [k.kid for k in issuer.keys.keys_for("a", "PS256")] == ["a"]
    assert issuer.keys.keys_for("a", "RS256") == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"use": "enc"}, "not for signatures"),
        ({"key_ops": ["encrypt"]}, "does not allow verify"),
        ({"key_ops": "verify"}, "does not allow verify"),
        ({"alg": "RS257"}, "unsupported alg"),
        ({"alg": "ES256"}, "not one of the algorithms"),
        ({"kid": 5}, "kid must be a string"),
        ({"kty": "XYZ"}, "unsupported kty"),
        ({"n": "@@@"}, "could not be loaded"),
        ({"d": "AAAA"}, "private key material"),
    ],
)
def test_bad_jwks_are_refused_without_quoting_key_material(rsa_key, extra, message):
    jwk = jwk_of(rsa_key, **extra)
    with pytest.raises(ConfigurationError, match=message) as info:
        Issuer("i", algorithms=["RS256"], key=jwk)
    assert jwk["n"][:20] not in str(info.value)


def test_jwks_skips_unusable_members_and_refuses_duplicates(rsa_key, p256, caplog):
    jwks = {"keys": [jwk_of(rsa_key, kid="r"), jwk_of(p256, kid="e", use="enc")]}
    issuer = Issuer("i", algorithms=["RS256"], key=jwks)
    assert [k.kid for k in issuer.keys.keys] == ["r"]
    assert "skipping a key" in caplog.text
    with pytest.raises(ConfigurationError, match="same kid"):
        Issuer("i", algorithms=["RS256"], key={"keys": [jwk_of(rsa_key, kid="r")] * 2})
    with pytest.raises(ConfigurationError, match="no key of the JWKS"):
        Issuer("i", algorithms=["RS256"], key={"keys": [jwk_of(p256, kid="e")]})
    with pytest.raises(ConfigurationError, match="has no keys"):
        Issuer("i", algorithms=["RS256"], key={"keys": []})
    with pytest.raises(ConfigurationError, match="no key of the JWKS"):
        Issuer("i", algorithms=["RS256"], key={"keys": ["x"]})
    assert "a JWK must be a JSON object" in caplog.text
    as_text = json.dumps({"keys": [jwk_of(rsa_key, kid="r")]})
    assert Issuer("i", algorithms=["RS256"], key=as_text).keys.keys[0].kid == "r"


def test_oct_jwk_is_an_hmac_key_only_when_long_enough():
    import base64

    def oct_jwk(n):
        return {"kty": "oct", "k": base64.urlsafe_b64encode(b"k" * n).rstrip(b"=").decode()}

    assert Issuer("i", algorithms=["HS256"], key=oct_jwk(32)).keys.keys[0].algorithms == {"HS256"}
    with pytest.raises(ConfigurationError, match="cannot verify"):
        Issuer("i", algorithms=["HS256"], key=oct_jwk(16))
    with pytest.raises(ConfigurationError, match="symmetric key"):
        Issuer("i", algorithms=["RS256"], key=oct_jwk(64))


def test_empty_key_list_is_refused():
    with pytest.raises(ConfigurationError, match="holds no key"):
        Issuer("i", algorithms=["RS256"], key=[])
    with pytest.raises(ConfigurationError, match="no usable key"):
        StaticKeys([])


def test_a_custom_key_source_plugs_in(rsa_key):
    class Custom(KeySource):
        def keys_for(self, kid, algorithm):
            return [VerificationKey(rsa_key.public_key(), frozenset({"RS256"}))]

    source = Custom()
    issuer = Issuer("i", algorithms=["RS256"], key=source)
    assert issuer.keys is source
    assert source.needs_refresh("x") is False
    with pytest.raises(NotImplementedError):
        KeySource().keys_for(None, "RS256")


def test_reprs_hide_key_material():
    issuer = Issuer("https://i/", algorithms=["HS256"], secret=SECRET)
    assert SECRET not in repr(issuer.keys)
    assert repr(issuer) == "Issuer('https://i/', algorithms=['HS256'], name='https://i/')"


def test_rsa_keys_with_the_roca_fingerprint_are_refused():
    from math import prod

    from jwtgate.keys import _ROCA_PRIMES, has_roca_fingerprint

    # n ≡ 1 (= 65537**0) modulo every fingerprint prime: the shape ROCA moduli have.
    m = prod(_ROCA_PRIMES)
    n = m * ((1 << 2047) // m + 1) + 1
    n += (m * 2) if n % 2 == 0 else 0
    assert n.bit_length() == 2048
    assert has_roca_fingerprint(n)
    weak = rsa.RSAPublicNumbers(65537, n).public_key()
    with pytest.raises(ConfigurationError, match="ROCA"):
        Issuer("i", algorithms=["RS256"], key=weak)
    assert not has_roca_fingerprint(generate_key("RS256").public_key().public_numbers().n)


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("pub.pem", r'file name; pass the file\'s contents, e.g. key=Path\("pub.pem"\)'),
        ("keys/jwks.json", "file name"),
        ("/etc/jwt/public.key", "file name"),
        ("./cert.crt", "file name"),
        ("C:\\keys\\pub.pem", "file name"),
        ("https://issuer.test/.well-known/jwks.json", "it is a URL; .* use jwks_url="),
        ("http://127.0.0.1:8080/jwks.json", "use jwks_url="),
        (Path("pub.pem"), r"this is a file path, not a key; .*read_text\(\)"),
    ],
)
def test_a_url_or_file_name_as_key_points_to_the_right_argument(key, hint):
    with pytest.raises(ConfigurationError, match=f"^key: .*{hint}"):
        Issuer("i", algorithms=["RS256"], key=key)


@pytest.mark.parametrize("key", ["garbage", "ab/cd+ef==", "pub.pem extra words"])
def test_other_bad_text_keys_get_no_hint(key):
    with pytest.raises(ConfigurationError) as info:
        Issuer("i", algorithms=["RS256"], key=key)
    assert str(info.value) == "key: not a PEM or DER public key"
