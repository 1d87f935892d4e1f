"""Path rules in Django: what ``jwtgate.django.GateMiddleware`` does with ``JWTGATE_RULES_FILE``.

Django's middleware runs before the URL is resolved, so a rewrite is a change
of ``request.path_info`` (and ``request.path``, ``PATH_INFO``, the query
string and ``request.GET``): Django then routes the request to the target's
view. Redirects, refusals and 404s are answered here; a browser's page load
that a 401/403/404 rule answers gets the ``to`` page's response with the
rule's status. The decision is left in ``request.jwt_rule``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, QueryDict

from .context import RequestAuth
from .rules import Decision, RuleTable, answer, is_navigation
from .rules_observe import decision_report
from .wsgi import _environ_key

if TYPE_CHECKING:
    from django.http.response import HttpResponseBase

    from .observe import Reporter

__all__ = ["DjangoRules"]


class DjangoRules:
    """A ``RuleTable`` applied to Django requests, sync and async alike.

    ``reporter`` (the gate's link to its observer) hears each decision.
    """

    __slots__ = ("_report", "table")

    def __init__(self, table: RuleTable, reporter: Reporter | None = None) -> None:
        self.table = table
        self._report = decision_report(reporter, table)

    def before(self, request: HttpRequest, auth: RequestAuth) -> HttpResponse | Decision | None:
        """Decide: an answer to send, the ``Decision`` of a page to serve, or ``None`` (go on).

        A rewrite, and the page of an answer, are applied to ``request`` here.
        """
        meta = request.META
        if auth.preflight:  # the project's CORS layer answers it
            return None
        decision = self.table.decide(
            request.path_info or "/", auth.user.roles, meta.get("QUERY_STRING", "")
        )
        if decision is None:
            return None
        if self._report is not None:
            self._report(decision)
        request.jwt_rule = decision  # type: ignore[attr-defined]
        status = decision.status
        prefix = request.path.removesuffix(request.path_info)
        if status == 200:
            if decision.location is not None:
                _rewrite(request, decision, prefix)
            return None
        method = request.method or "GET"
        navigation = status >= 400 and is_navigation(
            method, lambda name: meta.get(_environ_key(name))
        )
        if navigation and decision.target_path is not None:
            _rewrite(request, decision, prefix)
            return decision
        code, headers, body = answer(
            decision,
            authenticated=auth.user.is_authenticated,
            error=auth.error,
            navigation=navigation,
            prefix=prefix,
        )
        response = HttpResponse(b"" if method == "HEAD" else body, status=code)
        for name, value in headers:
            if name != "Content-Length":
                response[name] = value
        return response

    @staticmethod
    def after(response: HttpResponseBase, decision: Decision) -> HttpResponseBase:
        """Give a successful page the rule's status (401, 403, 404)."""
        if 200 <= response.status_code < 300:
            response.status_code = decision.status
            response.reason_phrase = HTTPStatus(decision.status).phrase
            if decision.personal:
                response["Cache-Control"] = "no-store"
        return response


def _rewrite(request: HttpRequest, decision: Decision, prefix: str) -> None:
    target = decision.target_path or decision.path
    query = decision.target_query
    meta: dict[str, Any] = request.META
    request.path_info = target
    request.path = prefix + target
    # Under WSGI, PATH_INFO holds the path's UTF-8 bytes as latin-1 text (PEP 3333).
    meta["PATH_INFO"] = target.encode("utf-8").decode("latin-1") if "wsgi.input" in meta else target
    meta["QUERY_STRING"] = query
    request.GET = QueryDict(query, encoding=request.encoding)
