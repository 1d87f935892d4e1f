"""The test project's views: public, signed-in, admin, POST (with and without Django's CSRF),
async, a view that raises ``Forbidden``, and a class-based view."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from jwtgate import Forbidden, require_auth, require_roles

COMMENTS: list[dict[str, Any]] = []


def _who(request: HttpRequest) -> dict[str, Any]:
    user = request.jwt_user  # type: ignore[attr-defined]
    error = request.jwt_error  # type: ignore[attr-defined]
    return {
        "authenticated": user.is_authenticated,
        "sub": user.subject,
        "roles": sorted(user.roles),
        "source": user.source,
        "error": None if error is None else error.error,
        # django.contrib.auth's user, which jwtgate leaves alone
        "django_user": f"{request.user.__class__.__module__}.{request.user.__class__.__name__}",
        "django_authenticated": request.user.is_authenticated,
    }


def public(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_who(request))


@require_auth
def me(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_who(request))


@require_roles("admin")
def admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"admin": request.jwt_user.subject})  # type: ignore[attr-defined]


def _comment(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"comments": len(COMMENTS)})
    comment = {"sub": request.jwt_user.subject, "text": json.loads(request.body)["text"]}  # type: ignore[attr-defined]
    COMMENTS.append(comment)
    return JsonResponse(comment, status=201)


# Django's CsrfViewMiddleware checks this one; jwtgate waives it for header tokens.
comments = require_auth(_comment)
# Exempt from Django's check: jwtgate's own same-origin check still guards cookie tokens.
exempt_comments = csrf_exempt(require_auth(_comment))


def count(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"comments": len(COMMENTS)})


@require_auth
async def async_me(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_who(request) | {"async": True})


@require_roles("admin")
async def async_admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"admin": request.jwt_user.subject, "async": True})  # type: ignore[attr-defined]


@require_auth
def owner_only(request: HttpRequest) -> HttpResponse:
    raise Forbidden("Only the owner may see this", roles=["owner"])


def session_post(request: HttpRequest) -> JsonResponse:
    """A public POST view: Django's CSRF check decides, jwtgate's waiver aside."""
    return JsonResponse(_who(request))


@method_decorator(require_roles("admin"), name="dispatch")
class AdminView(View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"admin": request.jwt_user.subject, "view": "class"})  # type: ignore[attr-defined]


def page(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Where path rules send requests: what Django routed, and the query it parsed."""
    return JsonResponse(
        {
            "path": request.path,
            "path_info": request.path_info,
            "meta_path_info": request.META["PATH_INFO"],
            "query": request.META["QUERY_STRING"],
            "get": request.GET.dict(),
            "rule": getattr(getattr(request, "jwt_rule", None), "status", None),
        }
    )


urlpatterns = [
    path("", public),
    path("me", me),
    path("admin", admin),
    path("comments", comments),
    path("exempt-comments", exempt_comments),
    path("count", count),
    path("async-me", async_me),
    path("async-admin", async_admin),
    path("owner-only", owner_only),
    path("session-post", session_post),
    path("class-admin", AdminView.as_view()),
    path("page/<path:rest>", page),
    path("join", page),
]
