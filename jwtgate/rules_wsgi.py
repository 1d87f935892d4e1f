"""Path rules under WSGI: what ``GateMiddleware(app, gate, rules=...)`` puts in front of the app.

``RulesApp`` runs after the middleware has authenticated the request (it
reads ``environ["jwtgate.user"]`` and ``environ["jwtgate.error"]``), asks the
``RuleTable`` once, and then calls the app unchanged, calls it with its
``PATH_INFO`` (and query string) rewritten, calls it for the ``to`` page
whose 2xx status becomes the rule's 401/403/404 (a browser's page load), or
answers by itself (a redirect, the JSON refusal, a 404). CORS preflights go
through untouched: they carry no credentials by design, so no role rule
could ever pass them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import quote

from .errors import AuthError
from .rules import Decision, RuleTable, answer, is_navigation
from .rules_observe import decision_report
from .wsgi import ERROR_KEY, USER_KEY, _environ_key, _wsgi_text, is_preflight

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .observe import Reporter

__all__ = ["RULE_KEY", "RulesApp"]

#: The environ key holding the ``Decision`` for a request a rule decided.
RULE_KEY = "jwtgate.rule"


_STATUS_LINES: dict[int, str] = {}


def _status_line(status: int) -> str:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"{status} {HTTPStatus(status).phrase}"
    return line


class RulesApp:
    """A WSGI app applying ``table`` to each request before ``app`` sees it.

    ``reporter`` (the gate's link to its observer) hears each decision.
    """

    __slots__ = ("_report", "app", "table")

    def __init__(
        self, app: WSGIApplication, table: RuleTable, reporter: Reporter | None = None
    ) -> None:
        self.app = app
        self.table = table
        self._report = decision_report(reporter, table)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = _wsgi_text(environ.get("PATH_INFO", "")) or "/"
        user = environ.get(USER_KEY)
        decision = self.table.decide(
            path, user.roles if user is not None else frozenset(), environ.get("QUERY_STRING", "")
        )
        # A CORS preflight is not ruled on: the app's CORS layer answers it.
        if decision is None or is_preflight(environ):
            return self.app(environ, start_response)
        environ[RULE_KEY] = decision
        report = self._report
        if report is not None:
            report(decision)
        status = decision.status
        if status == 200:
            if decision.location is not None:
                _rewrite(environ, decision)
            return self.app(environ, start_response)
        # Only an answer (401, 403, 404) depends on who is asking: a page for a browser.
        navigation = status >= 400 and is_navigation(
            environ.get("REQUEST_METHOD", "GET"), lambda name: environ.get(_environ_key(name))
        )
        if navigation and decision.target_path is not None:
            # A browser gets the rule's page, with the rule's status.
            _rewrite(environ, decision)
            return self.app(environ, _with_status(start_response, decision))
        error = environ.get(ERROR_KEY)
        code, headers, body = answer(
            decision,
            authenticated=user is not None and user.is_authenticated,
            error=error if isinstance(error, AuthError) else None,
            navigation=navigation,
            prefix=_wsgi_text(environ.get("SCRIPT_NAME", "")),
        )
        start_response(_status_line(code), headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def __repr__(self) -> str:
        return f"RulesApp({self.app!r}, {self.table!r})"


def _rewrite(environ: WSGIEnvironment, decision: Decision) -> None:
    """Point the request at the decision's target: the path the app sees, and its query."""
    # A rewrite or an answer page always targets a path of the app (Rule checks it).
    target = decision.target_path or decision.path
    query = decision.target_query
    environ["PATH_INFO"] = target.encode("utf-8").decode("latin-1")
    environ["QUERY_STRING"] = query
    # Servers that pass the raw request line on (gunicorn's RAW_URI, REQUEST_URI)
    # must not contradict the new path for frameworks that prefer them.
    if "REQUEST_URI" in environ or "RAW_URI" in environ:
        location = decision.location or quote(target, safe="/")
        raw = quote(_wsgi_text(environ.get("SCRIPT_NAME", "")), safe="/")
        raw += location.partition("#")[0].partition("?")[0]
        if query:
            raw += "?" + query
        for key in ("REQUEST_URI", "RAW_URI"):
            if key in environ:
                environ[key] = raw


def _with_status(start_response: StartResponse, decision: Decision) -> StartResponse:
    """``start_response`` that gives a successful page the rule's status (401, 403, 404)."""
    line = _status_line(decision.status)
    personal = decision.personal

    def start(
        status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        if status.startswith("2"):
            status = line
            if personal:
                headers = [(k, v) for k, v in headers if k.lower() != "cache-control"]
                headers.append(("Cache-Control", "no-store"))
        return start_response(status, headers, exc_info)

    return start
