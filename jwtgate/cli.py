"""The ``jwtgate`` command: decode, verify and mint tokens, and run the demo app.

Exit codes: 0 success, 1 a token was refused, 2 a usage or configuration
error (or an issuer's keys that could not be fetched). Errors are one line on
stderr, never a traceback, naming the flag to change.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import __version__, _cliargs, cli_revoke
from .errors import AuthError, ConfigurationError, KeysUnavailable
from .gate import Gate
from .issuer import Issuer
from .jws import parse
from .preset_settings import PRESET_SETTINGS, Field, PresetSettings
from .settings import Settings

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


def _read(path: Path, flag: str) -> bytes:
    """A file named on the command line; a failure names the flag too."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(f"{flag}: cannot read {path}: {error.strerror or error}") from None


def _secret(args: argparse.Namespace, setting: str = "JWTGATE_SECRET") -> str | None:
    """``--secret-file``, ``--secret``, else the ``setting`` from the environment.

    ``JWTGATE_SECRET`` is the generic issuer's HMAC secret, as everywhere;
    the Netlify site's is ``JWTGATE_NETLIFY_JWT_SECRET`` (see ``jwtgate.settings``).
    """
    if args.secret_file:
        return _read(Path(args.secret_file), "--secret-file").decode(errors="replace").strip()
    if args.secret:
        return str(args.secret)
    return Settings(os.environ).text(setting)


def _verification_key(path: Path) -> Any:
    """A key file's content (PEM, DER, JWK or JWKS); for a private PEM (a development
    key), its public key."""
    data = _read(path, "--key")
    if b"PRIVATE KEY" not in data:
        return data
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(data, password=None).public_key()
    except (ValueError, TypeError):
        raise UsageError(f"--key: {path} is not an unencrypted PEM private key") from None


#: ``verify --preset NAME``: each preset, built from its ``JWTGATE_<NAME>_*`` settings
#: (see ``jwtgate.preset_settings``) and the flags that stand for them.
PRESETS: dict[str, PresetSettings] = {preset.name: preset for preset in PRESET_SETTINGS}

# The command line's options, in the words of the JWTGATE_* settings they stand for.
_FLAGS = {
    "JWTGATE_ALGORITHMS": "--algorithm",
    "JWTGATE_ISSUER": "--issuer",
    "JWTGATE_AUDIENCE": "--audience",
    "JWTGATE_ROLES_CLAIM": "--roles-claim",
    "JWTGATE_LEEWAY": "--leeway",
    "JWTGATE_PUBLIC_KEY": "--key",
    "JWTGATE_JWKS_URL": "--jwks-url",
    "JWTGATE_DISCOVERY": "--discovery",
}
# The options that describe an issuer, by flag. Any of them on the command line
# describes the issuer: the environment's settings are not read.
_ISSUER_FLAGS = {
    "--algorithm": "algorithm",
    "--secret": "secret",
    "--secret-file": "secret_file",
    "--key": "key",
    "--jwks-url": "jwks_url",
    "--discovery": "discovery",
    "--issuer": "issuer",
    "--audience": "audience",
    "--roles-claim": "roles_claim",
    "--leeway": "leeway",
}


def _flag_value(args: argparse.Namespace, flag: str, field: Field, preset: str) -> Any:
    """What ``flag`` gives for ``field`` on this command line, ``None`` when not given."""
    value = getattr(args, _ISSUER_FLAGS[flag])
    if value is None or value == []:
        return None
    if flag == "--secret-file":
        return _read(Path(value), flag).decode(errors="replace").strip()
    if flag == "--key":
        return _verification_key(Path(value))
    if isinstance(value, list) and field.kind in ("text", "key"):
        if len(value) > 1:
            raise UsageError(f"{flag}: --preset {preset} takes one")
        return value[0]
    return value


def _preset_gate(args: argparse.Namespace, options: dict[str, Any]) -> Gate:
    """``verify --preset NAME``: the preset's settings from the environment, flags winning."""
    preset = PRESETS[args.preset]
    taken = {flag for field in preset.fields for flag in field.flags}
    for flag, attribute in _ISSUER_FLAGS.items():
        if getattr(args, attribute) not in (None, []) and flag not in taken:
            raise UsageError(f"--preset {preset.name} does not take {flag}")
    if args.secret and args.secret_file:
        raise UsageError("--secret, --secret-file: give one or the other")
    environment = Settings(os.environ).values
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for field in preset.fields:
        values[field.setting] = environment.get(field.setting)
        for flag in field.flags:
            value = _flag_value(args, flag, field, preset.name)
            if value is not None:
                values[field.setting], labels[field.setting] = value, flag
    missing = [field for field in preset.fields if field.required and values[field.setting] is None]
    if missing:
        wanted = [_cliargs.one_of([*field.flags, field.setting]) for field in missing]
        if any(field.flags for field in missing):
            needs = "; ".join(wanted)
        else:
            needs = _cliargs.one_of(wanted, "and")
        raise UsageError(f"--preset {preset.name} needs {needs}")
    gate = Settings(values, labels=labels).gate(**options)
    assert gate is not None  # noqa: S101 - its required settings are there
    return gate


def _verifying_gate(args: argparse.Namespace) -> Gate:
    """The gate ``verify`` uses: a preset, the options, else the environment's settings."""
    options: dict[str, Any] = {"sources": ["bearer"], "cache_size": 0}
    if args.preset is not None:
        return _preset_gate(args, options)
    if all(getattr(args, name) in (None, []) for name in _ISSUER_FLAGS.values()):
        # No issuer on the command line: verify as the app configured by JWTGATE_* would.
        gate = Settings(os.environ).gate(**options)
        if gate is None:
            raise UsageError(
                "give --algorithm (repeatable), e.g. --algorithm RS256, with a key, "
                "or set the JWTGATE_* variables of the app"
            )
        return gate
    key = _verification_key(Path(args.key)) if args.key else None
    values: dict[str, Any] = {
        "JWTGATE_ALGORITHMS": args.algorithm or None,
        "JWTGATE_ISSUER": args.issuer,
        "JWTGATE_AUDIENCE": args.audience or None,
        "JWTGATE_ROLES_CLAIM": args.roles_claim,
        "JWTGATE_LEEWAY": args.leeway,
        "JWTGATE_SECRET": _secret(args),
        "JWTGATE_PUBLIC_KEY": key,
        "JWTGATE_JWKS_URL": args.jwks_url,
        "JWTGATE_DISCOVERY": True if args.discovery == "auto" else args.discovery,
    }
    labels = dict(_FLAGS)
    from_environment = values["JWTGATE_SECRET"] is not None and not args.secret
    labels["JWTGATE_SECRET"] = (
        "--secret-file"
        if args.secret_file
        else "JWTGATE_SECRET"
        if from_environment
        else "--secret"
    )
    gate = Settings(values, labels=labels).gate(**options)
    assert gate is not None  # noqa: S101 - an issuer option was given
    return gate


def _unreachable(issuer: Issuer) -> UsageError:
    """The one-line error for keys that could not be fetched: where from, and why."""
    url = getattr(issuer.keys, "source_url", "") or "the issuer"
    reason = _cliargs.unreachable_reason(getattr(issuer.keys, "last_error", None))
    return UsageError(f"could not fetch the issuer's keys from {url}: {reason}")


def cmd_verify(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    token = _read_token(args.token, stdin)
    gate = _verifying_gate(args)
    try:
        user = gate.authenticate(headers={"Authorization": f"Bearer {token}"})
    except KeysUnavailable:
        # Not a verdict on the token: nothing could check it.
        raise _unreachable(gate.issuers[0]) from None
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
        return _load_signing_key(path, algorithm, "the development key")
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


def _load_signing_key(path: Path, algorithm: str, flag: str = "--key") -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from .algorithms import family_of

    data = _read(path, flag).strip()
    if family_of(algorithm) == "HMAC":
        try:
            return bytes.fromhex(data.decode())
        except ValueError:
            return data
    try:
        return load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise UsageError(f"{flag}: {path} is not an unencrypted PEM private key") from None


def _check_netlify_mint(args: argparse.Namespace) -> None:
    """Refuse the flags a Netlify Identity token can't honour, rather than ignore them."""
    if args.algorithm and args.algorithm != ["HS256"]:
        raise UsageError(
            "--netlify mints HS256 tokens, as Netlify Identity signs them: drop --algorithm"
        )
    for flag, value in (
        ("--key", args.key),
        ("--issuer", args.issuer),
        ("--audience", args.audience),
        ("--roles-claim", args.roles_claim),
        ("--kid", args.kid),
    ):
        if value:
            raise UsageError(
                f"--netlify mints Netlify Identity's token shape, which has no {flag} to set"
            )


def _check_signing_key(key: Any, algorithm: str, flag: str) -> None:
    """Refuse a private key that can't sign ``algorithm`` (an RSA key for ES256 …)."""
    from .algorithms import SUPPORTED, family_of, key_fits

    if family_of(algorithm) == "HMAC" or key_fits(key.public_key(), algorithm):
        return
    fits = sorted(a for a in SUPPORTED if family_of(a) != "HMAC" and key_fits(key.public_key(), a))
    hint = f"; it signs {', '.join(fits)}" if fits else ""
    raise UsageError(f"{flag}: this key can't sign {algorithm}{hint}")


def _warn_unverifiable_secret(secret: bytes, algorithm: str, err: TextIO) -> None:
    """Say so when ``verify`` (and every jwtgate ``Issuer``) would refuse this secret."""
    from .keys import load_secret

    try:
        load_secret(secret, [algorithm])
    except ConfigurationError as error:
        message = _cliargs.flag_words(str(error))
        print(f"jwtgate: warning: verify would refuse this secret: {message}", file=err)


def cmd_mint(args: argparse.Namespace, out: TextIO, stdin: TextIO, err: TextIO) -> int:
    from .algorithms import family_of
    from .testing import DEVELOPMENT_SECRET, TokenFactory

    claims = dict(_claim_value(c) for c in args.claim)
    secret = _secret(args, "JWTGATE_NETLIFY_JWT_SECRET" if args.netlify else "JWTGATE_SECRET")
    if len(args.algorithm) > 1:
        raise UsageError("mint signs with one --algorithm")
    if len(args.audience) > 1:
        raise UsageError("""mint stamps one --audience; for a list use --claim 'aud=["a","b"]'""")
    if args.netlify:
        _check_netlify_mint(args)
        factory = TokenFactory.netlify(secret=secret or DEVELOPMENT_SECRET)
    else:
        # A secret (JWTGATE_SECRET included) signs HMAC; otherwise a key, RS256 by default.
        default = "HS256" if secret is not None and not args.key else "RS256"
        algorithm = args.algorithm[0] if args.algorithm else default
        key: Any
        if args.key:
            key = _load_signing_key(Path(args.key), algorithm)
            if not isinstance(key, bytes):
                _check_signing_key(key, algorithm, "--key")
        elif secret is not None:
            if family_of(algorithm) != "HMAC":
                raise UsageError(
                    f"--secret signs HS256, HS384 or HS512, not {algorithm}: "
                    "add --algorithm HS256, or sign with --key"
                )
            key = secret.encode()
        else:
            key = _development_key(algorithm, err)
        if isinstance(key, bytes):
            _warn_unverifiable_secret(key, algorithm, err)
        factory = TokenFactory(
            algorithm,
            issuer=args.issuer,
            audience=args.audience[0] if args.audience else None,
            roles_claim=args.roles_claim or "roles",
            key=key,
            kid=args.kid,
        )
    payload = factory.claims(sub=args.sub, roles=args.role or None, expires_in=args.expires_in)
    payload.update(claims)  # --claim wins over --sub, --role and --expires-in
    print(factory.sign(payload), file=out)
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
        prog=prog,
        description="Decode, verify, mint and revoke JSON Web Tokens; run the demo app.",
    )
    parser.add_argument("--version", action="store_true", help="print jwtgate's version")
    # Not required: with no command, main() prints the whole help rather than one line.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    decode = commands.add_parser("decode", help="show a token's header and claims (UNVERIFIED)")
    decode.add_argument("token", help="the token, or - to read it from stdin")

    def key_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--secret",
            help="HMAC secret (prefer --secret-file, or JWTGATE_SECRET; "
            "for Netlify, JWTGATE_NETLIFY_JWT_SECRET)",
        )
        p.add_argument("--secret-file", help="file holding the HMAC secret")
        p.add_argument("--key", help="PEM/JWK/JWKS key file")
        p.add_argument("--issuer", help="the expected (verify) or stamped (mint) iss")
        p.add_argument("--audience", action="append", default=[], help="aud (repeatable)")
        p.add_argument(
            "--algorithm",
            action="append",
            default=[],
            type=_cliargs.algorithm,
            help="e.g. RS256 (repeatable for verify)",
        )
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
    verify.add_argument(
        "--preset",
        type=_cliargs.choice("preset", PRESETS),
        help=f"a provider's rules: {', '.join(sorted(PRESETS))}",
    )
    verify.add_argument("--leeway", type=float, help="seconds of clock skew allowed (default 0)")

    mint = commands.add_parser("mint", help="mint a development token")
    key_options(mint)
    mint.add_argument("--netlify", action="store_true", help="a Netlify Identity shaped token")
    mint.add_argument("--sub", default="dev-user", help="the subject (default dev-user)")
    mint.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    mint.add_argument(
        "--claim",
        action="append",
        default=[],
        help="NAME=JSON (repeatable; wins over --sub, --role and --expires-in)",
    )
    mint.add_argument("--expires-in", type=int, default=3600, help="seconds (default 3600)")
    mint.add_argument("--kid", help="the header kid")

    demo = commands.add_parser(
        "demo", help="a development tool: the example app on 127.0.0.1 with curl examples"
    )
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
    # A command reports a failure in its own one line; the library's log line
    # (a key fetch that failed) would repeat it. The demo server keeps its log.
    quiet = logging.NullHandler()
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        if args.command != "demo":
            logging.getLogger("jwtgate").addHandler(quiet)
        if args.version:
            print(f"jwtgate {__version__}", file=out)
            return 0
        if args.command is None:
            parser.print_help(err)
            return 2
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
        if isinstance(error, ConfigurationError):
            message = _cliargs.flag_words(str(error))
        print(f"jwtgate: error: {message}", file=err)
        return 2
    except OSError as error:
        print(
            f"jwtgate: error: {error.strerror or error}: {error.filename or ''}".rstrip(), file=err
        )
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        logging.getLogger("jwtgate").removeHandler(quiet)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
