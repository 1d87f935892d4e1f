"""Cross-site request forgery protection for tokens that arrive in cookies.

A browser attaches cookies to every request to their site, including ones a
hostile page makes it send. Tokens such as Netlify's ``nf_jwt`` or Privy's
``privy-id-token`` are set by a third party and carry no CSRF claim, so
double-submit schemes that rely on one don't apply. Instead an unsafe request
(POST, PUT, PATCH, DELETE …) or a websocket handshake (a GET that browsers
send cross-site with the site's cookies: cross-site websocket hijacking)
authenticated by a cookie must show same-origin evidence:
``Sec-Fetch-Site: same-origin``, an ``Origin`` that is the request's own or a
trusted one, or a custom header that a cross-site page cannot send without a
CORS preflight. Tokens in headers need none of this.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .errors import ConfigurationError, CrossSiteRequest
from .logs import logger
from .sources import RequestView

__all__ = ["SAFE_METHODS", "CSRFPolicy", "applies_to", "is_websocket_upgrade", "needs_evidence"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def is_websocket_upgrade(upgrade: str | None) -> bool:
    """True when an ``Upgrade`` header value asks for a websocket (RFC 6455 §4.1)."""
    return upgrade is not None and "websocket" in upgrade.lower()


def needs_evidence(method: str, upgrade: str | None = None) -> bool:
    """True when a request carried by a cookie must show same-origin evidence.

    That is an unsafe method, or a websocket handshake (``upgrade`` is the
    ``Upgrade`` header's value): the one test every adapter and the gate share.
    """
    return method.upper() not in SAFE_METHODS or is_websocket_upgrade(upgrade)


def applies_to(method: str, source: str, upgrade: str | None = None) -> bool:
    """True when a request by ``method`` whose token came from ``source`` must show evidence.

    ``upgrade`` is the request's ``Upgrade`` header, if any. ``needs_evidence``
    spelt out: the adapters ask this on every request with a cookie token.
    """
    return (
        method.upper() not in SAFE_METHODS
        or (upgrade is not None and is_websocket_upgrade(upgrade))
    ) and source.startswith("cookie:")


def _origin(value: str) -> str:
    return value.strip().rstrip("/").lower()


class CSRFPolicy:
    """The same-origin evidence an unsafe, cookie-authenticated request must carry.

    ``trusted_origins``: other origins allowed to send such requests (e.g. a
    front end on another host: ``"https://app.example.com"``); the request's
    own origin (scheme + ``Host``) is always trusted. ``header``: a custom
    header whose presence is enough (e.g. ``"X-Requested-With"``).
    """

    __slots__ = ("header", "trusted_origins")

    def __init__(self, *, trusted_origins: Iterable[str] = (), header: str | None = None) -> None:
        if isinstance(trusted_origins, str):
            raise ConfigurationError("csrf: trusted_origins must be a list of origins")
        origins = frozenset(_origin(o) for o in trusted_origins)
        for origin in origins:
            if not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
                raise ConfigurationError(
                    f'csrf: {origin!r} is not an origin such as "https://app.example.com"'
                )
        if header is not None and (not isinstance(header, str) or not header.strip()):
            raise ConfigurationError("csrf: header must be a header name, or None")
        self.trusted_origins = origins
        self.header = header.strip().lower() if header else None

    def check(self, view: RequestView) -> None:
        """Raise ``CrossSiteRequest`` unless the request shows same-origin evidence.

        Safe requests (``GET`` …) need none, except a websocket handshake.
        """
        upgrade = view.header_values("upgrade")
        if not needs_evidence(view.method, upgrade[0] if upgrade else None):
            return
        if self.header is not None and view.header_values(self.header):
            return
        fetch_site = view.header_values("sec-fetch-site")
        if fetch_site and fetch_site[0].strip().lower() == "same-origin":
            return
        origins = view.header_values("origin")
        if origins:
            origin = _origin(origins[0])
            if origin in self.trusted_origins or origin == self._own_origin(view):
                return
        error = CrossSiteRequest(reason="origin_mismatch" if origins else "no_evidence")
        if logger.isEnabledFor(logging.DEBUG):
            self._explain(view, origins, fetch_site)
        raise error

    def _explain(self, view: RequestView, origins: list[str], fetch_site: list[str]) -> None:
        """Say at DEBUG why an unsafe request was refused (origins are request metadata)."""
        own = self._own_origin(view)
        if origins:
            origin = _origin(origins[0])
            hint = ""
            if own is not None and origin.partition("://")[2] == own.partition("://")[2]:
                hint = (
                    "; only the scheme differs: behind a TLS-terminating proxy, let the app "
                    "see the original scheme (werkzeug's ProxyFix, uvicorn --proxy-headers "
                    "with --forwarded-allow-ips)"
                )
            logger.debug(
                "jwtgate: CSRF: refused a %s authenticated by a cookie: its Origin %r is "
                "neither the request's own origin %r nor a trusted one %r%s",
                view.method,
                origin,
                own,
                sorted(self.trusted_origins),
                hint,
            )
        else:
            logger.debug(
                "jwtgate: CSRF: refused a %s authenticated by a cookie: no Origin header, "
                "Sec-Fetch-Site is %r, not 'same-origin'%s",
                view.method,
                fetch_site[0] if fetch_site else None,
                f", and no {self.header} header" if self.header else "",
            )

    @staticmethod
    def _own_origin(view: RequestView) -> str | None:
        hosts = view.header_values("host")
        if not hosts:
            return None
        return _origin(f"{view.scheme}://{hosts[0]}")

    def __repr__(self) -> str:
        origins = sorted(self.trusted_origins)
        return f"CSRFPolicy(trusted_origins={origins!r}, header={self.header!r})"
