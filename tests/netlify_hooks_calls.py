"""Identity event calls signed as GoTrue signs them (``tests/netlify_engine/gotrue_hooks.mjs``).

The signatures come from the npm ``jsonwebtoken`` in a Node process, the
bodies are encoded as Go's ``encoding/json`` encodes them: nothing here is
signed by jwtgate. ``CASES`` lists each call with the answer it must get.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from tests.netlify_corpus import ENGINE_DIR, engine_node

SECRET = "a-site-jwt-secret-for-local-tests-only-0123456789"
INSTANCE = "6f8f3c2e-2b8e-4a57-9a51-2d7d9e6c1a40"
COMPANY = "example.com"


def user(email: str, **extra: Any) -> dict[str, Any]:
    """A GoTrue user object, its fields in models.User's order."""
    return {
        "id": "8d0c6f7e-1111-4a57-9a51-2d7d9e6c1a40",
        "aud": "",
        "role": "",
        "email": email,
        "confirmed_at": "2024-05-01T10:00:00Z",
        "app_metadata": {"provider": "email"},
        "user_metadata": extra.pop("user_metadata", {"full_name": "Ada"}),
        "created_at": "2024-05-01T09:59:00Z",
        "updated_at": "2024-05-01T10:00:00Z",
        **extra,
    }


@dataclass(frozen=True)
class Case:
    """A call, the status it gets, its error code, and whether the handler runs."""

    name: str
    spec: dict[str, Any]
    status: int
    error: str | None = None
    reaches_handler: bool = False


CASES = [
    Case("signup-company", {"event": "signup", "user": user(f"ada@{COMPANY}")}, 200, None, True),
    Case("signup-other", {"event": "signup", "user": user("bob@mail.test")}, 204, None, True),
    Case(
        "signup-html",
        {"event": "signup", "user": user(f"eve@{COMPANY}", user_metadata={"name": "<Eve & Co>"})},
        200,
        None,
        True,
    ),
    Case("validate-refused", {"event": "validate", "user": user("x@spam.test")}, 403, None, True),
    Case("login", {"event": "login", "user": user(f"ada@{COMPANY}")}, 204, None, True),
    Case("no-handler", {"event": "usermodified", "user": user("ada@mail.test")}, 204),
    Case("wrong-secret", {"event": "signup", "user": user("m@mail.test"), "secret": "x" * 40},
         401, "invalid_signature"),
    Case("stale", {"event": "signup", "user": user("m@mail.test"), "iat_offset": -3600},
         401, "stale_signature"),
    Case("future", {"event": "signup", "user": user("m@mail.test"), "iat_offset": 3600},
         401, "stale_signature"),
    Case("tampered", {"event": "signup", "user": user("m@mail.test"),
                      "tamper": ["m@mail.test", f"m@{COMPANY}"]}, 400, "body_mismatch"),
    Case("no-signature", {"event": "signup", "user": user("m@mail.test"), "no_signature": True},
         401, "missing_signature"),
    Case("hs512", {"event": "signup", "user": user("m@mail.test"), "alg": "HS512"},
         401, "invalid_signature"),
    Case("rs256", {"event": "signup", "user": user("m@mail.test"), "alg": "RS256"},
         401, "invalid_signature"),
    Case("alg-none", {"event": "signup", "user": user("m@mail.test"), "alg": "none"},
         401, "invalid_signature"),
    Case("not-gotrue", {"event": "signup", "user": user("m@mail.test"), "iss": "netlify"},
         401, "invalid_signature"),
    Case("other-instance", {"event": "signup", "user": user("m@mail.test"), "sub": "0" * 36},
         401, "invalid_signature"),
    Case("no-hash", {"event": "signup", "user": user("m@mail.test"), "no_sha": True},
         401, "invalid_signature"),
    Case("not-an-event", {"event": "signup", "user": {}, "raw_body": "[1, 2, 3]"},
         400, "invalid_event"),
]  # fmt: skip


@dataclass(frozen=True)
class Call:
    body: bytes
    signature: str | None

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "X-Netlify-Event": "identity_signup"}
        if self.signature is not None:
            headers["X-Webhook-Signature"] = self.signature
        return headers


def make_calls() -> dict[str, Call]:
    """Every case's call, signed now by jsonwebtoken in one Node process."""
    now = int(time.time())
    cases = []
    for case in CASES:
        spec = dict(case.spec)
        offset = spec.pop("iat_offset", 0)
        spec["iat"] = now + offset
        cases.append({"name": case.name, **spec})
    done = subprocess.run(
        [engine_node(), str(ENGINE_DIR / "gotrue_hooks.mjs")],
        input=json.dumps({"secret": SECRET, "instance_id": INSTANCE, "now": now, "cases": cases}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"signing the calls failed:\n{done.stderr[-4000:]}")
    return {
        item["name"]: Call(base64.b64decode(item["body"]), item["signature"])
        for item in json.loads(done.stdout)
    }
