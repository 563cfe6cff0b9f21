"""Sign-in glue between requests and the account services: the django-axes handler that audits
sign-ins, sign-outs, failures and lockouts, the lockout page, the session's absolute lifetime and
the client address that views pass to the services.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_client_username
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from qms.lockout import lock_state, when
from qms.services.accounts import login_failure_record, login_record, logout_record

SIGNED_IN_AT = "qms_signed_in_at"  # session keys: when the session signed in (for SESSION_MAX_HOURS)
ACTIVE_AT = "qms_active_at"  # and when its expiry last moved on


def client_address(request: HttpRequest) -> str | None:
    """The client's address as axes sees it (``REMOTE_ADDR``, or ``AXES_CLIENT_IP_CALLABLE``)."""
    return get_client_ip_address(request)


class AuditedAxesHandler(AxesDatabaseHandler):
    """axes's database handler (it keeps the failure counter), with each event in the audit trail."""

    def user_login_failed(self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
        # AxesStandaloneBackend flags the request when it refused a locked account: such a
        # failure is not counted (the lockout keeps its end), but it is audited.
        account_locked = bool(getattr(request, "axes_locked_out", False))
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        login_failure_record(
            username=get_client_username(request, credentials),
            client_address=request.axes_ip_address,
            account_locked=account_locked,
        )

    def user_logged_in(self, sender: Any, request: Any, user: User, **kwargs: Any) -> None:
        super().user_logged_in(sender, request, user, **kwargs)
        if hasattr(request, "session"):
            session_marks(request.session)
        login_record(user=user, client_address=request.axes_ip_address)

    def user_logged_out(self, sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
        super().user_logged_out(sender, request, user, **kwargs)
        if user is not None:
            note = getattr(request, "qms_logout_note", "")
            logout_record(user=user, client_address=request.axes_ip_address, note=note)


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """The sign-in page again (403), saying that the account is locked and until when."""
    username = get_client_username(request, credentials) or ""
    locked_until = lock_state(username).locked_until
    return render(
        request,
        "registration/login.html",
        sign_in_context()
        | {
            "locked_until": when(locked_until) if locked_until else None,
            "next": request.POST.get("next", ""),  # LoginView checks it when the form is sent again
        },
        status=403,
    )


def sign_in_context() -> dict[str, Any]:
    """What the sign-in page tells: the idle timeout and how a forgotten password is reset."""
    return {
        "idle_minutes": f"{settings.SESSION_IDLE_MINUTES:g}",
        "reset_by_email": settings.PASSWORD_RESET_BY_EMAIL,
    }


class SessionLifetimeMiddleware:
    """Ends an idle session and bounds a busy one.

    Idle: a session's expiry (``SESSION_COOKIE_AGE``: ``SESSION_IDLE_MINUTES`` and the refresh
    interval) moves on when its last activity mark is older than ``SESSION_REFRESH_SECONDS``: at
    most one session write a minute, not one per request, and the session ends between
    ``SESSION_IDLE_MINUTES`` and a minute more after its last request. Busy: whatever the activity,
    the session ends ``SESSION_MAX_HOURS`` after its sign-in (audited as a sign-out).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            session = request.session
            now = timezone.now()
            signed_in_at = parse_datetime(session.get(SIGNED_IN_AT) or "")
            active_at = parse_datetime(session.get(ACTIVE_AT) or "")
            if signed_in_at is None:  # a session from before this middleware
                session[SIGNED_IN_AT] = now.isoformat()
            elif now - signed_in_at > timedelta(hours=settings.SESSION_MAX_HOURS):
                request.qms_logout_note = (  # type: ignore[attr-defined]
                    f"session ended {settings.SESSION_MAX_HOURS:g} hours after sign-in"
                )
                logout(request)
                return self.get_response(request)
            if active_at is None or (now - active_at).total_seconds() >= settings.SESSION_REFRESH_SECONDS:
                session[ACTIVE_AT] = now.isoformat()  # the session is saved, with a new expiry
        return self.get_response(request)


def session_marks(session: Any) -> None:
    """Mark a new session as signed in and active now."""
    now = timezone.now().isoformat()
    session[SIGNED_IN_AT] = now
    session[ACTIVE_AT] = now
