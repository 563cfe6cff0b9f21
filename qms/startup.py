"""Checks a server runs before it accepts its first request."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def serving_check() -> None:
    """Refuse to serve without the secrets: sessions, CSRF tokens and password resets are signed
    with SECRET_KEY; the audit trail is keyed and the records sealed with AUDIT_KEY; checkpoints
    are signed with the checkpoint key.

    Django itself refuses an empty key only when something first signs; a server should not start.
    """
    from qms.integrity.keys import audit_key, checkpoint_private_key

    try:
        settings.SECRET_KEY  # noqa: B018 - reading it is the check
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured("SECRET_KEY must be set to serve when DEBUG is off") from exc
    audit_key()
    checkpoint_private_key()
