"""The jwtgate command, run as a subprocess: outputs and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory


@pytest.fixture
def run(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTGATE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")

    def run(*args: str, stdin: str | None = None, extra_env: dict | None = None):
        return subprocess.run(
            [sys.executable, "-m", "jwtgate", *args],
            capture_output=True,
            text=True,
            input=stdin,
            env={**env, **(extra_env or {})},
            timeout=60,
        )

    return run


@pytest.fixture(scope="module")
def es256():
    return TokenFactory("ES256")


def test_decode_labels_the_output_unverified_and_shows_dates(run, es256):
    result = run("decode", es256.token(sub="ada"))
    assert result.returncode == 0
    assert result.stdout.startswith("UNVERIFIED")
    assert '"sub": "ada"' in result.stdout
    assert '"alg": "ES256"' in result.stdout
    assert "exp: 20" in result.stdout
    assert "(in 59 minutes)" in result.stdout or "(in 1 hour)" in result.stdout


def test_decode_reads_stdin_and_strips_bearer(run, es256):
    result = run("decode", "-", stdin=f"Bearer {es256.token(sub='ada')}\n")
    assert result.returncode == 0
    assert '"sub": "ada"' in result.stdout


def test_decode_refuses_garbage_in_one_line(run):
    result = run("decode", "not-a-token")
    assert result.returncode == 2
    assert result.stderr == "jwtgate: error: not a decodable JWT: The token is malformed\n"
    assert "Traceback" not in result.stderr


def test_verify_accepts_and_prints_claims(run, es256, tmp_path):
    key = tmp_path / "key.pem"
    key.write_text(es256.public_pem())
    result = run(
        "verify",
        es256.token(sub="ada", roles=["admin"]),
        "--key",
        str(key),
        "--algorithm",
        "ES256",
        "--issuer",
        es256.issuer,
        "--audience",
        "api",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("VERIFIED")
    summary = json.loads(result.stdout.split("\n", 1)[1])
    assert summary["subject"] == "ada"
    assert summary["roles"] == ["admin"]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda f: f.expired(), "refused: invalid_token: The token has expired"),
        (lambda f: f.wrong_signature(), "refused: invalid_token: The token's signature is invalid"),
        (
            lambda f: f.wrong_audience(),
            "refused: invalid_token: The token is not meant for this audience",
        ),
    ],
)
def test_verify_refusals_exit_1_with_code_and_description(run, es256, tmp_path, make, expected):
    key = tmp_path / "key.pem"
    key.write_text(es256.public_pem())
    result = run(
        "verify",
        make(es256),
        "--key",
        str(key),
        "--algorithm",
        "ES256",
        "--issuer",
        es256.issuer,
        "--audience",
        "api",
    )
    assert result.returncode == 1
    assert result.stdout.strip() == expected


def test_verify_netlify_preset_with_secret_from_env(run):
    tokens = TokenFactory.netlify(secret=DEVELOPMENT_SECRET)
    result = run(
        "verify",
        tokens.token(sub="u1"),
        "--preset",
        "netlify",
        extra_env={"JWTGATE_NETLIFY_JWT_SECRET": DEVELOPMENT_SECRET},
    )
    assert result.returncode == 0, result.stderr
    assert '"subject": "u1"' in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "a.b.c"], "give --algorithm"),
        (["verify", "a.b.c", "--preset", "netlify"], "needs --secret"),
        (["verify", "a.b.c", "--preset", "nope", "--secret", "x"], "unknown preset"),
        (
            ["verify", "a.b.c", "--preset", "cognito"],
            "--preset cognito needs JWTGATE_COGNITO_REGION, JWTGATE_COGNITO_USER_POOL_ID "
            "and JWTGATE_COGNITO_CLIENT_ID",
        ),
        (["verify", "a.b.c", "--preset", "oidc", "--issuer", "https://i.test"], "needs --audience"),
        (["verify", "a.b.c", "--algorithm", "HS256", "--secret", "short"], "at least 32 bytes"),
        (["verify", "a.b.c", "--algorithm", "none", "--secret", "s" * 32], "never accepted"),
        (["verify", "a.b.c", "--algorithm", "RS256", "--key", "/no/such/file"], "No such file"),
        (["verify"], "required"),
        (["frobnicate"], "invalid choice"),
        (["mint", "--claim", "novalue"], "NAME=VALUE"),
    ],
)
def test_usage_errors_exit_2_in_one_line(run, args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_secrets_never_appear_in_errors(run):
    secret = "s" * 20 + "SECRETVALUE"
    result = run("verify", "a.b.c", "--algorithm", "HS256", "--secret", secret)
    assert result.returncode == 2
    assert "SECRETVALUE" not in result.stderr + result.stdout


def test_mint_saves_and_reuses_a_development_key(run, tmp_path):
    first = run("mint", "--algorithm", "ES256", "--role", "admin", "--claim", 'plan="pro"')
    assert first.returncode == 0, first.stderr
    assert "created development key" in first.stderr
    key_file = tmp_path / "config" / "jwtgate" / "dev-ES256.pem"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    second = run("mint", "--algorithm", "ES256")
    assert second.stderr == ""
    token = first.stdout.strip()
    verified = run("verify", token, "--algorithm", "ES256", "--key", str(key_file))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert '"plan": "pro"' in verified.stdout
    assert '"admin"' in verified.stdout


def test_mint_hmac_and_netlify_tokens(run, tmp_path):
    hs = run("mint", "--algorithm", "HS256")
    assert hs.returncode == 0
    again = run("mint", "--algorithm", "HS256")
    assert again.returncode == 0
    assert again.stderr == ""
    netlify = run("mint", "--netlify", "--sub", "u9", "--role", "admin")
    tokens = TokenFactory.netlify(secret=DEVELOPMENT_SECRET)
    from jwtgate import Gate

    gate = Gate(issuers=[tokens.issuer_config()])
    user = gate.authenticate(cookies={"nf_jwt": netlify.stdout.strip()})
    assert user.subject == "u9"
    assert user.roles == {"admin"}


def test_mint_with_a_key_file_and_secret_file(run, tmp_path, es256):
    from cryptography.hazmat.primitives import serialization

    pem = es256.signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = tmp_path / "signing.pem"
    key.write_bytes(pem)
    minted = run("mint", "--algorithm", "ES256", "--key", str(key), "--kid", "k1")
    assert minted.returncode == 0
    from jwtgate import Gate

    gate = Gate(
        issuers=[
            TokenFactory("ES256", issuer=None, audience=None).issuer_config(key=es256.public_key)
        ]
    )
    assert (
        gate.authenticate(headers={"Authorization": f"Bearer {minted.stdout.strip()}"}) is not None
    )
    bad = tmp_path / "bad.pem"
    bad.write_text("garbage")
    assert run("mint", "--algorithm", "ES256", "--key", str(bad)).returncode == 2
    secret_file = tmp_path / "secret"
    secret_file.write_text(DEVELOPMENT_SECRET)
    hs = run("mint", "--algorithm", "HS256", "--secret-file", str(secret_file))
    checked = run(
        "verify", hs.stdout.strip(), "--algorithm", "HS256", "--secret-file", str(secret_file)
    )
    assert checked.returncode == 0
