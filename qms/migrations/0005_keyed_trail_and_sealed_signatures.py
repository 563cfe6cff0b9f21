"""Key the audit trail and seal the signatures (21 CFR 11.10(c), (e), 11.70).

From here on each event's digest is HMAC-SHA256 with AUDIT_KEY (chain_version 2). Events already
in the database keep their SHA-256 chain (chain_version 1); one anchor event, keyed, records their
number and head digest, so they can no longer be changed or cut either. Existing signatures get
their seal. The chain head is moved by the database on every insert; on PostgreSQL it refuses any
other change, and TRUNCATE of the audit trail, the signatures and the head is refused.
"""

from django.db import migrations, models

from qms.dbtriggers import audit_head_maintained, audit_head_released, immutable_rows_installed, truncate_allowed, truncate_refused

EVENTS_MESSAGE = "audit events are append-only"
SIGNATURES_MESSAGE = "a signature never changes once applied"
TRUNCATE_REFUSED = {
    "qms_auditevent": "the audit trail is append-only: TRUNCATE is refused",
    "qms_signature": "signatures are never deleted: TRUNCATE is refused",
    "qms_auditchainhead": "the audit chain head is never reset: TRUNCATE is refused",
}


def forwards(apps, schema_editor):
    from qms.integrity.migration import event_append, rows_sealed
    from qms.models import signature_seal

    AuditEvent = apps.get_model("qms", "AuditEvent")
    Signature = apps.get_model("qms", "Signature")
    immutable_rows_installed(schema_editor, "qms_auditevent", EVENTS_MESSAGE)
    audit_head_maintained(schema_editor)
    for table, message in TRUNCATE_REFUSED.items():
        truncate_refused(schema_editor, table, message)
    sealed = rows_sealed(schema_editor, Signature, signature_seal, message=SIGNATURES_MESSAGE)
    legacy = AuditEvent.objects.count()
    if legacy:
        head = AuditEvent.objects.order_by("-id").values_list("digest", flat=True).first()
        event_append(
            apps,
            action="audit.chain_anchored",
            object_type="qms.auditchainhead",
            object_id="1",
            object_repr="audit trail",
            after={"legacy_events": legacy, "legacy_head": head},
            note=(
                f"The audit trail is keyed from this event on (HMAC-SHA256 with AUDIT_KEY). The {legacy} earlier "
                f"events keep their SHA-256 chain, whose head this event records; {sealed} existing signatures "
                "were sealed."
            ),
        )


def backwards(apps, schema_editor):
    audit_head_released(schema_editor)
    for table in TRUNCATE_REFUSED:
        truncate_allowed(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("qms", "0004_audit_events_immutable"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="chain_version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddField(
            model_name="signature",
            name="seal",
            field=models.CharField(
                default="", help_text="HMAC-SHA256 with AUDIT_KEY over the signature's content", max_length=64
            ),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="auditchainhead",
            constraint=models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_single_row"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
