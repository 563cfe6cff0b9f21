"""The evidence API: uploads, JSON results, manual executions, lists with query budgets, tokens."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qms.models import AuditEvent
from tests.conftest import token_client
from traceability.models import Commit, Item, Link, TestResult, TestRun

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"
PYTEST_XML = (FIXTURES / "pytest.xml").read_bytes()
SHA = "0123456789abcdef0123456789abcdef01234567"


def state() -> tuple[int, ...]:
    return (
        TestRun.objects.count(),
        TestResult.objects.count(),
        Item.objects.count(),
        Link.objects.count(),
        Commit.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.requirement("QI-405")
def test_ci_token_uploads_junit_as_the_request_body(small_graph, developer):
    client = token_client(developer, ["evidence"])
    response = client.post(
        f"/api/v1/products/DEMO/junit/?commit={SHA}&version=1.0.0&ci_job_url=https://ci.example/jobs/7",
        PYTEST_XML,
        content_type="application/xml",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in ("results", "passed", "failed", "errors", "skipped", "linked")} == {
        "results": 6,
        "passed": 3,
        "failed": 1,
        "errors": 1,
        "skipped": 1,
        "linked": 3,
    }
    run = TestRun.objects.get()
    assert (run.commit_sha, run.version, run.ci_job_url, run.token.name) == (
        SHA,
        "1.0.0",
        "https://ci.example/jobs/7",
        "token-1-evidence",
    )
    before = state()
    again = client.post(f"/api/v1/products/DEMO/junit/?commit={SHA}&version=1.0.0", PYTEST_XML, content_type="text/xml")
    assert again.status_code == 200
    assert again.json()["created"] is False and again.json()["run"] == run.pk
    assert state() == before


def test_multipart_upload_of_several_files_is_one_run(small_graph, developer, api_client):
    files = [
        SimpleUploadedFile("pytest.xml", PYTEST_XML, content_type="application/xml"),
        SimpleUploadedFile("go.xml", (FIXTURES / "go-junit-report.xml").read_bytes(), content_type="application/xml"),
    ]
    response = api_client(developer).post(
        "/api/v1/products/DEMO/junit/", {"file": files, "version": "1.0.0", "environment": "linux"}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["results"] == 11
    assert response.json()["flavours"] == ["go", "pytest"]
    assert TestRun.objects.get().environment == "linux"


@pytest.mark.requirement("QI-402")
@pytest.mark.parametrize(
    ("query", "body", "status", "message"),
    [
        ("?version=1.0.0", b'<!DOCTYPE x [<!ENTITY a "b">]><testsuite/>', 400, "entity declaration 'a' is refused"),
        ("?version=1.0.0", b"<testsuite><testcase>", 400, "not well-formed XML"),
        ("?version=1.0.0", b"<testsuite name='empty'/>", 400, "no <testcase> found"),
        ("", PYTEST_XML, 400, "a test run needs a version or a commit SHA"),
        ("?commit=HEAD", PYTEST_XML, 400, "commit: 'head' is not valid"),
        ("?version=1%200", PYTEST_XML, 400, "version: '1 0' is not valid"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(small_graph, developer, query, body, status, message):
    client = token_client(developer, ["evidence"])
    before = state()
    response = client.post(f"/api/v1/products/DEMO/junit/{query}", body, content_type="application/xml")
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert state() == before


@pytest.mark.requirement("QI-402")
def test_uploads_over_the_limit_are_refused(small_graph, developer, settings, api_client):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1000
    client = token_client(developer, ["evidence"])
    before = state()
    response = client.post("/api/v1/products/DEMO/junit/?version=1.0.0", PYTEST_XML, content_type="application/xml")
    assert response.status_code == 400
    assert response.json()["error"] == "too_large"
    assert response.json()["detail"] == (
        f"request body: {len(PYTEST_XML)} bytes is over the upload limit of 1000 bytes (EVIDENCE_MAX_UPLOAD_MB)"
    )
    upload = SimpleUploadedFile("pytest.xml", PYTEST_XML)
    response = api_client(developer).post(
        "/api/v1/products/DEMO/junit/", {"file": upload, "version": "1.0.0"}, format="multipart"
    )
    assert response.status_code == 400 and response.json()["detail"].startswith("pytest.xml: ")
    assert state() == before


def test_unknown_product_is_404_and_needs_no_release(small_graph, developer):
    client = token_client(developer, ["evidence"])
    response = client.post("/api/v1/products/NOPE/junit/?version=1.0.0", PYTEST_XML, content_type="application/xml")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "no product 'NOPE'", "product": "NOPE"}
    # A release that does not exist (yet) is no obstacle: runs may arrive before their release.
    response = client.post("/api/v1/products/DEMO/junit/?version=9.9.9", PYTEST_XML, content_type="application/xml")
    assert response.status_code == 201


@pytest.mark.requirement("QI-405")
def test_a_ci_token_posts_evidence_but_never_edits_or_approves_requirements(small_graph, developer):
    client = token_client(developer, ["evidence"])
    before = state()
    attempts = [
        ("patch", "/api/v1/products/DEMO/items/SRS-1/", {"status": "approved"}),
        ("patch", "/api/v1/products/DEMO/items/SRS-1/", {"text": "rewritten by CI"}),
        ("post", "/api/v1/products/DEMO/items/", {"key": "SRS-9", "kind": "software_requirement", "title": "x"}),
        ("post", "/api/v1/products/DEMO/links/", {"source": "TC-1", "link_type": "verifies", "target": "SYS-1"}),
        ("delete", "/api/v1/products/DEMO/items/SRS-1/", None),
        ("patch", "/api/v1/products/DEMO/", {"name": "renamed"}),
        ("post", "/api/v1/products/DEMO/webhook-secret/", None),
    ]
    for method, path, data in attempts:
        response = getattr(client, method)(path, data, format="json")
        assert response.status_code == 403, f"{method.upper()} {path} gave {response.status_code}"
        assert "lacks the scope" in response.json()["detail"] or "may not write" in response.json()["detail"]
    assert state() == before
    assert Item.objects.get(key="SRS-1").status == "draft"
    response = client.post(
        "/api/v1/products/DEMO/test-runs/",
        {"version": "1.0.0", "results": [{"test_id": "tests/test_dose.py::test_round", "status": "passed"}]},
        format="json",
    )
    assert response.status_code == 201


def test_auditors_and_items_only_tokens_cannot_post_evidence(small_graph, auditor, developer, api_client):
    items_only = token_client(developer, ["items"])
    before = state()
    payload = {"version": "1.0.0", "results": [{"test_id": "x", "status": "passed"}]}
    assert api_client(auditor).post("/api/v1/products/DEMO/test-runs/", payload, format="json").status_code == 403
    response = items_only.post("/api/v1/products/DEMO/test-runs/", payload, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "This API token lacks the scope 'evidence'."
    assert state() == before


def test_json_results_over_the_api(small_graph, developer, api_client):
    client = api_client(developer)
    payload = {
        "commit": SHA,
        "name": "nightly",
        "started_at": "2026-03-03T02:00:00Z",
        "results": [
            {"test_id": "tests/test_dose.py::test_round", "status": "passed", "duration": 0.5},
            {
                "test_id": "hil::bolus_delivery",
                "name": "HIL bolus delivery",
                "status": "failed",
                "requirements": ["SRS-1"],
            },
        ],
    }
    response = client.post("/api/v1/products/DEMO/test-runs/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["passed"], response.json()["failed"], response.json()["linked"]) == (1, 1, 2)
    assert Item.objects.get(attributes__test_id="hil::bolus_delivery").title == "HIL bolus delivery"
    assert client.post("/api/v1/products/DEMO/test-runs/", payload, format="json").status_code == 200
    bad = dict(payload, results=[{"test_id": "x", "status": "green"}])
    before = state()
    response = client.post("/api/v1/products/DEMO/test-runs/", bad, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("results[0].status: unknown status 'green'")
    assert response.json()["entry"] == "results[0].status"
    assert state() == before


def test_manual_executions_over_the_api(small_graph, qm, api_client):
    response = api_client(qm).post(
        "/api/v1/products/DEMO/manual-executions/",
        {
            "version": "1.0.0",
            "environment": "QA lab, pump rev C",
            "executions": [
                {
                    "test_case": "TC-1",
                    "status": "failed_accepted",
                    "executed_by": "Tess Tester",
                    "executed_at": "2026-03-03T15:30:00Z",
                    "notes": "Rounding off by 0.01 U on the legacy pump.",
                    "rationale": "Within the pump's delivery tolerance; see RISK-1.",
                }
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    result = TestResult.objects.get()
    assert (result.run.source, result.executed_by, result.status) == ("manual", "Tess Tester", "failed_accepted")
    listed = api_client(qm).get("/api/v1/products/DEMO/test-results/?test_case=TC-1").json()["results"]
    assert [(r["test_case"], r["status"], r["source"], r["rationale"]) for r in listed] == [
        ("TC-1", "failed_accepted", "manual", "Within the pump's delivery tolerance; see RISK-1.")
    ]


def _post_runs(client, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        response = client.post(
            f"/api/v1/products/DEMO/test-runs/?n={number}",
            {
                "version": f"1.0.{number}",
                "results": [
                    {"test_id": "tests/test_dose.py::test_round", "status": "passed"},
                    {"test_id": "tests/test_dose.py::test_other", "status": "failed"},
                ],
            },
            format="json",
        )
        assert response.status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/DEMO/test-runs/",
        "/api/v1/products/DEMO/test-results/",
        "/api/v1/products/DEMO/test-results/?requirement=SRS-1&status=passed",
        "/api/v1/products/DEMO/test-runs/?version=1.0.0",
    ],
)
def test_evidence_lists_cost_the_same_queries_for_one_and_many_rows(small_graph, developer, api_client, path):
    client = api_client(developer)
    _post_runs(client, 1)
    client.get(path)  # warm the session and the role cache
    with CaptureQueriesContext(connection) as one:
        first = client.get(path)
    _post_runs(client, 7, start=1)
    with CaptureQueriesContext(connection) as many:
        second = client.get(path)
    assert first.status_code == second.status_code == 200
    assert second.json()["count"] >= first.json()["count"]
    assert len(one) == len(many)


def test_run_list_shows_counts_and_filters(small_graph, developer, api_client):
    client = api_client(developer)
    _post_runs(client, 3)
    runs = client.get("/api/v1/products/DEMO/test-runs/?version=1.0.1").json()["results"]
    assert [(r["version"], r["counts"]["results"], r["counts"]["passed"], r["counts"]["failed"]) for r in runs] == [
        ("1.0.1", 2, 1, 1)
    ]
    detail = client.get(f"/api/v1/products/DEMO/test-runs/{runs[0]['id']}/").json()
    assert detail["created_by"] == "dana" and detail["source"] == "api"
    assert client.get("/api/v1/products/DEMO/test-runs/999999/").status_code == 404
    results = client.get("/api/v1/products/DEMO/test-results/?status=failed&version=1.0.2").json()["results"]
    assert [(r["test_identifier"], r["version"]) for r in results] == [("tests/test_dose.py::test_other", "1.0.2")]


def test_webhook_secret_is_set_by_quality_managers(small_graph, qm, developer, api_client):
    assert api_client(developer).post("/api/v1/products/DEMO/webhook-secret/").status_code == 403
    response = api_client(qm).post("/api/v1/products/DEMO/webhook-secret/")
    assert response.status_code == 201
    body = response.json()
    assert len(body["secret"]) >= 40
    assert body["github_url"] == "http://testserver/api/v1/webhooks/github/DEMO/"
    event = AuditEvent.objects.filter(action="webhook_secret.created").get()
    assert body["secret"] not in str(event.after)


def _surefire_files(count: int) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(
            f"TEST-com.acme.T{n}.xml",
            f'<testsuite name="com.acme.T{n}"><testcase classname="com.acme.T{n}" name="works"/></testsuite>'.encode(),
            content_type="application/xml",
        )
        for n in range(count)
    ]


def test_a_multipart_upload_takes_more_than_djangos_100_files(small_graph, developer, api_client, settings):
    assert settings.EVIDENCE_MAX_UPLOAD_FILES == settings.DATA_UPLOAD_MAX_NUMBER_FILES == 1000
    response = api_client(developer).post(
        "/api/v1/products/DEMO/junit/", {"file": _surefire_files(150), "version": "1.0.0"}, format="multipart"
    )
    assert response.status_code == 201, response.content[:500]
    assert response.json()["results"] == 150


def test_too_many_files_is_a_json_400_naming_the_limit(small_graph, developer, api_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 5
    client = api_client(developer)
    before = state()
    response = client.post(
        "/api/v1/products/DEMO/junit/", {"file": _surefire_files(6), "version": "1.0.0"}, format="multipart"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "too_many_files",
        "detail": "more than 5 files in one upload (EVIDENCE_MAX_UPLOAD_FILES); send them in several runs or raise "
        "the limit",
        "field": "file",
        "limit": 5,
    }
    assert state() == before
