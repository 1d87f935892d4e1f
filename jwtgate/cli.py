"""The ``jwtgate`` command: decode, verify and mint tokens, and run the demo app.

Exit codes: 0 success, 1 a token was refused, 2 a usage or configuration
error. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import cli_revoke
from .errors import AuthError, ConfigurationError
from .gate import Gate
from .issuer import Issuer
from .jws import parse

__all__ = ["main"]

_TIME_CLAIMS = ("exp", "nbf", "iat", "auth_time", "updated_at")


class UsageError(Exception):
    """A command line that can't be carried out: exit 2 with one line."""


def _read_token(value: str, stdin: TextIO) -> str:
    token = stdin.read() if value == "-" else value
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        raise UsageError("no token given")
    return token


def _when(value: Any, now: float) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        moment = datetime.datetime.fromtimestamp(value, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    delta = value - now
    span = _span(abs(delta))
    relative = f"in {span}" if delta >= 0 else f"{span} ago"
    return f"{moment:%Y-%m-%dT%H:%M:%SZ} ({relative})"


def _span(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} seconds"


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


# --- decode ------------------------------------------------------------------------


def cmd_decode(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    token = _read_token(args.token, stdin)
    try:
        parsed = parse(token)
    except AuthError as error:
        raise UsageError(f"not a decodable JWT: {error.description}") from None
    now = time.time()
    print("UNVERIFIED: the signature and claims were NOT checked.", file=out)
    print("header:", _dump(parsed.header), sep="\n", file=out)
    print("claims:", _dump(parsed.claims), sep="\n", file=out)
    for claim in _TIME_CLAIMS:
        when = _when(parsed.claims.get(claim), now)
        if when is not None:
            print(f"{claim}: {when}", file=out)
    return 0


# --- verify ------------------------------------------------------------------------


def _secret(args: argparse.Namespace) -> str | None:
    if args.secret_file:
        return Path(args.secret_file).read_text().strip()
    if args.secret:
        return str(args.secret)
    return os.environ.get("JWTGATE_SECRET") or None


def _verification_key(path: Path) -> Any:
    """A key file's text; for a private PEM (a development key), its public key."""
    text = path.read_text()
    if "PRIVATE KEY" not in text:
        return text
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(text.encode(), password=None).public_key()
    except (ValueError, TypeError):
        raise UsageError(f"{path} is not an unencrypted PEM private key") from None


def _issuer_from_args(args: argparse.Namespace) -> Issuer:
    from . import presets

    secret = _secret(args)
    key = _verification_key(Path(args.key)) if args.key else None
    if args.preset == "netlify":
        if secret is None:
            raise UsageError("--preset netlify needs --secret, --secret-file or JWTGATE_SECRET")
        return presets.netlify(jwt_secret=secret)
    if args.preset is not None:
        factory: Callable[..., Issuer] | None = getattr(presets, args.preset, None)
        if factory is None:
            raise UsageError(f"unknown preset {args.preset!r}")
        if args.preset == "privy":
            if not args.audience:
                raise UsageError("--preset privy needs --audience APP_ID")
            return factory(args.audience[0], verification_key=key)
        return factory(args.issuer, audience=args.audience or None)
    if not args.algorithm:
        raise UsageError("give --algorithm (repeatable), e.g. --algorithm RS256")
    options: dict[str, Any] = {
        "algorithms": args.algorithm,
        "audience": args.audience or None,
        "leeway": args.leeway,
    }
    if args.roles_claim:
        options["roles_claim"] = args.roles_claim
    if secret is not None:
        options["secret"] = secret
    if key is not None:
        options["key"] = key
    if args.jwks_url:
        options["jwks_url"] = args.jwks_url
    if args.discovery:
        options["discovery"] = True if args.discovery == "auto" else args.discovery
    return Issuer(args.issuer, **options)


def cmd_verify(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    token = _read_token(args.token, stdin)
    gate = Gate(issuers=[_issuer_from_args(args)], sources=["bearer"], cache_size=0)
    try:
        user = gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    except AuthError as error:
        print(f"refused: {error.error or 'missing_token'}: {error.description}", file=out)
        return 1
    print("VERIFIED", file=out)
    summary = {
        "subject": user.subject if user else None,
        "issuer": user.issuer if user else None,
        "roles": sorted(user.roles) if user else [],
        "claims": user.claims if user else {},
    }
    print(_dump(summary), file=out)
    return 0


# --- mint --------------------------------------------------------------------------


def _config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "jwtgate"


def _claim_value(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--claim takes NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


def _development_key(algorithm: str, err: TextIO) -> Any:
    """The saved development key for ``algorithm``, generated on first use."""
    from cryptography.hazmat.primitives import serialization

    from .algorithms import family_of
    from .testing.factory import generate_key

    path = _config_dir() / f"dev-{algorithm}.{'key' if family_of(algorithm) == 'HMAC' else 'pem'}"
    if path.exists():
        return _load_signing_key(path, algorithm)
    key = generate_key(algorithm)
    data = (
        key.hex().encode()
        if isinstance(key, bytes)
        else key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(data)
    print(f"jwtgate: created development key {path}", file=err)
    return key


def _load_signing_key(path: Path, algorithm: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from .algorithms import family_of

    data = path.read_bytes().strip()
    if family_of(algorithm) == "HMAC":
        try:
            return bytes.fromhex(data.decode())
        except ValueError:
            return data
    try:
        return load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise UsageError(f"{path} is not an unencrypted PEM private key") from None


def cmd_mint(args: argparse.Namespace, out: TextIO, stdin: TextIO, err: TextIO) -> int:
    from .testing import DEVELOPMENT_SECRET, TokenFactory

    claims = dict(_claim_value(c) for c in args.claim)
    secret = _secret(args)
    if args.netlify:
        factory = TokenFactory.netlify(secret=secret or DEVELOPMENT_SECRET)
    else:
        algorithm = args.algorithm[0] if args.algorithm else "RS256"
        key: Any
        if args.key:
            key = _load_signing_key(Path(args.key), algorithm)
        elif secret is not None:
            key = secret.encode()
        else:
            key = _development_key(algorithm, err)
        factory = TokenFactory(
            algorithm,
            issuer=args.issuer,
            audience=args.audience[0] if args.audience else None,
            roles_claim=args.roles_claim or "roles",
            key=key,
            kid=args.kid,
        )
    token = factory.token(
        sub=args.sub,
        roles=args.role or None,
        expires_in=args.expires_in,
        **claims,
    )
    print(token, file=out)
    return 0


# --- demo --------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from .demo import serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: {args.port} is not a port number (0 to 65535)")
    return serve(args.port, out)


# --- the parser ---------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser(prog: str = "jwtgate") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog, description="Decode, verify and mint JSON Web Tokens; run the demo app."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    decode = commands.add_parser("decode", help="show a token's header and claims (UNVERIFIED)")
    decode.add_argument("token", help="the token, or - to read it from stdin")

    def key_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--secret", help="HMAC secret (prefer --secret-file or JWTGATE_SECRET)")
        p.add_argument("--secret-file", help="file holding the HMAC secret")
        p.add_argument("--key", help="PEM/JWK/JWKS key file")
        p.add_argument("--issuer", help="the expected (verify) or stamped (mint) iss")
        p.add_argument("--audience", action="append", default=[], help="aud (repeatable)")
        p.add_argument("--algorithm", action="append", default=[], help="e.g. RS256 (repeatable)")
        p.add_argument("--roles-claim", help="claim path of the roles, e.g. app_metadata.roles")

    verify = commands.add_parser("verify", help="verify a token; exit 0 accepted, 1 refused")
    verify.add_argument("token", help="the token, or - to read it from stdin")
    key_options(verify)
    verify.add_argument("--jwks-url", help="the issuer's JWKS URL")
    verify.add_argument(
        "--discovery",
        nargs="?",
        const="auto",
        help="use OIDC discovery (optionally the configuration URL)",
    )
    verify.add_argument("--preset", help="netlify, privy, oidc …")
    verify.add_argument("--leeway", type=float, default=0, help="seconds of clock skew allowed")

    mint = commands.add_parser("mint", help="mint a development token")
    key_options(mint)
    mint.add_argument("--netlify", action="store_true", help="a Netlify Identity shaped token")
    mint.add_argument("--sub", default="dev-user", help="the subject (default dev-user)")
    mint.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    mint.add_argument("--claim", action="append", default=[], help="NAME=JSON (repeatable)")
    mint.add_argument("--expires-in", type=int, default=3600, help="seconds (default 3600)")
    mint.add_argument("--kid", help="the header kid")

    demo = commands.add_parser("demo", help="run the example app on 127.0.0.1 with curl examples")
    demo.add_argument(
        "--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0: any free port)"
    )
    cli_revoke.add_parser(commands)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit code."""
    out, err, inp = stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin
    try:
        args = _parser().parse_args(argv)
        if args.command == "decode":
            return cmd_decode(args, out, inp)
        if args.command == "verify":
            return cmd_verify(args, out, inp)
        if args.command == "demo":
            return cmd_demo(args, out)
        if args.command == "revoke":
            return cli_revoke.run(args, out, err, lambda value: _read_token(value, inp))
        return cmd_mint(args, out, inp, err)
    except (UsageError, ConfigurationError, AuthError) as error:
        message = error.description if isinstance(error, AuthError) else str(error)
        print(f"jwtgate: error: {message}", file=err)
        return 2
    except OSError as error:
        print(
            f"jwtgate: error: {error.strerror or error}: {error.filename or ''}".rstrip(), file=err
        )
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
