"""Reads of the quality-system foundation."""

from datetime import datetime

from django.db.models import QuerySet

from qms.models import ApiToken, AuditEvent, Signature


def audit_event_list(
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    scope: str | None = None,
    action: str | None = None,
    actor_username: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if scope:
        events = events.filter(scope=scope)
    if action:
        events = events.filter(action=action)
    if actor_username:
        events = events.filter(actor_username=actor_username)
    if since:
        events = events.filter(at__gte=since)
    if until:
        events = events.filter(at__lte=until)
    return events.order_by("id")


def token_list(*, user_id: int | None = None) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user")
    if user_id is not None:
        tokens = tokens.filter(user_id=user_id)
    return tokens.order_by("user__username", "name")


def signature_list(*, record_type: str | None = None, record_id: str | None = None) -> QuerySet[Signature]:
    """Signatures, oldest first; of one record when ``record_type`` and ``record_id`` are given."""
    signatures = Signature.objects.all()
    if record_type:
        signatures = signatures.filter(record_type=record_type)
    if record_id is not None:
        signatures = signatures.filter(record_id=str(record_id))
    return signatures.order_by("signed_at", "id")
