"""Checks a server runs before it accepts its first request."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def serving_check() -> None:
    """Refuse to serve without a secret key: sessions, CSRF tokens and password resets are signed with it.

    Django itself refuses an empty key only when something first signs; a server should not start.
    """
    try:
        settings.SECRET_KEY  # noqa: B018 - reading it is the check
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured("SECRET_KEY must be set to serve when DEBUG is off") from exc
