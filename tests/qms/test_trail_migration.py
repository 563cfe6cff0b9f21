"""An existing database moves to the keyed trail: its events keep their SHA-256 chain, closed by
one keyed anchor event; its signatures, baselines and stored reports are sealed; its approved
releases get their approval record from the signature their release.approved event names; and
the trail says so. audit_verify then passes, and tampering with the old events is detected."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from qms.canonical import digest_of
from qms.dbtriggers import immutable_rows_dropped, immutable_rows_installed
from qms.integrity.chain import event_content_of

BEFORE = [("qms", "0004_audit_events_immutable"), ("traceability", "0006_test_result_case_index")]
SHA = "ab" * 32


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def legacy_event(apps, head, **fields):
    """An event as the unkeyed chain wrote it (SHA-256 of the content), the head moved by hand."""
    event = apps.get_model("qms", "AuditEvent")(at=timezone.now(), previous_digest=head.digest, **fields)
    event.digest = digest_of(event_content_of(event))
    event.save()
    head.digest, head.count = event.digest, head.count + 1
    head.save()
    return event


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_existing_database_is_anchored_sealed_and_verifies():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    apps = migrate(BEFORE)
    try:
        User = apps.get_model("auth", "User")
        Product = apps.get_model("traceability", "Product")
        Release = apps.get_model("traceability", "Release")
        Baseline = apps.get_model("traceability", "Baseline")
        Signature = apps.get_model("qms", "Signature")
        head = apps.get_model("qms", "AuditChainHead").objects.get_or_create(pk=1)[0]
        quinn = User.objects.create(username="quinn", first_name="Quinn", last_name="Manager")
        product = Product.objects.create(key="OLD", name="Old device")
        release = Release.objects.create(product=product, version="1.0", state="approved", frozen_at=timezone.now())
        Baseline.objects.create(release=release, content="{}", sha256=SHA)
        signature = Signature.objects.create(
            signer=quinn,
            signer_username="quinn",
            printed_name="Quinn Manager",
            meaning="approval",
            record_type="traceability.release",
            record_id=str(release.pk),
            record_repr="OLD 1.0",
            record_hash=SHA,
        )
        legacy_event(apps, head, action="release.frozen", object_type="traceability.release", object_id=str(release.pk))
        legacy_event(apps, head, action="signature.applied", object_type="qms.signature", object_id=str(signature.pk))
        legacy_event(
            apps,
            head,
            action="release.approved",
            object_type="traceability.release",
            object_id=str(release.pk),
            note=f"signature #{signature.pk} over {SHA}",
        )
        legacy_head = head.digest
    finally:
        apps = migrate(latest)

    AuditEvent = apps.get_model("qms", "AuditEvent")
    events = list(AuditEvent.objects.order_by("id"))
    assert [event.chain_version for event in events] == [1, 1, 1, 2, 2]
    anchor, sealed = events[3], events[4]
    assert (anchor.action, anchor.after) == ("audit.chain_anchored", {"legacy_events": 3, "legacy_head": legacy_head})
    assert "1 existing signatures were sealed" in anchor.note
    assert sealed.action == "records.sealed"
    assert sealed.after == {
        "baselines_sealed": 1,
        "reports_sealed": 0,
        "approvals_recorded": ["OLD 1.0"],
        "approved_without_approval_signature": [],
    }
    approval = apps.get_model("traceability", "ReleaseApproval").objects.get()
    assert approval.signature_id == signature.pk and approval.baseline_sha256 == SHA

    call_command("audit_checkpoint", stdout=StringIO())
    out = StringIO()
    call_command("audit_verify", "--chain-only", stdout=out)
    assert "Chain intact: 5 events" in out.getvalue()

    # the unkeyed events are now held by the anchor: altering one is detected
    immutable_rows_dropped(connection, "qms_auditevent")  # committed here: installed again at the end
    try:
        forge_first_event(events[0])
        with pytest.raises(CommandError, match=f"audit trail broken at event #{events[1].pk}"):
            call_command("audit_verify", "--chain-only", stdout=StringIO())
    finally:
        with connection.schema_editor() as editor:
            immutable_rows_installed(editor, "qms_auditevent", "audit events are append-only")


def forge_first_event(old) -> None:
    """The first event's note changed and its SHA-256 recomputed, as anyone could before the key."""
    old.note = "forged"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE qms_auditevent SET note = 'forged', digest = %s WHERE id = %s",
            [digest_of(event_content_of(old)), old.pk],
        )
