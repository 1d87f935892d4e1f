"""Netlify Identity (GoTrue) event hooks: verify the signed call, hand the event to a handler.

GoTrue calls a site's ``identity-validate``, ``identity-signup`` and
``identity-login`` functions, or one webhook URL for all events, with a POST
whose JSON body is ``{"event": ..., "instance_id": ..., "user": {...}}``. Its
``X-Webhook-Signature`` header is an HS256 JWT signed with the site's JWT
secret (or the webhook's own secret) whose claims are ``iss`` "gotrue",
``sub`` the instance id, ``iat`` and ``sha256``, the hex SHA-256 of the exact
body bytes (GoTrue's ``api/hooks.go``).

``WebhookVerifier`` checks all of it before anything parses the body: the
signature (HS256 only, with the strict JWS parser the gate uses), the issuer,
the instance id when one is configured, ``iat`` within a small window (a
replayed call is refused once the window has passed) and the body's hash;
only then is the body read as JSON. ``IdentityHooks`` dispatches verified
events to handlers and makes a Flask view, a WSGI app or an ASGI app
(Starlette, FastAPI) of them. A handler answers with ``event.accept()``,
``event.accept(roles=[...])`` (GoTrue writes the returned ``app_metadata``
and ``user_metadata`` onto the user) or ``event.refuse("message")``.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..errors import ConfigurationError, InvalidToken
from ..jws import parse_jws
from ..logs import logger
from ..user import FrozenDict, freeze

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from flask.typing import ResponseReturnValue

    from ..asgi import Receive, Scope, Send

__all__ = [
    "EVENTS",
    "SIGNATURE_HEADER",
    "HookResponse",
    "IdentityEvent",
    "IdentityHooks",
    "WebhookError",
    "WebhookVerifier",
]

#: The header GoTrue signs its calls with.
SIGNATURE_HEADER: Final = "X-Webhook-Signature"
#: GoTrue's events (``identity-signup`` is the function that receives ``signup``).
EVENTS: Final = frozenset({"validate", "signup", "login", "userdeleted", "usermodified"})
#: What GoTrue reads as success; any other status refuses the signup or login.
ACCEPTED_STATUSES: Final = frozenset({200, 202, 204})

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_MAX_SIGNATURE = 8 * 1024
_MIN_SECRET = 32


class WebhookError(Exception):
    """A call refused before its handler ran: status, a short code, a description safe to send.

    401 for the signature (missing, malformed, wrong secret or algorithm, not
    GoTrue's, too old), 400 for a body that does not match its signature or is
    not an event, 405/411/413 for the wrong method or size. The description
    never holds the secret, the signature or the body.
    """

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> HookResponse:
        """The JSON answer: ``{"error": ..., "error_description": ...}``."""
        body = json.dumps({"error": self.error, "error_description": self.description})
        headers: tuple[tuple[str, str], ...] = (
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
        )
        if self.status == 405:
            headers += (("Allow", "POST"),)
        return HookResponse(self.status, body.encode(), headers)

    def __repr__(self) -> str:
        return f"WebhookError({self.status}, {self.error!r})"


@dataclass(frozen=True, slots=True)
class HookResponse:
    """What the hook answers GoTrue: a status, a body, headers."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _thawed(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_thawed(item) for item in value]
    return value


@dataclass(frozen=True)
class IdentityEvent:
    """A verified Identity event: its name, the instance and the user, read-only.

    ``event`` is GoTrue's name (``"signup"``, ``"validate"``, ``"login"`` …),
    ``instance_id`` the Identity instance (the signature's ``sub``), ``user``
    GoTrue's user object (``id``, ``email``, ``app_metadata``,
    ``user_metadata`` …) and ``body`` the exact bytes that were signed.
    """

    event: str
    instance_id: str
    user: Mapping[str, Any]
    body: bytes = field(repr=False)

    @property
    def email(self) -> str | None:
        """The user's email address, if GoTrue sent one."""
        email = self.user.get("email")
        return email if isinstance(email, str) else None

    @property
    def app_metadata(self) -> Mapping[str, Any]:
        """The user's ``app_metadata`` (where Netlify keeps ``roles``), read-only."""
        value = self.user.get("app_metadata")
        return value if isinstance(value, Mapping) else FrozenDict()

    @property
    def user_metadata(self) -> Mapping[str, Any]:
        """The user's ``user_metadata`` (what the user may edit), read-only."""
        value = self.user.get("user_metadata")
        return value if isinstance(value, Mapping) else FrozenDict()

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles in ``app_metadata.roles``."""
        roles = self.app_metadata.get("roles")
        if not isinstance(roles, tuple | list):
            return ()
        return tuple(role for role in roles if isinstance(role, str))

    def accept(
        self,
        *,
        roles: Iterable[str] | None = None,
        app_metadata: Mapping[str, Any] | None = None,
        user_metadata: Mapping[str, Any] | None = None,
    ) -> HookResponse:
        """Let the signup or login go ahead, optionally changing the user's metadata.

        GoTrue replaces the user's ``app_metadata`` (and ``user_metadata``)
        with what a hook returns, so what is given here is merged into the
        user's current metadata and the whole is returned: nothing is lost by
        setting one key. ``roles`` sets ``app_metadata.roles``; a key set to
        ``None`` is removed. Without changes the answer is a bare 204.
        """
        if roles is None and app_metadata is None and user_metadata is None:
            return HookResponse(204)
        payload: dict[str, Any] = {}
        if roles is not None or app_metadata is not None:
            merged = _thawed(self.app_metadata)
            merged.update(_thawed(app_metadata or {}))
            if roles is not None:
                if isinstance(roles, str):
                    raise TypeError('roles: a list of role names, e.g. roles=["member"]')
                names = list(roles)
                if not all(isinstance(name, str) and name for name in names):
                    raise TypeError("roles: role names are non-empty strings")
                merged["roles"] = names
            payload["app_metadata"] = merged
        if user_metadata is not None:
            merged = _thawed(self.user_metadata)
            merged.update(_thawed(user_metadata))
            payload["user_metadata"] = merged
        body = json.dumps(payload, separators=(",", ":")).encode()
        return HookResponse(200, body, (("Content-Type", "application/json"),))

    def refuse(self, message: str = "Refused", *, status: int = 403) -> HookResponse:
        """Refuse the signup or login: any status but 200, 202 and 204 does.

        The body is GoTrue's own error shape, ``{"code": status, "msg": message}``.
        """
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("refuse: status must be a 4xx or 5xx code")
        body = json.dumps({"code": status, "msg": str(message)}).encode()
        return HookResponse(status, body, (("Content-Type", "application/json"),))


class WebhookVerifier:
    """Checks GoTrue's ``X-Webhook-Signature`` against the exact body, then parses it.

    ``secret``: the site's Identity JWT secret (for ``identity-*`` functions)
    or the webhook's secret (for a webhook URL), at least 32 bytes.
    ``instance_id``: the Identity instance the calls must come from (the
    signature's ``sub``); any when ``None``. ``max_age``: seconds a signature
    is accepted after its ``iat`` (GoTrue retries a failed call at once, three
    times at most); ``leeway``: seconds its ``iat`` may lie in the future, for
    clocks that drift. ``max_body``: bytes a body may have.
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        instance_id: str | None = None,
        max_age: float = 300,
        leeway: float = 30,
        max_body: int = 256 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not isinstance(secret, bytes) or len(secret) < _MIN_SECRET:
            raise ConfigurationError(
                f"secret: the hook secret must be at least {_MIN_SECRET} bytes "
                "(the site's JWT secret or the webhook's secret)"
            )
        if instance_id is not None and (not isinstance(instance_id, str) or not instance_id):
            raise ConfigurationError("instance_id: the Identity instance id, or None")
        for name, value, low, high in (("max_age", max_age, 1, 3600), ("leeway", leeway, 0, 300)):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not low <= value <= high:
                raise ConfigurationError(f"{name}: seconds, from {low} to {high}")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1024:
            raise ConfigurationError("max_body: bytes, at least 1024")
        if not callable(clock):
            raise ConfigurationError("clock: a function returning the time in seconds")
        self._secret = secret
        self.instance_id = instance_id
        self.max_age = max_age
        self.leeway = leeway
        self.max_body = max_body
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"WebhookVerifier(secret=<{len(self._secret)} bytes>, "
            f"instance_id={self.instance_id!r}, max_age={self.max_age}, leeway={self.leeway})"
        )

    def verify(self, signature: str | None, body: bytes) -> IdentityEvent:
        """The event ``body`` holds, once ``signature`` proves GoTrue sent exactly it.

        Raises ``WebhookError``: 401 for the signature, 400 for the body, 413
        for a body over ``max_body``.
        """
        claims = self._claims(signature)
        if len(body) > self.max_body:
            raise WebhookError(413, "body_too_large", "The body is too large")
        digest = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(digest, str(claims["sha256"]).lower()):
            raise WebhookError(400, "body_mismatch", "The body does not match its signature")
        return self._event(body, claims["sub"])

    def _claims(self, signature: str | None) -> Mapping[str, Any]:
        if not signature:
            raise WebhookError(401, "missing_signature", f"{SIGNATURE_HEADER} is required")
        if len(signature) > _MAX_SIGNATURE or not signature.isascii():
            raise WebhookError(401, "invalid_signature", "The signature is malformed")
        try:
            jws = parse_jws(signature.strip())
        except InvalidToken:
            raise WebhookError(401, "invalid_signature", "The signature is malformed") from None
        # Only HS256, as GoTrue signs: never "none", never a public-key algorithm.
        if jws.header.get("alg") != "HS256" or "crit" in jws.header:
            raise WebhookError(401, "invalid_signature", "The signature's algorithm must be HS256")
        expected = hmac.new(self._secret, jws.signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, jws.signature):
            raise WebhookError(401, "invalid_signature", "The signature does not verify")
        try:
            claims = json.loads(jws.payload)
        except ValueError:
            raise WebhookError(401, "invalid_signature", "The signature is malformed") from None
        if not isinstance(claims, dict):
            raise WebhookError(401, "invalid_signature", "The signature is malformed")
        if claims.get("iss") != "gotrue":
            raise WebhookError(401, "invalid_signature", "The signature is not GoTrue's")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise WebhookError(401, "invalid_signature", "The signature names no instance")
        if self.instance_id is not None and not hmac.compare_digest(
            subject.encode(), self.instance_id.encode()
        ):
            raise WebhookError(401, "invalid_signature", "The signature is for another instance")
        issued = claims.get("iat")
        if isinstance(issued, bool) or not isinstance(issued, int | float):
            raise WebhookError(401, "invalid_signature", "The signature has no iat")
        now = self._clock()
        if issued < now - self.max_age:
            raise WebhookError(401, "stale_signature", "The signature is too old")
        if issued > now + self.leeway:
            raise WebhookError(401, "stale_signature", "The signature is from the future")
        exp = claims.get("exp")
        if exp is not None and (not isinstance(exp, int | float) or exp <= now):
            raise WebhookError(401, "stale_signature", "The signature has expired")
        sha = claims.get("sha256")
        if not isinstance(sha, str) or not _HEX_SHA256.fullmatch(sha):
            raise WebhookError(401, "invalid_signature", "The signature holds no body hash")
        return claims

    @staticmethod
    def _event(body: bytes, subject: str) -> IdentityEvent:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise WebhookError(400, "invalid_event", "The body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookError(400, "invalid_event", "The body is not an event")
        event, user = payload.get("event"), payload.get("user")
        if not isinstance(event, str) or not isinstance(user, dict):
            raise WebhookError(400, "invalid_event", "The body is not an event")
        instance = payload.get("instance_id", subject)
        if instance != subject:
            raise WebhookError(400, "invalid_event", "The body is for another instance")
        return IdentityEvent(event, subject, freeze(user), body)


Handler = Callable[[IdentityEvent], "HookResponse | Awaitable[HookResponse | None] | None"]


def _event_name(name: str) -> str:
    short = name.removeprefix("identity-")
    if short not in EVENTS:
        raise ConfigurationError(
            f"{name!r}: not an Identity event; one of {', '.join(sorted(EVENTS))}"
        )
    return short


class IdentityHooks:
    """Handlers for Identity events, behind one ``WebhookVerifier``.

    ``@hooks.on("signup")`` (or ``"identity-signup"``) registers a handler
    that receives the verified ``IdentityEvent`` and returns
    ``event.accept(...)``, ``event.refuse(...)`` or ``None`` (accept). An
    event without a handler is accepted unchanged (204). The same hooks serve
    as a Flask view (``hooks.flask_view()``), a WSGI app (``hooks.wsgi``) and
    an ASGI app (``hooks.asgi``, for Starlette's ``Route`` or FastAPI's
    ``add_route``). Keyword arguments are ``WebhookVerifier``'s.
    """

    def __init__(self, secret: str | bytes, **options: Any) -> None:
        self.verifier = WebhookVerifier(secret, **options)
        self._handlers: dict[str, Handler] = {}
        self.wsgi: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]] = _WSGIHook(self)
        self.asgi: Callable[[Scope, Receive, Send], Awaitable[None]] = _ASGIHook(self)

    def on(self, *events: str) -> Callable[[Handler], Handler]:
        """Register the decorated function for ``events`` (``"signup"``, ``"validate"`` …)."""
        if not events:
            raise ConfigurationError('on: name at least one event, e.g. hooks.on("signup")')
        names = [_event_name(event) for event in events]
        for name in names:
            if name in self._handlers:
                raise ConfigurationError(f"on: {name!r} has a handler already")

        def register(handler: Handler) -> Handler:
            if not callable(handler):
                raise ConfigurationError("on: decorate a function")
            for name in names:
                self._handlers[name] = handler
            return handler

        return register

    def handle(self, signature: str | None, body: bytes) -> HookResponse:
        """Verify a call and answer it; the framework-free core of every adapter."""
        result = self._dispatch(signature, body)
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise TypeError("jwtgate: an async identity hook handler needs hooks.asgi")
        return _checked(result)

    async def handle_async(self, signature: str | None, body: bytes) -> HookResponse:
        """``handle`` for ASGI: a handler may be a coroutine function."""
        result = self._dispatch(signature, body)
        if inspect.isawaitable(result):
            result = await result
        return _checked(result)

    def _dispatch(
        self, signature: str | None, body: bytes
    ) -> HookResponse | Awaitable[HookResponse | None] | None:
        """Verify a call and run its event's handler: what it returned, or the refusal.

        ``None`` (a 204) when no handler is registered for the event.
        """
        try:
            event = self.verifier.verify(signature, body)
        except WebhookError as error:
            logger.warning("jwtgate: identity hook refused a call: %s", error.error)
            return error.response()
        handler = self._handlers.get(event.event)
        return None if handler is None else handler(event)

    def flask_view(self) -> Callable[[], ResponseReturnValue]:
        """A Flask view of the hooks, for ``app.add_url_rule(path, view_func=...)``.

        ``methods=["POST"]`` on the rule; any other method gets 405 here anyway.
        """
        from flask import Response, request

        def identity_hook() -> ResponseReturnValue:
            reply = _size_check(request.method, request.content_length, self.verifier.max_body)
            if reply is None:
                body = request.get_data(cache=True, as_text=False, parse_form_data=False)
                reply = self.handle(request.headers.get(SIGNATURE_HEADER), body)
            return Response(reply.body, status=reply.status, headers=list(reply.headers))

        return identity_hook

    def __repr__(self) -> str:
        return f"IdentityHooks(events={sorted(self._handlers)}, {self.verifier!r})"


def _checked(result: Any) -> HookResponse:
    if result is None:
        return HookResponse(204)
    if not isinstance(result, HookResponse):
        raise TypeError(
            "jwtgate: an identity hook handler returns event.accept(...), event.refuse(...) or None"
        )
    return result


def _size_check(method: str, length: int | None, limit: int) -> HookResponse | None:
    """The refusal for a call that is not a POST or whose size is unknown or too large."""
    if method != "POST":
        return WebhookError(405, "method_not_allowed", "Identity hooks take POST").response()
    if length is None:
        return WebhookError(411, "length_required", "Content-Length is required").response()
    if length > limit:
        return WebhookError(413, "body_too_large", "The body is too large").response()
    return None


def _status_line(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class _WSGIHook:
    """The hooks as a WSGI app: POST only, a declared length, the body read once."""

    __slots__ = ("hooks",)

    def __init__(self, hooks: IdentityHooks) -> None:
        self.hooks = hooks

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        limit = self.hooks.verifier.max_body
        try:
            length: int | None = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            length = None
        reply = _size_check(environ.get("REQUEST_METHOD", "GET"), length, limit)
        if reply is None:
            assert length is not None  # noqa: S101 - _size_check refused the call otherwise
            body = environ["wsgi.input"].read(length) if length else b""
            signature = environ.get("HTTP_X_WEBHOOK_SIGNATURE")
            reply = self.hooks.handle(signature, body)
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        start_response(_status_line(reply.status), headers)
        return [reply.body]


class _ASGIHook:
    """The hooks as an ASGI app (http only): the body read up to the size limit."""

    __slots__ = ("hooks",)

    def __init__(self, hooks: IdentityHooks) -> None:
        self.hooks = hooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError("jwtgate: identity hooks serve http only")
        limit = self.hooks.verifier.max_body
        signature = None
        length: int | None = None
        for name, value in scope.get("headers", ()):
            if name == b"x-webhook-signature":
                signature = value.decode("latin-1")
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
        chunked = length is None and scope.get("method") == "POST"
        reply = _size_check(scope.get("method", "GET"), 0 if chunked else length, limit)
        if reply is None:
            body = await _read_body(receive, limit)
            if body is None:
                reply = WebhookError(413, "body_too_large", "The body is too large").response()
            else:
                reply = await self.hooks.handle_async(signature, body)
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in (*reply.headers, ("Content-Length", str(len(reply.body))))
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or ``None`` once it passes ``limit`` bytes (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
