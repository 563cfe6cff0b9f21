"""The report over the API, the release page download and the trace_report command."""

import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from qms.models import AuditEvent
from tests.traceability.reporting import frozen_release, pages_text, report_items, report_product
from traceability.models import TraceReport
from traceability.reports.selectors import report_identity
from traceability.services.releases import release_create
from traceability.services.reports import trace_report_ensure

pytestmark = pytest.mark.django_db

PDF_URL = "/api/v1/products/RPT/releases/1.0.0/report.pdf"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def release(catalogue, qm):
    product = report_product(qm)
    report_items(product, qm)
    return frozen_release(product, qm)


def written() -> tuple[int, int]:
    return TraceReport.objects.count(), AuditEvent.objects.count()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_auditor_downloads_the_report_generated_in_the_request(release, auditor, api_client):
    """Without an outer transaction (as in production) the immediate backend renders the report
    when the request's write commits, so the first answer is the file."""
    client = api_client(auditor)
    response = client.get(PDF_URL, HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    report = TraceReport.objects.get()
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF-") and len(body) == report.size
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{report.document_id}-r0.pdf"'
    assert response["X-Report-SHA256"] == report.sha256 and response["ETag"] == f'"{report.sha256}"'
    assert response["X-Baseline-SHA256"] == report_identity(release=release).baseline_sha256
    assert AuditEvent.objects.get(action="report.requested").actor_username == "avery"

    again = client.get(PDF_URL, HTTP_IF_NONE_MATCH=f'"{report.sha256}"')
    assert again.status_code == 304 and TraceReport.objects.count() == 1


def test_the_workbook_and_a_csv_table(release, auditor, api_client, django_capture_on_commit_callbacks):
    client = api_client(auditor)
    url = "/api/v1/products/RPT/releases/1.0.0/report.xlsx"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(url).status_code == 202  # the job runs when the test's transaction would commit
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames[:2] == ["Release", "Traceability matrix"]

    response = client.get("/api/v1/products/RPT/releases/1.0.0/tables/soup.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Key,Title,Version,Supplier") and lines[1].startswith(
        "SOUP-1,libdecimal,2.1,Decimal Org"
    )
    missing = client.get("/api/v1/products/RPT/releases/1.0.0/tables/secrets.csv")
    assert missing.status_code == 404
    assert (
        missing.json()["detail"]
        == "no table 'secrets'; tables are matrix, reverse, risks, gaps, deviations, soup, anomalies, clauses, changes"
    )


def test_a_queued_report_answers_202_with_retry_after(release, auditor, api_client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    response = api_client(auditor).get(PDF_URL)
    assert response.status_code == 202 and response["Retry-After"] == "10"
    body = response.json()
    assert (body["state"], body["format"], body["revision"], body["requested_by"]) == ("pending", "pdf", 0, "avery")
    assert body["download"] == PDF_URL and body["sha256"] == ""


@pytest.mark.parametrize(
    ("url", "status", "detail"),
    [
        ("/api/v1/products/NOPE/releases/1.0.0/report.pdf", 404, "no product 'NOPE'"),
        ("/api/v1/products/RPT/releases/9.9/report.pdf", 404, "RPT has no release '9.9'"),
        ("/api/v1/products/RPT/releases/2.0/report.pdf", 409, "RPT 2.0 is a draft: it has no baseline"),
        ("/api/v1/products/RPT/releases/2.0/report.xlsx", 409, "RPT 2.0 is a draft: it has no baseline"),
        ("/api/v1/products/RPT/releases/2.0/tables/matrix.csv", 409, "RPT 2.0 is a draft: it has no baseline"),
    ],
)
def test_bad_requests_name_the_problem_and_write_nothing(release, auditor, api_client, qm, url, status, detail):
    release_create(product=release.product, version="2.0", actor=qm)
    before = written()
    response = api_client(auditor).get(url)
    assert response.status_code == status and response.json()["detail"].startswith(detail)
    assert written() == before


def test_only_users_with_a_role_read_reports(release, no_role_user, api_client):
    assert api_client(None).get(PDF_URL).status_code in (401, 403)
    assert api_client(no_role_user).get(PDF_URL).status_code == 403
    assert not TraceReport.objects.exists()


def test_the_list_of_stored_reports_costs_the_same_queries_for_one_or_many(
    release, qm, auditor, api_client, django_assert_num_queries
):
    trace_report_ensure(release=release, report_format="pdf", actor=qm)
    client = api_client(auditor)
    url = "/api/v1/products/RPT/releases/1.0.0/reports/"
    # session, user, roles, product, release, count, page of reports (with release, product, requester)
    with django_assert_num_queries(7) as one:
        first = client.get(url)
    trace_report_ensure(release=release, report_format="xlsx", actor=qm)
    with django_assert_num_queries(len(one.captured_queries)):
        second = client.get(url)
    assert first.json()["count"] == 1
    results = second.json()["results"]
    assert [(row["format"], row["state"], row["revision"]) for row in results] == [
        ("xlsx", "ready", 0),
        ("pdf", "ready", 0),
    ]
    assert results[1]["download"] == PDF_URL and results[1]["requested_by"] == "quinn"


def test_the_release_page_download(release, auditor, client, qm, settings, django_capture_on_commit_callbacks):
    url = "/p/RPT/releases/1.0.0/report.pdf"
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(url).status_code == 202
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    release_create(product=release.product, version="2.0", actor=qm)
    draft = client.get("/p/RPT/releases/2.0/report.pdf")
    assert draft.status_code == 409 and b"is a draft: it has no baseline" in draft.content
    assert client.get("/p/RPT/releases/9.9/report.pdf").status_code == 404
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    pending = client.get("/p/RPT/releases/1.0.0/report.xlsx")
    assert pending.status_code == 202 and pending["Retry-After"] == "10"
    # the page reloads after the time Retry-After names
    assert b'<meta http-equiv="refresh" content="10">' in pending.content and b"is being generated" in pending.content
    assert b"reloads itself every 10 seconds" in pending.content


def test_the_command_writes_the_stored_report(release, tmp_path):
    output = tmp_path / "report.pdf"
    out = StringIO()
    call_command("trace_report", "RPT", "1.0.0", "-o", str(output), "--as", "quinn", stdout=out)
    report = TraceReport.objects.get()
    assert output.read_bytes().startswith(b"%PDF-") and len(output.read_bytes()) == report.size
    assert out.getvalue().startswith(f"wrote {output} ({report.size} bytes): {report.document_id} revision 0")
    assert f"sha256 {report.sha256}; stored as report #{report.pk}" in out.getvalue()
    assert report.requested_by.username == "quinn"
    call_command("trace_report", "RPT", "1.0.0", "-o", str(tmp_path / "again.pdf"), stdout=StringIO())
    assert TraceReport.objects.count() == 1 and (tmp_path / "again.pdf").read_bytes() == output.read_bytes()

    call_command("trace_report", "RPT", "1.0.0", "-o", str(tmp_path / "tables.xlsx"), stdout=StringIO())
    call_command("trace_report", "RPT", "1.0.0", "-o", str(tmp_path / "gaps.csv"), "--table", "gaps", stdout=StringIO())
    assert TraceReport.objects.count() == 2
    assert (tmp_path / "gaps.csv").read_text(encoding="utf-8-sig").startswith("Rule,Severity,Items,Clauses,Message")


def test_the_command_renders_a_draft_as_an_unstored_preview(release, qm, tmp_path):
    release_create(product=release.product, version="2.0", actor=qm)
    output = tmp_path / "draft.pdf"
    out = StringIO()
    call_command("trace_report", "RPT", "2.0", "-o", str(output), stdout=out)
    assert "RPT 2.0 is a draft: preview from live data at" in out.getvalue()
    assert "marked NOT FROZEN, not stored" in out.getvalue()
    assert "NOT FROZEN – DRAFT PREVIEW" in pages_text(output.read_bytes())[0]
    assert not TraceReport.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["NOPE", "1.0.0"], "no product 'NOPE'"),
        (["RPT", "9.9"], "RPT has no release '9.9'"),
        (["RPT", "1.0.0", "--as", "ghost"], "no user named 'ghost'"),
    ],
)
def test_the_command_refuses_bad_input_without_writing(release, tmp_path, arguments, message):
    output = tmp_path / "report.pdf"
    before = written()
    with pytest.raises(CommandError, match=message):
        call_command("trace_report", *arguments, "-o", str(output))
    assert not output.exists() and written() == before


def test_the_command_refuses_an_output_it_cannot_write(release, tmp_path):
    before = written()
    with pytest.raises(CommandError, match=r"cannot write .*/missing/report.pdf: folder .*/missing does not exist"):
        call_command("trace_report", "RPT", "1.0.0", "-o", str(tmp_path / "missing" / "report.pdf"))
    with pytest.raises(
        CommandError, match=r"cannot tell the format from 'report\.docx'; give --format pdf, xlsx or csv"
    ):
        call_command("trace_report", "RPT", "1.0.0", "-o", str(tmp_path / "report.docx"))
    assert written() == before
