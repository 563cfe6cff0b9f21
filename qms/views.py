"""Page plumbing shared by the apps: the role check of pages, and the 500 handler."""

import sys
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.response import SimpleTemplateResponse
from django.views import defaults

from qms.middleware import is_api
from qms.roles import user_roles
from qms.snapshot import read_snapshot

RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE = "the database is not reachable; nothing was done, try again in a minute"
DATABASE_ERRORS = (OperationalError, InterfaceError)


class RoleRequiredMixin(LoginRequiredMixin):
    """Pages are for signed-in users with a role (quality manager, developer, auditor)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not (user.is_superuser or user_roles(user)):
            raise PermissionDenied("Your account has no role.")
        return super().dispatch(request, *args, **kwargs)


class SnapshotPageMixin:
    """A page that shows one moment: its view and the rendering of its template (which evaluates
    the querysets of its context) run in one read-only snapshot (``qms.snapshot``). Only for pages
    whose GET writes nothing."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with read_snapshot():
            response: HttpResponse = super().get(request, *args, **kwargs)  # type: ignore[misc]
            if isinstance(response, SimpleTemplateResponse):
                response.render()
        return response


def database_unavailable(*, api: bool) -> HttpResponse:
    """503 for a lost database (server down or restarted, connection dropped, SQLite locked past its
    timeout): ``{"error": "database_unavailable", …}`` on the API, a plain-text page elsewhere."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if api:
        return JsonResponse(
            {"error": "database_unavailable", "detail": DATABASE_UNAVAILABLE}, status=503, headers=headers
        )
    return HttpResponse(
        f"Service unavailable: {DATABASE_UNAVAILABLE}.\n",
        status=503,
        content_type="text/plain; charset=utf-8",
        headers=headers,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``. Django calls it while it handles the exception, so ``sys.exc_info`` names it:
    a database error is a 503, anything else a 500 (JSON on the API, never an HTML page there)."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable(api=is_api(request))
    if is_api(request):
        return JsonResponse({"error": "server_error", "detail": "an unexpected error; it was logged"}, status=500)
    return defaults.server_error(request)
