"""What the providers' own token sources add to a cache hit.

Run: ``python benchmarks/bench_sources.py`` (add ``--quick`` for a short run).

A cache hit is ``Gate.authenticate`` on a token verified before. Most sources
only slice a header; two presets bring sources that do more on every request:
Clerk's ``__session`` cookie (read only while ``__client_uat`` is a sign-in at
or before the token's ``iat``, which means decoding the unverified payload)
and Supabase's session cookie (base64url JSON, maybe in chunks, remembered
once decoded). Each is measured beside a plain ``cookie:NAME`` source on the
same token, interleaved, so the ratio shows their own cost.
"""

from __future__ import annotations

import argparse
import base64
import json
import time

from bench_core import run_interleaved

from jwtgate import Gate
from jwtgate.presets import ClerkSessionCookie, SupabaseSessionCookie
from jwtgate.testing import TokenFactory

NOW = time.time()


def session_cookie(token: str, padding: int) -> str:
    session = {"access_token": token, "refresh_token": "r", "user": {"bio": "x" * padding}}
    encoded = base64.urlsafe_b64encode(json.dumps(session).encode()).decode().rstrip("=")
    return "base64-" + encoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repetitions")
    args = parser.parse_args()
    repeats, target = (3, 0.05) if args.quick else (9, 0.2)

    tokens = TokenFactory("ES256", clock=lambda: NOW)
    issuer = tokens.issuer_config()
    token = tokens.token(sub="u1", roles=["admin"])
    cookie = session_cookie(token, 2000)
    chunks = [cookie[i : i + 3180] for i in range(0, len(cookie), 3180)]
    jars = {
        "plain cookie": ("cookie:t", f"t={token}; __client_uat={int(NOW) - 60}"),
        "Clerk __session": (ClerkSessionCookie("t"), f"t={token}; __client_uat={int(NOW) - 60}"),
        "Supabase session (one cookie)": (SupabaseSessionCookie("sb"), f"sb={cookie}"),
        "Supabase session (chunks)": (
            SupabaseSessionCookie("sb"),
            "; ".join(f"sb.{n}={chunk}" for n, chunk in enumerate(chunks)),
        ),
    }
    cases = {}
    for name, (source, jar) in jars.items():
        gate = Gate(issuers=[issuer], sources=[source], clock=lambda: NOW)
        headers = {"Cookie": jar}
        assert gate.authenticate(headers=headers) is not None  # verified once: now a hit
        cases[name] = lambda gate=gate, headers=headers: gate.authenticate(headers=headers)
    result = run_interleaved(cases, repeats, target)
    base = result["plain cookie"]
    print(f"median of {repeats} interleaved repetitions; µs per cached authenticate() call\n")
    for name, seconds in result.items():
        print(f"{name:<32} {seconds * 1e6:8.2f} µs   ×{seconds / base:.2f} of a plain cookie")


if __name__ == "__main__":
    main()
