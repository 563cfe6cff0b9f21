"""What the migrations that key the trail and seal the records need: appending one event to the
chain with the historical models, and sealing existing rows whose triggers refuse updates."""

from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils import timezone

from qms.canonical import canonical_json
from qms.dbtriggers import immutable_rows_dropped, immutable_rows_installed
from qms.integrity.chain import event_content_of
from qms.integrity.keys import KEYED_CHAIN, chain_digest


def event_append(
    apps: Any,
    *,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    after: Any = None,
    note: str = "",
) -> Any:
    """Append one keyed event, by the system, to the end of the chain (the head row is locked and
    then moved by the insert trigger)."""
    AuditEvent = apps.get_model("qms", "AuditEvent")
    AuditChainHead = apps.get_model("qms", "AuditChainHead")
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    now = timezone.now()
    event = AuditEvent(
        chain_version=KEYED_CHAIN,
        at=now,
        actor=None,
        actor_username="system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        scope="",
        before=None,
        after=after,
        note=note,
        previous_digest=head.digest,
    )
    content = event_content_of(event)
    canonical_json(content)  # refuses what the chain could not hash, before anything is written
    event.digest = chain_digest(content)
    event.save()
    return event


def rows_sealed(schema_editor: Any, model: type[models.Model], seal: Callable[[Any], str], *, message: str) -> int:
    """Set the seal of every row, with the table's immutability trigger lifted for the moment and
    installed again (inside the migration's transaction, so it is never lifted for anyone else)."""
    table = model._meta.db_table
    rows = list(model.objects.all())  # type: ignore[attr-defined]
    if rows:
        immutable_rows_dropped(schema_editor.connection, table)
        for row in rows:
            model.objects.filter(pk=row.pk).update(seal=seal(row))  # type: ignore[attr-defined]
    immutable_rows_installed(schema_editor, table, message)
    return len(rows)
