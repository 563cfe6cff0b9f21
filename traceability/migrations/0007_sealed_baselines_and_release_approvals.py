"""Seal baselines and stored reports, and record release approvals (21 CFR 11.10(c), (e), 11.70).

A baseline's seal binds its hash to its release; a release is approved by a ReleaseApproval record
(sealed, naming the approval signature and the baseline hash), never by a signature's meaning.
Releases approved before this migration get their record from the signature their
``release.approved`` audit event names. One audit event says what was sealed and recorded.
"""

import re

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from qms.dbtriggers import immutable_rows_installed, truncate_allowed, truncate_refused

BASELINE_MESSAGE = "a baseline never changes once taken"
APPROVAL_MESSAGE = "a release approval never changes once given"
TRUNCATE_REFUSED = {
    "traceability_baseline": "baselines are never deleted: TRUNCATE is refused",
    "traceability_releaseapproval": "release approvals are never deleted: TRUNCATE is refused",
}
SIGNATURE_NOTE = re.compile(r"^signature #(\d+) over ([0-9a-f]{64})")


def _approval_signature(apps, release, sha256):
    AuditEvent = apps.get_model("qms", "AuditEvent")
    Signature = apps.get_model("qms", "Signature")
    signatures = Signature.objects.filter(
        record_type="traceability.release", record_id=str(release.pk), record_hash=sha256
    )
    for note in AuditEvent.objects.filter(
        action="release.approved", object_type="traceability.release", object_id=str(release.pk)
    ).values_list("note", flat=True):
        match = SIGNATURE_NOTE.match(note or "")
        if match and match.group(2) == sha256:
            found = signatures.filter(pk=int(match.group(1))).first()
            if found is not None:
                return found
    return signatures.filter(meaning__in=["approval", "responsibility"]).order_by("signed_at", "id").first()


def forwards(apps, schema_editor):
    from qms.integrity.migration import event_append, rows_sealed
    from traceability.models.releases import approval_seal, baseline_seal
    from traceability.models.reports import report_seal

    Release = apps.get_model("traceability", "Release")
    Baseline = apps.get_model("traceability", "Baseline")
    ReleaseApproval = apps.get_model("traceability", "ReleaseApproval")
    TraceReport = apps.get_model("traceability", "TraceReport")
    releases = {release.pk: release for release in Release.objects.select_related("product")}

    def sealed(baseline):
        release = releases[baseline.release_id]
        return baseline_seal(
            release_id=release.pk, product=release.product.key, version=release.version, baseline=baseline
        )

    baselines = rows_sealed(schema_editor, Baseline, sealed, message=BASELINE_MESSAGE)
    immutable_rows_installed(schema_editor, "traceability_releaseapproval", APPROVAL_MESSAGE)
    for table, message in TRUNCATE_REFUSED.items():
        truncate_refused(schema_editor, table, message)
    reports = 0
    for report in TraceReport.objects.filter(state="ready"):
        TraceReport.objects.filter(pk=report.pk).update(seal=report_seal(report))
        reports += 1
    recorded, unexplained = [], []
    sha_of = dict(Baseline.objects.values_list("release_id", "sha256"))
    for release in releases.values():
        if release.pk not in sha_of or release.state not in ("approved", "released", "withdrawn"):
            continue
        signature = _approval_signature(apps, release, sha_of[release.pk])
        if signature is None:
            if release.state != "withdrawn":
                unexplained.append(f"{release.product.key} {release.version}")
            continue
        approval = ReleaseApproval(
            release_id=release.pk,
            signature_id=signature.pk,
            baseline_sha256=sha_of[release.pk],
            approved_at=signature.signed_at,
            approved_by_id=signature.signer_id,
        )
        approval.seal = approval_seal(approval, signature_seal=signature.seal)
        approval.save()
        recorded.append(f"{release.product.key} {release.version}")
    if baselines or reports or recorded or unexplained:
        event_append(
            apps,
            action="records.sealed",
            object_type="traceability.baseline",
            object_id="*",
            object_repr="baselines, stored reports and release approvals",
            after={
                "baselines_sealed": baselines,
                "reports_sealed": reports,
                "approvals_recorded": sorted(recorded),
                "approved_without_approval_signature": sorted(unexplained),
            },
            note=(
                "Baselines and stored reports were sealed with AUDIT_KEY; each approved release got its approval "
                "record from the signature its release.approved event names. Releases approved without an approval "
                "signature (listed) are not shown as approved and fail audit_verify."
            ),
        )


def backwards(apps, schema_editor):
    for table in TRUNCATE_REFUSED:
        truncate_allowed(schema_editor, table)


class Migration(migrations.Migration):

    dependencies = [
        ('qms', '0005_keyed_trail_and_sealed_signatures'),
        ('traceability', '0006_test_result_case_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='baseline',
            name='seal',
            field=models.CharField(default='', help_text='HMAC-SHA256 with AUDIT_KEY binding the hash to the release', max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='tracereport',
            name='seal',
            field=models.CharField(blank=True, help_text="HMAC-SHA256 with AUDIT_KEY over the stored file's name, size and hash", max_length=64),
        ),
        migrations.CreateModel(
            name='ReleaseApproval',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('baseline_sha256', models.CharField(max_length=64)),
                ('approved_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('seal', models.CharField(help_text='HMAC-SHA256 with AUDIT_KEY over the approval', max_length=64)),
                ('approved_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('release', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='approval', to='traceability.release')),
                ('signature', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='qms.signature')),
            ],
            options={
                'ordering': ['release_id'],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
