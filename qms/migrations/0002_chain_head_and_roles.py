from django.db import migrations

ROLES = ["quality_manager", "developer", "auditor"]


def create(apps, schema_editor):
    apps.get_model("qms", "AuditChainHead").objects.get_or_create(pk=1)
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("qms", "0001_audit_trail_and_tokens"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
