"""Helpers for the ASGI tests: drive an ASGI app by hand and see every message it sends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jwtgate.context import current_auth

NOW = 1_800_000_000.0

Message = dict[str, Any]
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class FrozenClock:
    """A clock tests move by hand, so nothing ever sleeps."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Result:
    """What an app sent for one connection."""

    messages: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        for message in self.messages:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                return int(message["status"])
        raise AssertionError("no response was started")

    @property
    def headers(self) -> dict[str, str]:
        for message in self.messages:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                return {k.decode(): v.decode() for k, v in message["headers"]}
        raise AssertionError("no response was started")

    @property
    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"")
            for m in self.messages
            if m["type"] in ("http.response.body", "websocket.http.response.body")
        )

    def json(self) -> Any:
        return json.loads(self.body)

    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]


def http_scope(
    headers: Iterable[tuple[str, str]] = (),
    *,
    method: str = "GET",
    path: str = "/",
    query: str = "",
    kind: str = "http",
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    if kind == "http":
        scope["method"] = method
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


def run(app: App, scope: dict[str, Any], incoming: Iterable[Message] | None = None) -> Result:
    """Call ``app`` once and collect what it sends."""
    result = Result()
    if incoming is None:
        incoming = (
            [{"type": "http.request", "body": b"", "more_body": False}]
            if scope["type"] == "http"
            else [{"type": "websocket.connect"}]
        )
    queue = list(incoming)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(0)
        return {"type": "http.disconnect" if scope["type"] == "http" else "websocket.disconnect"}

    async def send(message: Message) -> None:
        result.messages.append(message)

    asyncio.run(app(scope, receive, send))
    return result


class Recorder:
    """An inner ASGI app that records the scope and context it is called with, then answers."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.scopes: list[dict[str, Any]] = []
        self.auths: list[Any] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        self.auths.append(current_auth())
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1000})
            return
        user = scope.get("user")
        body = json.dumps({"sub": getattr(user, "subject", None)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @property
    def scope(self) -> dict[str, Any]:
        return self.scopes[-1]
