"""``jwtgate revoke``: revoke a token, a subject or a session in Redis, for every worker.

    jwtgate revoke --redis URL token TOKEN        (or - to read it from stdin)
    jwtgate revoke --redis URL subject SUB        (--restore undoes it)
    jwtgate revoke --redis URL session SID

``--redis`` defaults to ``$JWTGATE_REDIS_URL``. Exit codes: 0 done, 1 Redis did
not confirm the change (it may still be applied: run the command again), 2
a usage or configuration error. Errors are one line on stderr; the URL's
password is never printed.
"""

from __future__ import annotations

import argparse
import datetime
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .revocation import RedisRevocations

# The store's default, repeated so that building the parser imports no store.
_DEFAULT_LIFETIME = 86_400.0

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add the ``revoke`` command to the ``jwtgate`` parser's subcommands."""
    revoke = commands.add_parser(
        "revoke",
        help="revoke a token, a subject or a session in Redis, for every worker",
        description="Record a revocation in Redis; every worker refuses it within milliseconds.",
    )
    revoke.add_argument("--redis", help="the Redis URL (default: $JWTGATE_REDIS_URL)")
    revoke.add_argument("--prefix", default="jwtgate:", help="the key prefix (default jwtgate:)")
    revoke.add_argument(
        "--timeout", type=float, default=2.0, help="seconds to wait for Redis (default 2)"
    )
    what = revoke.add_subparsers(dest="what", required=True, parser_class=type(revoke))
    token = what.add_parser("token", help="that token, until it expires")
    token.add_argument("token", help="the token, or - to read it from stdin")
    lifetime = {
        "type": float,
        "default": _DEFAULT_LIFETIME,
        "help": "how long it lasts, in seconds: the longest token lifetime (default 86400)",
    }
    subject = what.add_parser("subject", help="every token of a subject issued until now")
    subject.add_argument("sub", help="the sub claim")
    subject.add_argument("--restore", action="store_true", help="undo: accept its tokens again")
    subject.add_argument("--max-token-lifetime", **lifetime)
    session = what.add_parser("session", help="every token of a session (sid, session_id)")
    session.add_argument("sid", help="the session id")
    session.add_argument("--max-token-lifetime", **lifetime)


def _utc(moment: float) -> str:
    return f"{datetime.datetime.fromtimestamp(moment, datetime.UTC):%Y-%m-%dT%H:%M:%SZ}"


def _store(args: argparse.Namespace) -> RedisRevocations:
    from .revocation import RedisRevocations

    url = args.redis or os.environ.get("JWTGATE_REDIS_URL")
    if not url:
        raise ConfigurationError("--redis: give the Redis URL, or set JWTGATE_REDIS_URL")
    if not 0.01 <= args.timeout <= 30:
        raise ConfigurationError("--timeout: must be between 0.01 and 30 seconds")
    # The store's errors name its parameters; the jwtgate command spells them as flags.
    return RedisRevocations(
        url,
        prefix=args.prefix,
        timeout=args.timeout,
        max_token_lifetime=getattr(args, "max_token_lifetime", _DEFAULT_LIFETIME),
    )


def run(
    args: argparse.Namespace, out: TextIO, err: TextIO, read_token: Callable[[str], str]
) -> int:
    """Carry out ``jwtgate revoke``; the exit code."""
    from .revocation import RevocationError, token_key

    token = read_token(args.token) if args.what == "token" else None
    store = _store(args)
    try:
        if token is not None:
            key, exp = token_key(token)
            how = "by its jti" if key[0] == "jti" else "by a digest of its signed part"
            until = store._token_until(exp)
            if until is not None and until <= store._clock():
                print(f"the token has expired ({_utc(exp or until)}): nothing to revoke", file=out)
                return 0
            store.revoke(token)
            ends = "never (it has no exp)" if until is None else _utc(until)
            print(f"revoked the token ({how}); refused until {ends}", file=out)
        elif args.what == "subject" and args.restore:
            store.restore_subject(args.sub)
            print(f"restored subject {args.sub!r}: its earlier tokens are accepted again", file=out)
        elif args.what == "subject":
            now = store._clock()
            store.revoke_subject(args.sub)
            print(
                f"revoked subject {args.sub!r}: its tokens issued until {_utc(now)} "
                f"are refused until {_utc(now + store.max_token_lifetime)}",
                file=out,
            )
        else:
            now = store._clock()
            store.revoke_session(args.sid)
            print(
                f"revoked session {args.sid!r} until {_utc(now + store.max_token_lifetime)}",
                file=out,
            )
    except RevocationError as error:
        print(f"jwtgate: error: {error}", file=err)
        return 1
    except ValueError as error:  # an empty subject or session id
        raise ConfigurationError(str(error)) from None
    finally:
        store.close()
    return 0
