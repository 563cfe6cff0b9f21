"""Deviations and their revocations refuse TRUNCATE on PostgreSQL, as baselines and approvals do."""

from django.db import migrations

from qms.dbtriggers import truncate_allowed, truncate_refused

TRUNCATE_REFUSED = {
    "traceability_deviation": "deviations are never deleted: TRUNCATE is refused",
    "traceability_deviationrevocation": "revocations of deviations are never deleted: TRUNCATE is refused",
}


def forwards(apps, schema_editor):
    for table, message in TRUNCATE_REFUSED.items():
        truncate_refused(schema_editor, table, message)


def backwards(apps, schema_editor):
    for table in TRUNCATE_REFUSED:
        truncate_allowed(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("traceability", "0009_signed_deviations"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
