"""Page plumbing shared by the apps: the role check of pages, snapshot pages, the 500 handler, and
the audited sign-in and password pages."""

import sys
from typing import Any

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import (
    INTERNAL_RESET_SESSION_TOKEN,
    LoginView,
    PasswordChangeView,
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
)
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.template.response import SimpleTemplateResponse
from django.views import View, defaults

from qms.auth import client_address, sign_in_context
from qms.middleware import is_api
from qms.roles import user_roles
from qms.services.users import user_password_change, user_password_reset
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


# --- sign-in and passwords (21 CFR 11.300) ---------------------------------------------------


class SignInView(LoginView):
    """Django's sign-in page, saying when an idle session ends and how to get a new password."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs) | sign_in_context()


class PasswordChangePage(PasswordChangeView):
    """Django's password change page; the new password is set by ``user_password_change`` (audited)."""

    def form_valid(self, form: Any) -> HttpResponse:
        user = user_password_change(
            user=form.user, password=form.cleaned_data["new_password1"], client_address=client_address(self.request)
        )
        update_session_auth_hash(self.request, user)  # this session stays signed in, the others end
        return HttpResponseRedirect(self.get_success_url())


class EmailResetMixin(View):
    """Password reset by e-mail exists only when e-mail is configured (``PASSWORD_RESET_BY_EMAIL``):
    otherwise its pages are 404 and the sign-in page says to ask a quality manager."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.PASSWORD_RESET_BY_EMAIL:
            raise Http404("password reset by e-mail is not configured here; ask a quality manager")
        return super().dispatch(request, *args, **kwargs)


class PasswordResetPage(EmailResetMixin, PasswordResetView):
    pass


class PasswordResetDonePage(EmailResetMixin, PasswordResetDoneView):
    pass


class PasswordResetConfirmPage(EmailResetMixin, PasswordResetConfirmView):
    """The page of the e-mailed link; the new password is set by ``user_password_reset`` (audited)."""

    def form_valid(self, form: Any) -> HttpResponse:
        user_password_reset(
            user=form.user, password=form.cleaned_data["new_password1"], client_address=client_address(self.request)
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetCompletePage(EmailResetMixin, PasswordResetCompleteView):
    pass
