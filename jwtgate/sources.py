"""Where tokens come from: the ``Authorization`` header, a cookie, a custom header, the query.

A ``Source`` reads one place of a ``RequestView`` and returns the raw token
string or ``None``. Sources only find tokens; the ``Gate`` checks them. A
malformed ``Authorization: Bearer`` value is a malformed *request* (RFC 6750
``invalid_request``, 400), so the bearer source raises for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qsl

from .errors import ConfigurationError, InvalidRequest, InvalidToken

__all__ = [
    "BearerSource",
    "CookieSource",
    "HeaderSource",
    "MappingView",
    "Places",
    "QuerySource",
    "RequestView",
    "Source",
    "cookie_values",
    "parse_source",
]

#: What a source reads (``Source.reads``): lowercase header names, and whether the query string.
Places = tuple[tuple[str, ...], bool]

# RFC 7235 token68: what may follow "Bearer " at all. Anything else is a malformed request.
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# What a compact JWS is made of: base64url and dots.
_JWS_CHARS = re.compile(r"[A-Za-z0-9\-_.]+")
# RFC 7230 token: what a cookie or header name may be made of.
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# One Authorization field's credentials (RFC 9110 §11.4): a scheme, a space, then its data.
_CREDENTIAL = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ +\S.*")
# A Bearer credential, however broken: what parse_bearer would not call another scheme.
_BEARER_CREDENTIAL = re.compile(r"bearer", re.IGNORECASE)


class RequestView:
    """The few parts of a request that sources read, behind one interface.

    Adapters subclass it over a WSGI environ or an ASGI scope so that nothing
    is parsed unless a source asks for it. Header names are given lowercase.
    """

    __slots__ = ()

    method: str = "GET"
    path: str = "/"
    #: ``"http"`` or ``"https"``: with the ``Host`` header, the request's own origin.
    scheme: str = "http"

    def header_values(self, name: str) -> list[str]:
        """The value of the header ``name`` (lowercase) as a one-item list; ``[]`` if absent.

        A header sent more than once is one value, its fields joined with a
        comma (RFC 9110 §5.3), as WSGI servers hand it to apps: so every
        adapter reads the same request the same way. A view may still return
        several values; the sources join them the same way.
        """
        raise NotImplementedError

    def query_string(self) -> str:
        """The raw query string, without ``?``."""
        return ""

    def cookie_values(self, name: str) -> list[str]:
        """Every value of the cookie ``name`` (a browser may send one name twice)."""
        return cookie_values(self.header_values("cookie"), name)

    def query_values(self, name: str) -> list[str]:
        """Every value of the query parameter ``name``."""
        return [value for key, value in parse_qsl(self.query_string()) if key == name]


class MappingView(RequestView):
    """A view over plain mappings: ``Gate.authenticate(headers=..., cookies=...)``.

    ``headers`` may be any mapping or list of pairs (a dict, werkzeug's or
    Starlette's ``Headers``); names are matched case-insensitively. With
    ``cookies=None`` cookies come from the ``Cookie`` header.
    """

    __slots__ = ("_cookies", "_headers", "_query", "method", "path", "scheme")

    def __init__(
        self,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        cookies: Mapping[str, str] | None = None,
        *,
        query_string: str = "",
        method: str = "GET",
        path: str = "/",
        scheme: str = "http",
    ) -> None:
        if headers is None:
            headers = ()
        self._headers: Iterable[tuple[str, str]] = (
            # The exact-type test first: isinstance() against an ABC is slow on a hot path.
            headers.items()
            if type(headers) is dict or isinstance(headers, Mapping)
            else list(headers)
        )
        self._cookies = cookies
        self._query = query_string
        self.method = method
        self.path = path
        self.scheme = scheme

    def header_values(self, name: str) -> list[str]:
        values = [value for key, value in self._headers if key.lower() == name]
        return [",".join(values)] if len(values) > 1 else values

    def cookie_values(self, name: str) -> list[str]:
        if self._cookies is None:
            return super().cookie_values(name)
        value = self._cookies.get(name)
        return [] if value is None else [value]

    def query_string(self) -> str:
        return self._query


def cookie_values(cookie_headers: Iterable[str], name: str) -> list[str]:
    """The values of cookie ``name`` in ``Cookie`` header values.

    Written here rather than with ``werkzeug.http.parse_cookie`` because this
    runs on every request and only one name is wanted: a targeted scan costs
    about a twentieth of parsing every cookie. It finds the name with
    ``str.find`` rather than splitting the header, which would copy a
    kilobyte-long token several times; the result is that of splitting on
    ``;`` and ``,``, stripping each part and keeping the parts that start
    ``name=``. A comma separates cookies because no cookie value may hold one
    (RFC 6265 §4.1.1) and it is how a server joins several ``Cookie`` fields
    (a WSGI server for HTTP/1.1, where a client should send one; HTTP/2 splits
    the header into several, RFC 9113 §8.2.3): the fields are one cookie list.
    """
    found: list[str] = []
    prefix = name + "="
    size = len(prefix)
    for header in cookie_headers:
        start = header.find(prefix)
        while start >= 0:
            before = start
            while before and header[before - 1].isspace():
                before -= 1
            if before and header[before - 1] not in ";,":
                start = header.find(prefix, start + 1)  # inside another cookie
                continue
            end = header.find(";", start + size)
            comma = header.find(",", start + size, end if end >= 0 else len(header))
            if comma >= 0:
                end = comma
            value = header[start + size : end if end >= 0 else len(header)].rstrip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            found.append(value)
            start = header.find(prefix, end) if end >= 0 else -1
    return found


class Source:
    """One place a token may be found. ``spec`` names it (``"cookie:nf_jwt"``)."""

    __slots__ = ("spec",)

    spec: str

    def extract(self, view: RequestView) -> str | None:
        """The raw token in this place, or ``None`` when there is none. Cheap: no validation."""
        raise NotImplementedError

    def reads(self) -> Places | None:
        """The request's raw parts ``extract`` depends on, or ``None`` (the default): anything.

        ``(header names, query)``: the lowercase names of the headers whose
        raw values decide what ``extract`` returns (``"cookie"`` for a source
        reading cookies), and whether the query string does too. The
        adapters then remember what they built for equal raw values, as they
        do for jwtgate's own sources, instead of asking the gate on every
        request. Declare it only when ``extract`` reads nothing else; a
        subclass that overrides ``extract`` must declare it again, else its
        source counts as reading anything.
        """
        return None

    def check(self, token: str) -> None:
        """Refuse a token whose characters can't be a compact JWS, before any decoding.

        The gate calls it only for tokens it has not verified before, which
        keeps the scan off the cache-hit path.
        """
        if _JWS_CHARS.fullmatch(token) is None:
            raise InvalidToken("The token is malformed")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Source) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)


def _one(values: Sequence[str], what: str) -> str | None:
    if not values:
        return None
    if len(values) > 1 and any(v != values[0] for v in values[1:]):
        raise InvalidRequest(f"More than one {what} was sent")
    return values[0]


def _joined(values: Sequence[str]) -> str | None:
    """A header's fields as one value, joined with a comma as a WSGI server joins them."""
    if not values:
        return None
    return values[0] if len(values) == 1 else ",".join(values)


class BearerSource(Source):
    """``Authorization: Bearer <token>`` (RFC 6750 §2.1); the scheme is case-insensitive.

    Another scheme (``Basic`` …) means "no token here". ``Bearer`` with no
    token, with a value that is not token68, or two ``Authorization`` headers
    are a malformed request (400 ``invalid_request``).
    """

    __slots__ = ()

    def __init__(self) -> None:
        self.spec = "bearer"

    def reads(self) -> Places:
        return ("authorization",), False

    def extract(self, view: RequestView) -> str | None:
        value = _joined(view.header_values("authorization"))
        if value is None:
            return None
        if "," in value:
            _refuse_listed_bearer(value)
            return None
        return parse_bearer(value)

    def check(self, token: str) -> None:
        if _TOKEN68.fullmatch(token) is None:
            raise InvalidRequest("The Authorization header is malformed")
        super().check(token)


def _refuse_listed_bearer(value: str) -> None:
    """An ``Authorization`` value with a comma: refuse it if it holds a Bearer credential.

    A Bearer token (token68) has no comma, so a comma is either another
    scheme's parameters (``Digest a="1", b="2"``: no token here) or fields
    joined by the server: ``Authorization`` holds one credential (RFC 9110
    §11.6.2), so a second field is a malformed request (400, RFC 6750 §3.1),
    whichever scheme comes first.
    """
    parts = [part.strip() for part in value.split(",")]
    if not any(_BEARER_CREDENTIAL.match(part) for part in parts):
        return
    if all(_CREDENTIAL.fullmatch(part) for part in parts):
        raise InvalidRequest("More than one Authorization header was sent")
    raise InvalidRequest("The Authorization header is malformed")


def parse_bearer(value: str) -> str | None:
    """The token in an ``Authorization`` value, ``None`` for another scheme.

    Only the shape is looked at here; ``BearerSource.check`` vets the token's
    characters when the gate has not seen it before.
    """
    if value[:7] in ("Bearer ", "bearer ") and value[7:8] not in (" ", "") and value[-1] != " ":
        return value[7:]
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        if scheme.lower().startswith("bearer") and scheme.lower() != "bearer":
            # "Bearer,abc" or "Bearertoken": a broken Bearer header, not another scheme.
            raise InvalidRequest("The Authorization header is malformed")
        return None
    token = rest.strip(" ")
    if not token:
        raise InvalidRequest("The Authorization header is malformed")
    return token


class CookieSource(Source):
    """A cookie, e.g. Netlify's ``nf_jwt`` or Privy's ``privy-id-token``.

    Browsers send cookies by themselves, so a cookie-borne token needs CSRF
    protection for state-changing requests: see the README's security model.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        _check_name(name, "cookie")
        self.name = name
        self.spec = f"cookie:{name}"

    def reads(self) -> Places:
        return ("cookie",), False

    def extract(self, view: RequestView) -> str | None:
        return _one(view.cookie_values(self.name), f"{self.name} cookie")


class HeaderSource(Source):
    """A custom header such as ``privy-id-token``, optionally after a fixed value prefix."""

    __slots__ = ("header", "name", "prefix")

    def __init__(self, name: str, *, prefix: str | None = None) -> None:
        _check_name(name, "header")
        if name.lower() == "authorization":
            raise ConfigurationError('sources: use "bearer" for the Authorization header')
        self.name = name
        self.header = name.lower()
        self.prefix = prefix
        self.spec = f"header:{name}"

    def reads(self) -> Places:
        return (self.header,), False

    def extract(self, view: RequestView) -> str | None:
        value = _joined(view.header_values(self.header))
        if value is None:
            return None
        if "," in value:  # fields joined by the server: a token has no comma
            parts = {part.strip() for part in value.split(",")}
            if len(parts) > 1:
                raise InvalidRequest(f"More than one {self.name} header was sent")
            value = parts.pop()
        value = value.strip()
        if self.prefix is not None:
            if not value.startswith(self.prefix):
                return None
            value = value[len(self.prefix) :].strip()
        return value or None


class QuerySource(Source):
    """A query parameter. Opt-in and meant for websockets only, where browsers can't set headers.

    Tokens in URLs end up in access logs, browser history and ``Referer``
    headers (RFC 6750 §2.3): never enable it for ordinary HTTP routes.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        _check_name(name, "query")
        self.name = name
        self.spec = f"query:{name}"

    def reads(self) -> Places:
        return (), True

    def extract(self, view: RequestView) -> str | None:
        return _one(view.query_values(self.name), f"{self.name} query parameter")


def _check_name(name: str, kind: str) -> None:
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ConfigurationError(f"sources: {name!r} is not a valid {kind} name")


def parse_source(spec: str | Source) -> Source:
    """A ``Source`` from its spec: ``bearer``, ``cookie:NAME``, ``header:NAME``, ``query:NAME``."""
    if isinstance(spec, Source):
        return spec
    if not isinstance(spec, str):
        raise ConfigurationError(f"sources: {spec!r} is neither a string nor a Source")
    kind, sep, name = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "bearer" and not sep:
        return BearerSource()
    if sep and kind == "cookie":
        return CookieSource(name)
    if sep and kind == "header":
        return HeaderSource(name)
    if sep and kind == "query":
        return QuerySource(name)
    raise ConfigurationError(
        f"sources: unknown source {spec!r}; "
        'use "bearer", "cookie:NAME", "header:NAME" or "query:NAME"'
    )
