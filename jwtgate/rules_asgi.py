"""Path rules under ASGI: what ``GateMiddleware(app, gate=gate, rules=...)`` puts before the app.

``RulesApp`` runs once the middleware has set ``scope["user"]`` and
``scope["jwtgate.error"]``; it asks the ``RuleTable`` once per connection and
then calls the app with the scope unchanged or rewritten (``path``,
``raw_path``, ``query_string``), calls it for the ``to`` page whose 2xx
status becomes the rule's 401/403/404 (a browser's page load), or answers by
itself. A websocket handshake a rule answers is denied: with the rule's HTTP
response where the server supports the denial extension, else closed with
1008. Paths are matched within the app: without ``root_path`` when ``path``
starts with it. CORS preflights go through untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from .asgi import WS_POLICY_VIOLATION, ASGIApp, Message, Receive, Scope, Send, is_preflight
from .errors import AuthError
from .rules import Decision, RuleTable, answer, is_navigation
from .rules_observe import decision_report

if TYPE_CHECKING:
    from .observe import Reporter

__all__ = ["RULE_KEY", "RulesApp"]

#: The scope key holding the ``Decision`` for a connection a rule decided.
RULE_KEY: Final = "jwtgate.rule"


class RulesApp:
    """An ASGI app applying ``table`` to each http and websocket connection.

    ``reporter`` (the gate's link to its observer) hears each decision.
    """

    __slots__ = ("_report", "app", "table")

    def __init__(self, app: ASGIApp, table: RuleTable, reporter: Reporter | None = None) -> None:
        self.app = app
        self.table = table
        self._report = decision_report(reporter, table)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")
        path: str = scope.get("path", "/") or "/"
        if root and path.startswith(root) and path != root:
            path = path[len(root) :]
        else:
            root = ""
        user = scope.get("user")
        decision = self.table.decide(
            path,
            user.roles if user is not None else frozenset(),
            scope.get("query_string", b"").decode("latin-1"),
        )
        # A CORS preflight is not ruled on: the app's CORS layer answers it.
        if decision is None or is_preflight(scope):
            await self.app(scope, receive, send)
            return
        report = self._report
        if report is not None:
            report(decision)
        scope = dict(scope)
        scope[RULE_KEY] = decision
        status = decision.status
        if status == 200:
            if decision.location is not None:
                _rewrite(scope, decision, root)
            await self.app(scope, receive, send)
            return
        # Only an answer (401, 403, 404) depends on who is asking: a page for a browser.
        navigation = (
            status >= 400
            and scope["type"] == "http"
            and is_navigation(scope["method"], _Headers(scope).get)
        )
        if navigation and decision.target_path is not None:
            # A browser gets the rule's page, with the rule's status.
            _rewrite(scope, decision, root)
            await self.app(scope, receive, _with_status(send, decision))
            return
        error = scope.get("jwtgate.error")
        code, response_headers, body = answer(
            decision,
            authenticated=user is not None and user.is_authenticated,
            error=error if isinstance(error, AuthError) else None,
            navigation=navigation,
            prefix=root,
        )
        raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response_headers
        ]
        if scope["type"] == "websocket":
            await _deny(scope, receive, send, code, raw_headers, body)
            return
        await send({"type": "http.response.start", "status": code, "headers": raw_headers})
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.body", "body": body})

    def __repr__(self) -> str:
        return f"RulesApp({self.app!r}, {self.table!r})"


class _Headers:
    """Request headers by lowercase name, read from the scope only when asked."""

    __slots__ = ("_scope",)

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def get(self, name: str) -> str | None:
        wanted = name.encode("latin-1")
        for key, value in self._scope.get("headers", ()):
            if key == wanted:
                text: str = value.decode("latin-1")
                return text
        return None


def _rewrite(scope: Scope, decision: Decision, root: str) -> None:
    """Point the connection at the decision's target: ``path``, ``raw_path``, ``query_string``."""
    # A rewrite or an answer page always targets a path of the app (Rule checks it).
    target = decision.target_path or decision.path
    scope["path"] = root + target
    location = decision.location or ""
    raw = location.partition("#")[0].partition("?")[0]
    scope["raw_path"] = (quote(root, safe="/") + raw).encode("ascii")
    scope["query_string"] = decision.target_query.encode("latin-1")


def _with_status(send: Send, decision: Decision) -> Send:
    """``send`` that gives a successful page the rule's status (401, 403, 404)."""
    personal = decision.personal

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
            message = dict(message)
            message["status"] = decision.status
            if personal:
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if k.lower() != b"cache-control"
                ]
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
        await send(message)

    return sending


async def _deny(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    """Refuse a websocket handshake a rule answers (never accept it)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION})
