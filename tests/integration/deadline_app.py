"""An ASGI app whose issuer's keys come from ``DEADLINE_JWKS_URL`` with a 1 s fetch deadline.

Served by uvicorn in ``test_jwks_deadline.py``: tokens are the test's ES256
``TokenFactory``'s (issuer ``https://issuer.test/``, audience ``api``).
"""

from __future__ import annotations

import os

from jwtgate import Gate, Issuer, require_auth
from jwtgate.asgi import GateMiddleware, Message, Receive, Scope, Send
from jwtgate.remote import RemoteOptions

gate = Gate(
    issuers=[
        Issuer(
            "https://issuer.test/",
            algorithms=["ES256"],
            audience="api",
            jwks_url=os.environ["DEADLINE_JWKS_URL"],
            remote=RemoteOptions(timeout=float(os.environ.get("DEADLINE_TIMEOUT", "1.0"))),
        )
    ]
)


@require_auth
async def _endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    body = str(scope["user"].subject).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    start: Message = {"type": "http.response.start", "status": 200, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})


app = GateMiddleware(_endpoint, gate)
