from django.db import migrations

from qms.dbtriggers import immutable_rows


class Migration(migrations.Migration):
    """The audit trail is append-only in the database too (21 CFR 11.10(e))."""

    dependencies = [
        ("qms", "0003_electronic_signatures"),
    ]

    operations = [
        immutable_rows("qms_auditevent", "audit events are append-only"),
    ]
