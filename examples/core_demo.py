"""Verify Netlify Identity tokens with jwtgate's core alone: no web framework.

Run: ``python examples/core_demo.py``. It mints tokens with the public
development secret, then shows what the gate accepts and how it refuses.
"""

from __future__ import annotations

from jwtgate import AuthError, Gate
from jwtgate.presets import netlify
from jwtgate.testing import DEVELOPMENT_SECRET, TokenFactory


def main() -> None:
    gate = Gate(issuers=[netlify(jwt_secret=DEVELOPMENT_SECRET)])
    tokens = TokenFactory.netlify(secret=DEVELOPMENT_SECRET)  # signs as the "site" would

    token = tokens.token(sub="ada", email="ada@example.com", roles=["admin"])
    user = gate.authenticate(headers={"Cookie": f"nf_jwt={token}"})
    if user is not None:
        print(f"accepted  {user.display_name} roles={sorted(user.roles)} from {user.source}")

    for name, bad in [
        ("expired", tokens.expired()),
        ("tampered", tokens.tampered()),
        ("alg none", tokens.alg_none()),
        ("another site", TokenFactory.netlify().token()),
    ]:
        try:
            gate.authenticate(headers={"Authorization": f"Bearer {bad}"})
        except AuthError as error:
            print(f"refused   {name:<13} {error.status} {error.challenge()}")
    print(f"anonymous {gate.authenticate(headers={}) is None}")


if __name__ == "__main__":
    main()
