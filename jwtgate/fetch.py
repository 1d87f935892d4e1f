"""The one HTTP GET that remote keys are fetched with, and its policy.

https only (plain http for loopback hosts, or with an explicit opt-in meant
for tests); one wall-clock deadline for the whole exchange (5 s by default);
a cap on the body (1 MiB); redirects refused; no cookies, proxies or
compression.

The deadline is enforced on every blocking step, each given only the time
left: each address's TCP connect, the TLS handshake (CPython bounds a whole
handshake by the socket's timeout), sending the request and every single
socket read of the status line, headers and body. A server that drips a byte
a second therefore fails at the deadline, not when it stops dripping: a
timeout that applies to each read (``urllib.request``'s, or ``http.client``'s
own) is reset by every byte. Name resolution is the system resolver's and
keeps its own timeouts. Written on ``http.client`` rather than
``urllib.request`` also because urllib follows redirects and opens
``file:``/``ftp:`` URLs unless told not to; no third-party client either:
remote keys must not add a dependency.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import Message
from typing import Any, cast
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
    """GET ``url`` under the policy above; ``FetchError`` for anything but a good 200.

    Returns or raises within ``timeout`` seconds of being called (plus name
    resolution), whatever the server does.
    """
    try:
        check_url(url, allow_http=allow_http)
    except ValueError as exc:
        raise FetchError(f"the URL {exc}") from None
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    sock: socket.socket | None = None
    try:
        sock = _connect(host, port, https, deadline)
        conn: http.client.HTTPConnection
        if https:
            conn = http.client.HTTPSConnection(host, parts.port, context=_tls())
        else:
            conn = http.client.HTTPConnection(host, parts.port)
        # http.client builds the request and parses the answer; the connection is ours,
        # and every read goes through _DeadlineReader.
        conn.sock = sock
        sock.settimeout(_remaining(deadline))
        conn.request("GET", target, headers=_HEADERS)
        # HTTPResponse only calls makefile("rb") on what it is given.
        reader = cast(socket.socket, _DeadlineSocket(sock, deadline))
        response = http.client.HTTPResponse(reader, method="GET")
        response.begin()
        return _read(response, max_bytes)
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(f"no complete answer within {timeout:g} s") from None
    except ssl.SSLError as exc:
        raise FetchError(f"TLS failed ({exc.reason or type(exc).__name__})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"request failed ({type(exc).__name__})") from None
    finally:
        if sock is not None:
            sock.close()


def _remaining(deadline: float) -> float:
    """The seconds left before ``deadline``; ``TimeoutError`` once it has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return remaining


def _connect(host: str, port: int, https: bool, deadline: float) -> socket.socket:
    """A connected (and for https, TLS-established) socket, within the deadline.

    ``socket.create_connection`` would give each address the whole timeout,
    so a host with several unreachable addresses could take several
    deadlines: here each attempt gets what is left.
    """
    addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    error: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address)
            if https:
                sock.settimeout(_remaining(deadline))
                return _tls().wrap_socket(sock, server_hostname=host)
            return sock
        except TimeoutError:
            sock.close()
            raise
        except ssl.SSLError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            error = exc
    raise error


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side whose every ``recv`` may wait only until the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` reads from: a socket whose reads share one deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str, *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


def _read(response: http.client.HTTPResponse, max_bytes: int) -> Response:
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
