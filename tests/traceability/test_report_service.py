"""Stored reports: generated once per baseline and signature set, audited, the background job,
failures, and drafts that have no report."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from qms.canonical import sha256_hex
from qms.errors import Conflict, InvalidInput
from qms.models import AuditEvent
from tests.traceability.reporting import approve, frozen_release, report_items, report_product
from traceability.models import ReportState, TraceReport
from traceability.reports.selectors import report_identity, trace_report_list
from traceability.services import reports as report_services
from traceability.services.releases import release_create, release_mark_released
from traceability.services.reports import trace_report_ensure, trace_report_generate, trace_report_request

pytestmark = pytest.mark.django_db

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def release(catalogue, qm):
    product = report_product(qm)
    report_items(product, qm)
    return frozen_release(product, qm)


def actions() -> list[str]:
    return list(AuditEvent.objects.filter(object_type="traceability.tracereport").values_list("action", flat=True))


def test_asking_stores_the_report_once_and_audits_it(release, qm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = trace_report_request(release=release, report_format="pdf", actor=qm)
    assert len(callbacks) == 1  # the job is enqueued after the commit; the immediate backend runs it
    report.refresh_from_db()
    identity = report_identity(release=release)
    assert (report.state, report.format, report.revision, report.requested_by) == ("ready", "pdf", 0, qm)
    assert report.key == identity.key("pdf") and report.baseline_sha256 == identity.baseline_sha256
    assert report.document_id == f"TR-RPT-1.0.0-{identity.baseline_sha256[:8]}"
    with default_storage.open(report.file.name, "rb") as stored:
        data = stored.read()
    assert data.startswith(b"%PDF-") and report.sha256 == sha256_hex(data) and report.size == len(data)
    assert report.pages is not None and report.pages >= 10
    assert report.file.name == f"reports/RPT/1.0.0/{report.document_id}-r0-{report.key[:12]}.pdf"
    assert report.generated_at is not None and report.generated_at >= report.requested_at
    assert actions() == ["report.requested", "report.generated"]
    generated = AuditEvent.objects.get(action="report.generated")
    assert (generated.actor_username, generated.scope, generated.note) == ("quinn", "RPT", f"sha256 {report.sha256}")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = trace_report_request(release=release, report_format="pdf", actor=qm)
    assert again.pk == report.pk and callbacks == [] and actions() == ["report.requested", "report.generated"]


def test_a_signature_or_a_state_change_makes_a_new_revision(release, qm, django_capture_on_commit_callbacks):
    first = trace_report_ensure(release=release, report_format="pdf", actor=qm)
    approve(release, qm)
    signed = trace_report_ensure(release=release, report_format="pdf", actor=qm)
    assert signed.pk != first.pk and signed.revision == 1 and signed.sha256 != first.sha256
    assert signed.signatures[0]["printed_name"] == "Quinn Manager" and signed.signatures[0]["meaning"] == "approval"
    release.refresh_from_db()
    release_mark_released(release=release, actor=qm)
    released = trace_report_ensure(release=release, report_format="pdf", actor=qm)
    assert released.pk not in (first.pk, signed.pk) and released.release_state == "released"
    assert [report.pk for report in trace_report_list(release=release)] == [released.pk, signed.pk, first.pk]
    first.refresh_from_db()
    assert default_storage.exists(first.file.name)  # issued revisions stay as they were


def test_a_draft_has_no_report_and_nothing_is_written(catalogue, qm):
    product = report_product(qm)
    draft = release_create(product=product, version="2.0", actor=qm)
    before = AuditEvent.objects.count()
    with pytest.raises(Conflict, match=r"RPT 2\.0 is a draft: it has no baseline to report on; freeze it first"):
        trace_report_request(release=draft, report_format="pdf", actor=qm)
    with pytest.raises(InvalidInput, match="unknown report format 'doc'; formats are pdf, xlsx"):
        trace_report_request(release=draft, report_format="doc", actor=qm)
    assert not TraceReport.objects.exists() and AuditEvent.objects.count() == before


def test_a_failure_is_recorded_and_asking_again_retries(release, qm, monkeypatch, django_capture_on_commit_callbacks):
    def broken(content, report_format):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report_services, "report_render", broken)
    with django_capture_on_commit_callbacks(execute=True):
        report = trace_report_request(release=release, report_format="xlsx", actor=qm)
    report.refresh_from_db()
    assert (report.state, report.error, report.file.name, report.sha256) == (
        "failed",
        "RuntimeError: disk on fire",
        "",
        "",
    )
    assert actions() == ["report.requested", "report.failed"]
    with pytest.raises(Conflict, match="could not be generated: RuntimeError: disk on fire"):
        trace_report_ensure(release=release, report_format="xlsx", actor=qm)
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        retried = trace_report_request(release=release, report_format="xlsx", actor=qm)
    retried.refresh_from_db()
    assert retried.pk == report.pk and retried.state == "ready" and retried.error == ""
    assert actions()[-2:] == ["report.requested", "report.generated"]


def test_with_a_database_queue_the_report_waits_for_the_worker(
    release, qm, settings, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DATABASE_TASKS
    with django_capture_on_commit_callbacks(execute=True):
        report = trace_report_request(release=release, report_format="pdf", actor=qm)
    report.refresh_from_db()
    assert report.state == "pending" and report.file.name == ""
    queued = DBTaskResult.objects.get()
    assert (queued.task_path, queued.args_kwargs["args"]) == (
        "traceability.tasks.trace_report_generate_task",
        [report.pk],
    )
    trace_report_generate(report_id=report.pk)  # what the worker runs
    report.refresh_from_db()
    assert report.state == "ready"


def test_a_lost_pending_report_is_queued_again(release, qm, django_capture_on_commit_callbacks):
    report = trace_report_request(release=release, report_format="pdf", actor=qm)  # callbacks not run: "lost"
    assert report.state == ReportState.PENDING
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert trace_report_request(release=release, report_format="pdf", actor=qm).pk == report.pk
    assert callbacks == []  # recently asked for: still waiting for its job
    TraceReport.objects.filter(pk=report.pk).update(requested_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        trace_report_request(release=release, report_format="pdf", actor=qm)
    report.refresh_from_db()
    assert len(callbacks) == 1 and report.state == "ready"


def test_the_identity_of_a_release_costs_the_same_queries_for_any_number_of_signatures(
    release, qm, django_assert_num_queries
):
    from traceability.selectors import release_get
    from traceability.services.releases import release_sign

    release = release_get(product=release.product, version="1.0.0")  # with its product, as the callers have it
    with django_assert_num_queries(4):  # baseline, signatures, approval record, previous frozen release
        unsigned = report_identity(release=release)
    release_sign(release=release, signer=qm, password="quinn-pw", meaning="review")
    approve(release, qm)
    release = release_get(product=release.product, version="1.0.0")
    with django_assert_num_queries(4):
        signed = report_identity(release=release)
    assert [signature.meaning for signature in signed.signatures] == ["review", "approval"]
    assert unsigned.key("pdf") != signed.key("pdf") != signed.key("xlsx")
    assert (signed.release_state, signed.previous_version) == ("approved", "")
