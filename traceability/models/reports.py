from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from qms.integrity.keys import seal_matches, seal_of
from traceability.models.releases import Release


class ReportFormat(models.TextChoices):
    PDF = "pdf", "PDF trace report"
    XLSX = "xlsx", "XLSX workbook of the report's tables"


class ReportState(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


REPORT_CONTENT_TYPES = {
    ReportFormat.PDF: "application/pdf",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class TraceReport(models.Model):
    """A generated report of a frozen release, stored once per baseline and signature set.

    ``key`` is the SHA-256 of everything the file's bytes depend on (layout version, format,
    baseline hash, release state, previous baseline, the signatures), so asking again for the
    same report serves the stored file, and a signature or state change makes a new revision.
    The file is in the default storage; ``sha256`` is the hash of its bytes.
    """

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="reports")
    format = models.CharField(max_length=8, choices=ReportFormat.choices)
    key = models.CharField(max_length=64, help_text="SHA-256 of what the report's bytes depend on")
    layout_version = models.CharField(max_length=16)
    baseline_sha256 = models.CharField(max_length=64)
    release_state = models.CharField(max_length=16)
    withdrawn_reason = models.TextField(blank=True)
    previous_version = models.CharField(max_length=64, blank=True)
    previous_sha256 = models.CharField(max_length=64, blank=True)
    signatures = models.JSONField(default=list, blank=True, help_text="The signatures the report shows")
    signatures_digest = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=ReportState.choices, default=ReportState.PENDING)
    document_id = models.CharField(max_length=128)
    revision = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="reports/", max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the stored file")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    generated_at = models.DateTimeField(null=True, blank=True)
    seal = models.CharField(
        max_length=64, blank=True, help_text="HMAC-SHA256 with AUDIT_KEY over the stored file's name, size and hash"
    )

    class Meta:
        ordering = ["release_id", "requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["release", "format", "key"], name="trace_report_unique_key"),
            models.CheckConstraint(condition=Q(format__in=ReportFormat.values), name="trace_report_format_valid"),
            models.CheckConstraint(condition=Q(state__in=ReportState.values), name="trace_report_state_valid"),
            models.CheckConstraint(
                condition=~Q(state=ReportState.READY) | (~Q(sha256="") & ~Q(file="")),
                name="trace_report_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} r{self.revision} ({self.format}, {self.state})"

    @property
    def content_type(self) -> str:
        return REPORT_CONTENT_TYPES[ReportFormat(self.format)]

    @property
    def filename(self) -> str:
        return f"{self.document_id}-r{self.revision}.{self.format}"


REPORT_RECORD = "traceability.tracereport"


def report_seal_content(report: TraceReport) -> dict[str, Any]:
    return {
        "id": report.pk,
        "release_id": report.release_id,
        "format": report.format,
        "key": report.key,
        "file": report.file.name or "",
        "sha256": report.sha256,
        "size": report.size,
    }


def report_seal(report: TraceReport) -> str:
    return seal_of(REPORT_RECORD, report_seal_content(report))


def report_is_sealed(report: TraceReport) -> bool:
    return seal_matches(REPORT_RECORD, report_seal_content(report), report.seal)
