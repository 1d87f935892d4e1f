"""gunicorn's access log of the browser tests: what each request brought, and what it got.

The app under test is the real example; this logger only adds one field to
gunicorn's access log: whether the request carried an ``nf_jwt`` cookie
(never its value). With ``Sec-Fetch-*`` and ``Origin`` beside it, each line
says what the browser sent, as the server received it.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

#: Method, path, query, status, Sec-Fetch-Site, Sec-Fetch-Mode, Origin, and "nf_jwt" or "-".
FORMAT = (
    "%(m)s %(U)s %(q)s %(s)s %({sec-fetch-site}i)s %({sec-fetch-mode}i)s %({origin}i)s "
    "%(token_cookie)s"
)


def has_token_cookie(header: str) -> bool:
    return any(part.strip().partition("=")[0] == "nf_jwt" for part in header.split(";"))


class TokenCookieLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with ``%(token_cookie)s``: did the request carry ``nf_jwt``."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["token_cookie"] = (
            "nf_jwt" if has_token_cookie(environ.get("HTTP_COOKIE", "")) else "-"
        )
        return atoms
