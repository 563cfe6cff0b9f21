"""Writes of trace reports: asking for the report of a frozen release, generating and storing it.

A report is generated once per ``ReportIdentity`` key (baseline hash, release state, previous
baseline, signatures, layout version, format) and stored in the default storage with its
SHA-256. Asking for it records a pending ``TraceReport`` and enqueues the background job after
the transaction commits; with the default (immediate) task backend the job runs right there,
with the database backend a ``db_worker`` runs it and the caller gets the pending row.
Requests, generations and failures are audited.
"""

import hashlib
import logging
from datetime import timedelta
from typing import IO, Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from qms.canonical import sha256_hex
from qms.errors import Conflict, InvalidInput
from qms.services import audit_record
from traceability.models import Release, ReportFormat, ReportState, TraceReport
from traceability.models.reports import report_is_sealed, report_seal
from traceability.reports.identity import LAYOUT_VERSION, ReportIdentity, SignatureEntry
from traceability.reports.render import Rendered, report_render
from traceability.reports.selectors import report_content_for, report_identity

logger = logging.getLogger(__name__)

# A pending report older than this is taken to be lost (a worker died) and queued again.
PENDING_TIMEOUT = timedelta(minutes=30)


def report_state(report: TraceReport) -> dict[str, Any]:
    return {
        "format": report.format,
        "state": report.state,
        "document_id": report.document_id,
        "revision": report.revision,
        "baseline_sha256": report.baseline_sha256,
        "signatures_digest": report.signatures_digest,
        "release_state": report.release_state,
        "sha256": report.sha256,
        "size": report.size,
        "file": report.file.name or "",
        "error": report.error,
    }


def _audit(report: TraceReport, action: str, actor: User | None, *, before: Any = None, note: str = "") -> None:
    release = report.release
    audit_record(
        actor=actor,
        action=action,
        obj=report,
        scope=release.product.key,
        object_repr=f"{release.product.key} {release.version} {report.format} r{report.revision}",
        before=before,
        after=report_state(report),
        note=note,
    )


def _identity_of(report: TraceReport) -> ReportIdentity:
    return ReportIdentity(
        product=report.release.product.key,
        version=report.release.version,
        baseline_sha256=report.baseline_sha256,
        release_state=report.release_state,
        withdrawn_reason=report.withdrawn_reason,
        previous_version=report.previous_version,
        previous_sha256=report.previous_sha256,
        signatures=tuple(SignatureEntry(**entry) for entry in report.signatures),
    )


def _enqueue(report_id: int) -> None:
    from traceability.tasks import trace_report_generate_task

    trace_report_generate_task.enqueue(report_id)


@transaction.atomic
def trace_report_request(*, release: Release, report_format: str, actor: User | None) -> TraceReport:
    """The stored report of a frozen release as it is now (baseline, state, signatures), or a new
    pending one whose generation is enqueued when the transaction commits.

    A draft release raises Conflict (409): it has no baseline to report on.
    """
    if report_format not in ReportFormat.values:
        raise InvalidInput(
            f"unknown report format {report_format!r}; formats are {', '.join(ReportFormat.values)}", field="format"
        )
    # the release as it is now, held until the report is recorded (an approval waits for us, or we for it)
    release = Release.objects.select_for_update(of=("self",)).select_related("product").get(pk=release.pk)
    identity = report_identity(release=release)
    key = identity.key(report_format)
    existing = TraceReport.objects.select_for_update().filter(release=release, format=report_format, key=key).first()
    if existing is not None:
        stale = existing.state == ReportState.PENDING and timezone.now() - existing.requested_at > PENDING_TIMEOUT
        if existing.state == ReportState.READY or (existing.state == ReportState.PENDING and not stale):
            return existing
        before = report_state(existing)
        existing.state, existing.error = ReportState.PENDING, ""
        existing.requested_at, existing.requested_by = timezone.now(), actor
        existing.save(update_fields=["state", "error", "requested_at", "requested_by"])
        _audit(existing, "report.requested", actor, before=before, note="asked again after a failed or lost run")
        transaction.on_commit(lambda: _enqueue(existing.pk))
        return existing
    suffix = identity.baseline_sha256[:8]
    report = TraceReport(
        release=release,
        format=report_format,
        key=key,
        layout_version=LAYOUT_VERSION,
        baseline_sha256=identity.baseline_sha256,
        release_state=identity.release_state,
        withdrawn_reason=identity.withdrawn_reason,
        previous_version=identity.previous_version,
        previous_sha256=identity.previous_sha256,
        signatures=[signature.as_dict() for signature in identity.signatures],
        signatures_digest=identity.signatures_digest,
        document_id=f"TR-{identity.product}-{identity.version}-{suffix}",
        revision=len(identity.signatures),
        requested_by=actor,
    )
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:  # asked for at the same moment by someone else
        return TraceReport.objects.get(release=release, format=report_format, key=key)
    _audit(report, "report.requested", actor)
    transaction.on_commit(lambda: _enqueue(report.pk))
    return report


def _file_name(report: TraceReport) -> str:
    release = report.release
    name = f"{report.document_id}-r{report.revision}-{report.key[:12]}.{report.format}"
    return f"reports/{release.product.key}/{release.version}/{name}"


def trace_report_generate(*, report_id: int) -> TraceReport:
    """Render a pending report, store the file and mark it ready (audited); a failure marks it
    failed with the error (audited) and is not raised. Rendering runs outside any transaction;
    a report that is already ready is left alone."""
    report = TraceReport.objects.select_related("release__product", "requested_by").get(pk=report_id)
    if report.state == ReportState.READY:
        return report
    try:
        content = report_content_for(release=report.release, identity=_identity_of(report))
        rendered = report_render(content, report.format)
        done = TraceReport.objects.filter(pk=report_id, state=ReportState.READY).first()
        if done is not None:  # another run stored it while this one rendered: leave its file alone
            return done
        name = _file_name(report)
        if default_storage.exists(name):  # left by a run that died before recording it
            default_storage.delete(name)
        stored = default_storage.save(name, ContentFile(rendered.data))
    except Exception as exc:  # any failure to render or store is recorded on the report, never lost
        logger.exception("trace report %s failed", report_id)
        return _trace_report_failed(report_id=report_id, error=f"{type(exc).__name__}: {exc}")
    try:
        return _trace_report_store(report_id=report_id, name=stored, rendered=rendered)
    except Exception:
        default_storage.delete(stored)
        raise


@transaction.atomic
def _trace_report_store(*, report_id: int, name: str, rendered: Rendered) -> TraceReport:
    report = (
        TraceReport.objects.select_for_update(of=("self",))
        .select_related("release__product", "requested_by")
        .get(pk=report_id)
    )
    if report.state == ReportState.READY:  # generated meanwhile by another run: keep that one
        if report.file.name != name:
            transaction.on_commit(lambda: default_storage.delete(name))
        return report
    before = report_state(report)
    report.file.name = name
    report.sha256 = sha256_hex(rendered.data)
    report.size = len(rendered.data)
    report.pages = rendered.pages
    report.state = ReportState.READY
    report.error = ""
    report.generated_at = timezone.now()
    report.seal = report_seal(report)
    report.save(update_fields=["file", "sha256", "size", "pages", "state", "error", "generated_at", "seal"])
    _audit(report, "report.generated", report.requested_by, before=before, note=f"sha256 {report.sha256}")
    return report


@transaction.atomic
def _trace_report_failed(*, report_id: int, error: str) -> TraceReport:
    report = (
        TraceReport.objects.select_for_update(of=("self",))
        .select_related("release__product", "requested_by")
        .get(pk=report_id)
    )
    if report.state == ReportState.READY:
        return report
    before = report_state(report)
    report.state = ReportState.FAILED
    report.error = error[:2000]
    report.save(update_fields=["state", "error"])
    _audit(report, "report.failed", report.requested_by, before=before, note=report.error)
    return report


def trace_report_ensure(*, release: Release, report_format: str, actor: User | None) -> TraceReport:
    """The stored report, generated right here if no job has done it (the command line)."""
    report = trace_report_request(release=release, report_format=report_format, actor=actor)
    report.refresh_from_db()
    if report.state != ReportState.READY:
        report = trace_report_generate(report_id=report.pk)
    if report.state == ReportState.FAILED:
        raise Conflict(f"the report of {release} could not be generated: {report.error}", code="report_failed")
    return report


# --- serving a stored report -------------------------------------------------------------------

READ_CHUNK = 1024 * 1024


def _file_sha256(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(READ_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


@transaction.atomic
def _report_refused(*, report: TraceReport, actor: User | None, action: str, problem: str) -> None:
    logger.error("trace report #%s not served: %s", report.pk, problem)
    _audit(report, action, actor, before=report_state(report), note=problem)


def trace_report_file_open(*, report: TraceReport, actor: User | None) -> IO[bytes]:
    """The stored file of a ready report, open at its start, once checked: the report's record
    carries its seal, and the file's bytes hash to the recorded SHA-256 (in chunks: bounded memory).

    A record or file that does not hold up is never served: Conflict (409 ``integrity_error``),
    logged and audited (``report.integrity_failed``). A file that is gone is rendered again from
    the baseline: the same bytes are stored again (``report.restored``); different bytes (another
    machine's fonts, say) mark the report failed, so that asking again generates it anew
    (409 ``report_missing``).
    """
    name = f"report {report.document_id} r{report.revision} ({report.format})"
    if not report_is_sealed(report):
        problem = f"{name}: its record (file, size or SHA-256) does not match its seal: changed in the database"
        _report_refused(report=report, actor=actor, action="report.integrity_failed", problem=problem)
        raise Conflict(f"{problem}; it is not served", code="integrity_error")
    try:
        handle = report.file.open("rb")
    except FileNotFoundError:
        return _trace_report_restore(report=report, actor=actor)
    try:
        found = _file_sha256(handle)
        if found != report.sha256:
            problem = f"{name}: the stored file's SHA-256 is {found}, not the recorded {report.sha256}: altered"
            _report_refused(report=report, actor=actor, action="report.integrity_failed", problem=problem)
            raise Conflict(f"{problem}; it is not served", code="integrity_error")
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle


def _trace_report_restore(*, report: TraceReport, actor: User | None) -> IO[bytes]:
    rendered = report_render(report_content_for(release=report.release, identity=_identity_of(report)), report.format)
    if sha256_hex(rendered.data) != report.sha256:
        _trace_report_failed(
            report_id=report.pk,
            error=f"the stored file is missing and rendering it again gave other bytes than sha256 {report.sha256}",
        )
        raise Conflict(
            f"the stored file of report {report.document_id} r{report.revision} is missing, and rendering it again "
            "gives different bytes; ask again to generate it anew",
            code="report_missing",
        )
    with transaction.atomic():
        default_storage.save(report.file.name, ContentFile(rendered.data))
        _audit(report, "report.restored", actor, before=report_state(report), note="missing file rendered again")
    return report.file.open("rb")
