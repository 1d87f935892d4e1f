"""Every bad command line: one line on stderr naming what to change, exit 2, no traceback.

Most cases run the real entry point in-process (``jwtgate.cli.main(argv)``,
the function the ``jwtgate`` script calls); a few run the installed
``jwtgate`` script as a subprocess, to prove nothing differs there.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jwtgate import __version__
from jwtgate.cli import PRESETS
from jwtgate.testing import TokenFactory
from tests.in_process import run

TOKEN = TokenFactory("RS256").token()


def _pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Key files a user might pass: RSA and EC private keys, a public PEM, garbage."""
    folder = tmp_path_factory.mktemp("keys")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    written = {
        "rsa": _pem(rsa_key),
        "ec": _pem(ec.generate_private_key(ec.SECP256R1())),
        "public": rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "garbage": b"not a key\n",
    }
    paths = {}
    for name, data in written.items():
        path = folder / f"{name}.pem"
        path.write_bytes(data)
        paths[name] = str(path)
    paths["missing"] = str(folder / "no-such-file")
    return paths


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("JWTGATE_SECRET", raising=False)


def _assert_one_line_error(code: int, out: str, err: str, expected: str) -> None:
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("jwtgate: error: "), err
    assert err.count("\n") == 1, err
    assert expected in err, err
    assert "Traceback" not in err


PEM_SECRET = "-----BEGIN PUBLIC KEY-----\n" + "A" * 64 + "\n-----END PUBLIC KEY-----"

BAD = [
    # algorithms
    (
        ["mint", "--algorithm", "rs256"],
        "'rs256' is not a supported algorithm (did you mean RS256?)",
    ),
    (["mint", "--algorithm", "eddsa"], "(did you mean EdDSA?)"),
    (["mint", "--algorithm", "FOO"], "'FOO' is not a supported algorithm; choose from ES256"),
    (["mint", "--algorithm", "none"], "'none' is never accepted"),
    (["verify", TOKEN, "--algorithm", "NONE", "--secret", "s" * 32], "'none' is never accepted"),
    (["mint", "--algorithm", "ES256", "--algorithm", "RS256"], "mint signs with one --algorithm"),
    (["mint", "--key", "{rsa}", "--algorithm", "ES256"], "--key: this key can't sign ES256"),
    (["mint", "--key", "{ec}", "--algorithm", "ES384"], "can't sign ES384; it signs ES256"),
    (["mint", "--key", "{ec}", "--algorithm", "RS256"], "--key: this key can't sign RS256"),
    (
        ["mint", "--secret", "x" * 32, "--algorithm", "RS256"],
        "--secret signs HS256, HS384 or HS512",
    ),
    # presets
    (["verify", TOKEN, "--preset", "netfly"], "unknown preset 'netfly' (did you mean netlify?)"),
    (["verify", TOKEN, "--preset", "NETLIFY"], "(did you mean netlify?)"),
    (["verify", TOKEN, "--preset", "netlify"], "--preset netlify needs --secret"),
    (["verify", TOKEN, "--preset", "privy"], "--preset privy needs --audience"),
    (["verify", TOKEN, "--preset", "oidc"], "--preset oidc needs --issuer"),
    # --netlify mints one shape only
    (["mint", "--netlify", "--algorithm", "RS256"], "--netlify mints HS256 tokens"),
    (["mint", "--netlify", "--key", "{rsa}"], "has no --key to set"),
    (["mint", "--netlify", "--issuer", "https://x/"], "has no --issuer to set"),
    (["mint", "--netlify", "--audience", "api"], "has no --audience to set"),
    (["mint", "--audience", "a", "--audience", "b"], "mint stamps one --audience"),
    # configuration errors, in the flags' words
    (
        ["verify", TOKEN, "--algorithm", "RS256"],
        "--algorithm: the issuer needs a key: set one of --secret, --key, --jwks-url, --discovery",
    ),
    (
        ["verify", TOKEN, "--algorithm", "HS256", "--secret", "s" * 32, "--jwks-url", "https://x/"],
        "--secret, --jwks-url: give exactly one key source",
    ),
    (["verify", TOKEN, "--algorithm", "HS256", "--key", "{public}"], "use --secret"),
    (["verify", TOKEN, "--algorithm", "HS256", "--secret", "short"], "--secret: HS256 needs"),
    (["verify", TOKEN, "--algorithm", "HS256", "--secret", PEM_SECRET], "pass it as --key"),
    (["verify", TOKEN, "--algorithm", "RS256", "--jwks-url", "ftp://x/"], "--jwks-url: must be"),
    (["verify", TOKEN, "--algorithm", "RS256", "--discovery"], "--discovery: needs the issuer"),
    (["verify", TOKEN, "--algorithm", "RS256", "--key", "{garbage}"], "--key: not a PEM or DER"),
    (
        ["verify", TOKEN, "--algorithm", "RS256", "--key", "{public}", "--leeway", "1000"],
        "--leeway:",
    ),
    (
        ["verify", TOKEN, "--algorithm", "RS256", "--key", "{public}", "--audience", ""],
        "--audience:",
    ),
    (["verify", TOKEN, "--leeway", "soon"], "argument --leeway: invalid float value"),
    # files
    (
        ["verify", TOKEN, "--algorithm", "HS256", "--secret-file", "{missing}"],
        "--secret-file: cannot",
    ),
    (["verify", TOKEN, "--algorithm", "RS256", "--key", "{missing}"], "--key: cannot read"),
    (["mint", "--key", "{missing}"], "--key: cannot read"),
    (["mint", "--key", "{garbage}"], "is not an unencrypted PEM private key"),
    # the rest of the command line
    (["mint", "--claim", "novalue"], "--claim takes NAME=VALUE"),
    (["mint", "--expires-in", "soon"], "argument --expires-in: invalid int value"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["verify"], "the following arguments are required: token"),
    (["decode", "not-a-token"], "not a decodable JWT"),
    (["decode", "-"], "no token given"),
    (["demo", "--port", "70000"], "--port: 70000 is not a port number"),
    (["--nope"], "unrecognized arguments: --nope"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD, ids=lambda v: " ".join(v)[:60])
def test_a_bad_command_line_is_one_line_on_stderr_and_exit_2(files, argv, expected):
    argv = [arg.format(**files) if arg.startswith("{") else arg for arg in argv]
    _assert_one_line_error(*run(*argv), expected)


def test_a_preset_typo_lists_every_preset():
    code, _, err = run("verify", TOKEN, "--preset", "netfly")
    assert code == 2
    assert all(name in err for name in PRESETS), err


def test_secrets_are_not_repeated_in_errors():
    secret = "SECRETVALUE" + "s" * 10
    code, out, err = run("verify", TOKEN, "--algorithm", "HS256", "--secret", secret)
    assert code == 2
    assert "SECRETVALUE" not in out + err


def test_version():
    assert run("--version") == (0, f"jwtgate {__version__}\n", "")


def test_no_command_prints_the_usage_and_every_command():
    code, out, err = run()
    assert code == 2
    assert out == ""
    assert err.startswith("usage: jwtgate")
    for command in ("decode", "verify", "mint", "demo"):
        assert f"    {command} " in err


# --- mint: what verify would refuse is said, and what it accepts round-trips --------


def test_minting_with_a_short_secret_warns_that_verify_would_refuse_it():
    code, out, err = run("mint", "--algorithm", "HS256", "--secret", "short")
    assert code == 0
    assert err == (
        "jwtgate: warning: verify would refuse this secret: "
        "--secret: HS256 needs a secret of at least 32 bytes (got 5)\n"
    )
    token = out.strip()
    assert run("verify", token, "--algorithm", "HS256", "--secret", "short")[0] == 2


def test_minting_with_a_secret_defaults_to_hs256_and_verifies():
    secret = "a-secret-of-at-least-thirty-two-bytes"
    code, out, err = run("mint", "--secret", secret, "--sub", "ada")
    assert (code, err) == (0, "")
    code, verified, _ = run("verify", out.strip(), "--algorithm", "HS256", "--secret", secret)
    assert code == 0
    assert json.loads(verified.split("\n", 1)[1])["subject"] == "ada"


def test_claim_wins_over_sub_and_can_name_any_claim():
    code, out, _ = run("mint", "--sub", "ada", "--claim", "sub=grace", "--claim", "headers=1")
    assert code == 0
    code, decoded, _ = run("decode", out.strip())
    assert '"sub": "grace"' in decoded
    assert '"headers": 1' in decoded


def test_netlify_accepts_hs256_spelt_out():
    code, out, err = run("mint", "--netlify", "--algorithm", "HS256")
    assert (code, err) == (0, "")
    assert out.count(".") == 2


# --- verify --jwks-url against a server that can't answer --------------------------


class _Answer(BaseHTTPRequestHandler):
    body = b""
    content_type = "application/json"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def answering() -> Iterator:
    servers = []

    def serve(body: bytes, content_type: str = "application/json") -> str:
        handler = type("Handler", (_Answer,), {"body": body, "content_type": content_type})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/jwks.json"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _verify_remote(url: str) -> tuple[int, str, str]:
    return run("verify", TOKEN, "--algorithm", "RS256", "--jwks-url", url)


def test_a_dead_jwks_server_says_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/jwks.json"
    _assert_one_line_error(
        *_verify_remote(url), f"could not fetch the issuer's keys from {url}: connection refused"
    )


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"<html>Welcome</html>", "text/html", "the answer is not a JWK Set (not JSON)"),
        (
            b'{"issuer": "https://x/"}',
            "application/json",
            'the answer is not a JWK Set (no "keys" list)',
        ),
    ],
)
def test_an_answer_that_is_not_a_jwk_set_says_so(answering, body, content_type, reason):
    url = answering(body, content_type)
    _assert_one_line_error(*_verify_remote(url), f"from {url}: {reason}")


def test_a_silent_jwks_server_says_timed_out():
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/jwks.json"
        _assert_one_line_error(*_verify_remote(url), "timed out (no complete answer within")


# --- the installed script, as a subprocess -----------------------------------------


def _script() -> str:
    found = shutil.which("jwtgate", path=str(Path(sys.executable).parent))
    if found is None:  # pragma: no cover - the package is installed in every test setup
        pytest.fail("the jwtgate script is not installed beside this Python")
    return found


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["mint", "--algorithm", "rs256"], "did you mean RS256?"),
        (["mint", "--algorithm", "none"], "never accepted"),
        (["mint", "--key", "{rsa}", "--algorithm", "ES256"], "can't sign ES256"),
        (["verify", TOKEN, "--preset", "netfly"], "did you mean netlify?"),
        (["mint", "--netlify", "--algorithm", "RS256"], "--netlify mints HS256"),
    ],
    ids=lambda v: " ".join(v)[:40],
)
def test_the_installed_script_prints_one_line_too(files, tmp_path, argv, expected):
    argv = [arg.format(**files) if arg.startswith("{") else arg for arg in argv]
    done = subprocess.run(
        [_script(), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path)},
        check=False,
    )
    _assert_one_line_error(done.returncode, done.stdout, done.stderr, expected)


def test_the_installed_script_prints_its_version_and_usage(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path)}
    version = subprocess.run(
        [_script(), "--version"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert (version.returncode, version.stdout) == (0, f"jwtgate {__version__}\n")
    bare = subprocess.run([_script()], capture_output=True, text=True, timeout=60, env=env)
    assert bare.returncode == 2
    assert bare.stderr.startswith("usage: jwtgate")
    assert "Traceback" not in bare.stderr


def test_the_installed_script_says_why_the_keys_are_unreachable_in_one_line(tmp_path):
    # Also guards against a library log record reaching the terminal beside the error.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/jwks.json"
    done = subprocess.run(
        [_script(), "verify", TOKEN, "--algorithm", "RS256", "--jwks-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path)},
        check=False,
    )
    _assert_one_line_error(done.returncode, done.stdout, done.stderr, "connection refused")
