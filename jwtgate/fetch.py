"""The one HTTP GET that remote keys are fetched with, and its policy.

https only (plain http for loopback hosts, or with an explicit opt-in meant
for tests); one deadline for the whole exchange (5 s by default); a cap on
the body (1 MiB); redirects refused; no cookies, proxies or compression.

Written on ``http.client`` rather than ``urllib.request`` on purpose:
urllib's timeout applies to each socket operation, so a server that drips a
byte every few seconds holds a fetch open forever, and urllib follows
redirects and opens ``file:``/``ftp:`` URLs unless told not to. Here there is
nothing to turn off, and the deadline covers connect, headers and body.
(No third-party client either: remote keys must not add a dependency.)
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import ssl
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "FetchError",
    "Response",
    "check_url",
    "fetch",
    "freshness",
]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 1 << 20
_CHUNK = 64 * 1024
_SECONDS = re.compile(r"[0-9]{1,12}")
_HEADERS = {
    "Accept": "application/json, application/jwk-set+json",
    "Accept-Encoding": "identity",
    "User-Agent": "jwtgate",
    "Connection": "close",
}
_tls_context: ssl.SSLContext | None = None


class FetchError(Exception):
    """A fetch failed; the message is safe to log (it names no secret)."""


@dataclass(frozen=True, slots=True)
class Response:
    """A successful (200) answer: its body and the headers that matter for caching."""

    body: bytes
    cache_control: str | None = None
    age: str | None = None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: object, *, allow_http: bool = False) -> str:
    """``url`` if the policy allows fetching it, else ``ValueError`` saying why.

    https is required; http is allowed for loopback hosts (a local test
    server) or when ``allow_http`` is set. Credentials in the URL are refused
    because URLs end up in logs.
    """
    if not isinstance(url, str) or not url:
        raise ValueError("must be a URL string")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an https:// URL")
    if parts.scheme == "http" and not (allow_http or _is_loopback(parts.hostname)):
        raise ValueError("must be https:// (http:// only for loopback hosts or with allow_http)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials")
    return url


def _tls() -> ssl.SSLContext:
    global _tls_context
    if _tls_context is None:
        _tls_context = ssl.create_default_context()
    return _tls_context


def fetch(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_http: bool = False,
) -> Response:
    """GET ``url`` under the policy above; ``FetchError`` for anything but a good 200."""
    try:
        check_url(url, allow_http=allow_http)
    except ValueError as exc:
        raise FetchError(f"the URL {exc}") from None
    parts = urlsplit(url)
    host = parts.hostname or ""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=_tls())
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    try:
        conn.request("GET", target, headers=_HEADERS)
        sock = conn.sock
        _set_deadline(sock, deadline)
        response = conn.getresponse()
        return _read(response, sock, deadline, max_bytes)
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(f"no complete answer within {timeout:g} s") from None
    except ssl.SSLError as exc:
        raise FetchError(f"TLS failed ({exc.reason or type(exc).__name__})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"request failed ({type(exc).__name__})") from None
    finally:
        conn.close()


def _set_deadline(sock: object, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    settimeout = getattr(sock, "settimeout", None)
    if settimeout is not None:
        settimeout(remaining)


def _read(
    response: http.client.HTTPResponse,
    sock: object,
    deadline: float,
    max_bytes: int,
) -> Response:
    status = response.status
    if 300 <= status < 400:
        raise FetchError(f"redirects are not followed (HTTP {status})")
    if status != 200:
        raise FetchError(f"HTTP {status}")
    headers: Message = response.msg
    encoding = headers.get("Content-Encoding")
    if encoding is not None and encoding.strip().lower() not in ("", "identity"):
        raise FetchError("the answer is compressed, which was not asked for")
    length = headers.get("Content-Length")
    if length is not None and _SECONDS.fullmatch(length.strip()) and int(length) > max_bytes:
        raise FetchError(f"the answer is larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        _set_deadline(sock, deadline)
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"the answer is larger than {max_bytes} bytes")
        chunks.append(chunk)
    if response.length:  # the connection closed before the announced length
        raise FetchError("the answer was cut short")
    return Response(b"".join(chunks), headers.get("Cache-Control"), headers.get("Age"))


def freshness(response: Response, default: float, lower: float, upper: float) -> float:
    """How long the answer may be used: ``max-age`` less ``Age``, kept within [lower, upper].

    Without ``max-age`` the answer is fresh for ``default``; ``no-cache`` and
    ``no-store`` count as zero and so as ``lower``: a provider cannot make
    jwtgate fetch on every request.
    """
    lifetime: float | None = None
    for directive in (response.cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store"):
            lifetime = 0
            break
        if name == "max-age":
            value = value.strip().strip('"')
            if _SECONDS.fullmatch(value):
                lifetime = int(value)
    if lifetime is None:
        return default
    age = (response.age or "").strip()
    if _SECONDS.fullmatch(age):
        lifetime -= int(age)
    return float(min(max(lifetime, lower), upper))
