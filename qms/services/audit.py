"""Writes of the audit trail: appending events (chained with the keyed digest) and writing
signed checkpoints of the chain outside the database.

The chain head row is maintained by the database itself (a trigger on inserts into the audit
table, ``qms/dbtriggers.py``); the application only locks it to serialise appends and reads it.
"""

import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from qms.bulk import insert_many
from qms.canonical import canonical_json, json_normalized
from qms.errors import Conflict
from qms.integrity.chain import EVENT_FIELDS, ChainBroken, ChainWalk, chain_head, event_content_of
from qms.integrity.checkpoints import Checkpoint, checkpoint_newest, checkpoint_post, checkpoint_sign, checkpoint_store
from qms.integrity.keys import KEYED_CHAIN, chain_key
from qms.models import AuditChainHead, AuditEvent
from qms.snapshot import read_snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditEntry:
    action: str
    object_type: str
    object_id: str
    object_repr: str
    scope: str = ""
    before: Any = None
    after: Any = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def audit_entry_for(
    obj: models.Model,
    *,
    action: str,
    before: Any = None,
    after: Any = None,
    scope: str = "",
    note: str = "",
    object_repr: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=object_repr if object_repr is not None else str(obj),
        scope=scope,
        before=before,
        after=after,
        note=note,
    )


BULK_EVENTS = 100  # more events than this in one append go in as multi-row INSERTs / COPY
EVENT_COLUMNS = EVENT_FIELDS[1:]  # all but the id


@transaction.atomic
def audit_record_many(*, actor: User | None, entries: Sequence[AuditEntry]) -> list[AuditEvent]:
    """Append events to the audit trail in the caller's transaction, chained by keyed digest.

    The chain head row is locked until the transaction ends, so chained appends are serialised.
    """
    if not entries:
        return []
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    keyed = hmac.new(chain_key(), digestmod=hashlib.sha256)
    now = timezone.now()
    username = actor.get_username() if actor is not None else "system"
    actor_id = actor.pk if actor is not None else None
    events = []
    previous = head.digest
    for entry in entries:
        event = AuditEvent(
            chain_version=KEYED_CHAIN,
            at=now,
            actor_id=actor_id,
            actor_username=username,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            object_repr=entry.object_repr[:255],
            scope=entry.scope,
            before=json_normalized(entry.before),
            after=json_normalized(entry.after),
            note=entry.note,
            previous_digest=previous,
        )
        mac = keyed.copy()
        mac.update(canonical_json(event_content_of(event)))
        event.digest = previous = mac.hexdigest()
        events.append(event)
    if len(events) > BULK_EVENTS:
        # A first JUnit upload or an import appends ~20,000 events: multi-row INSERTs (COPY on
        # PostgreSQL) instead of bulk_create's field API per value. Those events carry no pk.
        insert_many(
            AuditEvent, [[getattr(event, name) for name in EVENT_COLUMNS] for event in events], names=EVENT_COLUMNS
        )
    else:
        AuditEvent.objects.bulk_create(events)
    # the head row now names the last of them: the insert trigger moved it (qms/dbtriggers.py)
    return events


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model,
    before: Any = None,
    after: Any = None,
    scope: str = "",
    note: str = "",
    object_repr: str | None = None,
) -> AuditEvent:
    entry = audit_entry_for(
        obj, action=action, before=before, after=after, scope=scope, note=note, object_repr=object_repr
    )
    return audit_record_many(actor=actor, entries=[entry])[0]


# --- checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointWritten:
    path: Path
    events: int
    head_id: int
    head: str
    posted_status: int | None  # HTTP status of the POST, None when no URL is configured
    post_problem: str = ""


def _verified_head(newest: Checkpoint | None) -> tuple[int, str, int]:
    """The chain head (events, digest, newest id), once the events since ``newest`` (all events
    without one) are verified to follow it; Conflict ``audit_broken`` otherwise."""
    try:
        count, digest, head_id = chain_head()
        if digest and head_id is None:
            raise ChainBroken("the chain head names an event that is not there")
        upto = head_id or 0
        if newest is None:
            walk = ChainWalk()
            walk.walk(after_id=None, upto_id=upto)
        else:
            walk = ChainWalk(previous=newest.head, events=newest.events, keyed_seen=True)
            anchor = AuditEvent.objects.filter(id=newest.head_id).values_list("digest", flat=True).first()
            if anchor != newest.head or upto < newest.head_id:
                raise ChainBroken(f"contradicts the {newest.label} (truncated, rolled back or rewritten)")
            walk.walk(after_id=newest.head_id, upto_id=upto)
        if (walk.previous, walk.events) != (digest, count):
            raise ChainBroken("the chain head does not name the newest event")
    except ChainBroken as exc:
        where = f" at event #{exc.event_id}" if exc.event_id else ""
        raise Conflict(f"no checkpoint over a broken audit trail{where}: {exc.problem}", code="audit_broken") from exc
    return count, digest, upto


CheckpointAnchor = Callable[[], object]
_ANCHORS: list[CheckpointAnchor] = []


def checkpoint_anchor(anchor: CheckpointAnchor) -> CheckpointAnchor:
    """Register a function that records, in the audit trail, the head of a ledger kept outside it
    (``regops``: the gate-decision ledger), run before each checkpoint: the trail, and with it that
    head, is then signed outside the database, so a ledger cut short later contradicts it."""
    if anchor not in _ANCHORS:
        _ANCHORS.append(anchor)
    return anchor


def audit_checkpoint_write(*, post: bool = True) -> CheckpointWritten:
    """Sign the chain as it is now and write the checkpoint outside the database (and POST it to
    ``AUDIT_CHECKPOINT_URL`` when set).

    Nothing is checkpointed over a broken trail: the events since the newest valid checkpoint are
    verified against it first (all events when there is none), so a trail shorter than that
    checkpoint, or one that differs from it, is refused (Conflict, ``audit_broken``).
    """
    newest = checkpoint_newest()
    for anchor in _ANCHORS:
        anchor()
    with read_snapshot():
        count, digest, head_id = _verified_head(newest)
    document = checkpoint_sign(events=count, head_id=head_id, head=digest)
    path = checkpoint_store(document)
    status, problem = None, ""
    if post and settings.AUDIT_CHECKPOINT_URL:
        try:
            status = checkpoint_post(document)
        except OSError as exc:
            problem = str(exc)
            logger.error("audit checkpoint %s was written but not delivered: %s", path.name, problem)
    return CheckpointWritten(path, count, head_id, digest, status, problem)


def audit_checkpoint_after_commit() -> None:
    """Write a checkpoint once the current transaction commits (after a release approval); a
    failure is logged and never undoes what was committed."""

    def write() -> None:
        try:
            audit_checkpoint_write()
        except Exception:  # the approval stands; the next checkpoint covers it
            logger.exception("automatic audit checkpoint failed")

    transaction.on_commit(write)
