"""Print a development token the example app accepts in development mode.

    python examples/flask_app/dev_token.py             # a reader
    python examples/flask_app/dev_token.py --admin     # an admin

Signed with jwtgate's public development key: useless against a real site.
"""

from __future__ import annotations

import argparse

from app import development_token

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print a development token.")
    parser.add_argument("--admin", action="store_true", help="with the admin role")
    parser.add_argument("--email", default=None, help="the token's email claim")
    args = parser.parse_args()
    email = args.email or ("admin@example.com" if args.admin else "reader@example.com")
    print(development_token(email=email, roles=("admin",) if args.admin else ()))
