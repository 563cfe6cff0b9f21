from datetime import timedelta
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from qms.dbtriggers import immutable_rows_dropped
from qms.integrity.chain import audit_chain_verify
from qms.models import AuditChainHead, AuditEvent
from qms.services import BULK_EVENTS, AuditEntry, audit_record_many
from traceability.selectors import item_as_of
from traceability.services.items import item_update

pytestmark = pytest.mark.django_db


def test_every_write_records_who_what_before_and_after(make_item, qm):
    item = make_item("SRS-1", "software_requirement", text="old")
    item_update(item=item, actor=qm, text="new")
    events = list(AuditEvent.objects.filter(object_type="traceability.item", object_id=str(item.pk)))
    assert [e.action for e in events] == ["item.created", "item.updated"]
    assert events[1].actor_username == "quinn"
    assert events[1].before["text"] == "old"
    assert events[1].after["text"] == "new"
    assert events[1].after["revision"] == 2
    assert events[1].scope == "DEMO"
    assert events[1].at.tzinfo is not None


def test_chain_is_intact_after_writes(make_item):
    make_item("SRS-1", "software_requirement")
    make_item("SRS-2", "software_requirement")
    report = audit_chain_verify()
    assert report.is_intact
    assert report.events == AuditEvent.objects.count() == AuditChainHead.objects.get().count


def test_a_large_append_goes_in_bulk_with_the_same_rows_and_an_intact_chain(make_item, qm):
    make_item("SRS-1", "software_requirement")
    count = BULK_EVENTS + 50
    entries = [
        AuditEntry(
            action="item.created",
            object_type="traceability.item",
            object_id=str(1000 + n),
            object_repr=f"DEMO/TC-{n} ünïcode",
            scope="DEMO",
            after={"key": f"TC-{n}", "attributes": {"test_id": f"t::{n}"}, "tags": ["a", "b"]},
            note="bulk" if n % 2 else "",
        )
        for n in range(count)
    ]
    returned = audit_record_many(actor=qm, entries=entries)
    stored = list(AuditEvent.objects.filter(object_repr__endswith=" ünïcode").order_by("id"))
    assert len(stored) == count
    assert [e.digest for e in stored] == [e.digest for e in returned]
    assert stored[3].after == {"key": "TC-3", "attributes": {"test_id": "t::3"}, "tags": ["a", "b"]}
    assert stored[3].before is None
    assert stored[3].actor_username == "quinn" and stored[3].at.tzinfo is not None
    assert stored[0].previous_digest == AuditEvent.objects.filter(id__lt=stored[0].id).order_by("-id")[0].digest
    report = audit_chain_verify()
    assert report.is_intact
    assert report.events == AuditEvent.objects.count() == AuditChainHead.objects.get().count


def test_chain_detects_an_altered_event(make_item):
    item = make_item("SRS-1", "software_requirement", text="original")
    event = AuditEvent.objects.get(object_id=str(item.pk), action="item.created")
    immutable_rows_dropped(connection, "qms_auditevent")  # an attacker with database access
    AuditEvent.objects.filter(pk=event.pk).update(after={**event.after, "text": "forged"})
    report = audit_chain_verify()
    assert not report.is_intact
    assert report.first_broken_id == event.pk
    assert "altered" in report.problem


def test_chain_detects_a_removed_event(make_item):
    make_item("SRS-1", "software_requirement")
    make_item("SRS-2", "software_requirement")
    first = AuditEvent.objects.filter(action="item.created").order_by("id").first()
    immutable_rows_dropped(connection, "qms_auditevent")
    AuditEvent.objects.filter(pk=first.pk)._raw_delete(AuditEvent.objects.db)
    report = audit_chain_verify()
    assert not report.is_intact
    assert "removed, inserted or reordered" in report.problem


def test_the_database_refuses_to_change_audit_events(make_item):
    make_item("SRS-1", "software_requirement")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().update(actor_username="mallory")
    assert not AuditEvent.objects.filter(actor_username="mallory").exists()


def test_events_are_append_only(make_item):
    make_item("SRS-1", "software_requirement")
    event = AuditEvent.objects.first()
    event.note = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()


def test_item_as_of_tells_what_it_said_and_who_changed_it(make_item, qm, developer):
    ten_days_ago = timezone.now() - timedelta(days=10)
    with mock.patch("qms.services.timezone.now", return_value=ten_days_ago):
        item = make_item("SRS-12", "software_requirement", text="first wording")
    item_update(item=item, actor=developer, text="second wording")

    then, event = item_as_of(item, timezone.now() - timedelta(days=5))
    assert then is not None and then["text"] == "first wording"
    assert event is not None and event.actor_username == "quinn"

    now, event = item_as_of(item, timezone.now())
    assert now["text"] == "second wording"
    assert event.actor_username == "dana"

    before, event = item_as_of(item, timezone.now() - timedelta(days=20))
    assert before is None and event is None
