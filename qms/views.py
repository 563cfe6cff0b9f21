from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import SimpleTemplateResponse

from qms.roles import user_roles
from qms.snapshot import read_snapshot


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
