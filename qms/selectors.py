"""Reads of the quality-system foundation."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from qms.models import ApiToken, AuditChainHead, AuditEvent, Signature
from qms.services import event_digest_matches


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


@dataclass(frozen=True)
class ChainReport:
    events: int
    is_intact: bool
    first_broken_id: int | None
    problem: str


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Recompute every digest in order; report the first event that does not match."""
    previous = ""
    count = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=chunk_size):
        if event.previous_digest != previous:
            return ChainReport(count, False, event.pk, "event does not follow the previous one (removed or reordered)")
        if not event_digest_matches(previous=previous, event=event):
            return ChainReport(count, False, event.pk, "event content does not match its digest (altered)")
        previous = event.digest
        count += 1
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    if head.digest != previous or head.count != count:
        return ChainReport(count, False, None, "newest events are missing (chain head does not match)")
    return ChainReport(count, True, None, "")


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
