"""Reviewed results (passed with exception, failed accepted) are review decisions: approvals scope only."""

import pytest
from django.contrib.auth.models import User

from qms.models import AuditEvent
from qms.roles import Role
from qms.services import user_role_set
from tests.conftest import token_client
from traceability.models import Item, Link, TestResult, TestRun

pytestmark = pytest.mark.django_db

ACCEPTED = {
    "version": "1.0.0",
    "results": [
        {"test_id": "tests/test_dose.py::test_round", "status": "passed"},
        {"test_id": "hil::occlusion", "status": "failed_accepted", "rationale": "anything at all"},
    ],
}
EXECUTION = {
    "version": "1.0.0",
    "executions": [
        {
            "test_case": "TC-1",
            "status": "passed_with_exception",
            "executed_at": "2026-03-03",
            "rationale": "Cosmetic; tracked as ANOM-7.",
        }
    ],
}


def state() -> tuple[int, ...]:
    return (
        TestRun.objects.count(),
        TestResult.objects.count(),
        Item.objects.count(),
        Link.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize(
    ("url", "payload", "entry"),
    [
        ("/api/v1/products/DEMO/test-runs/", ACCEPTED, "results[1].status"),
        ("/api/v1/products/DEMO/manual-executions/", EXECUTION, "executions[0].status"),
    ],
)
def test_an_evidence_token_cannot_post_reviewed_statuses(small_graph, developer, url, payload, entry):
    client = token_client(developer, ["evidence"])
    before = state()
    response = client.post(url, payload, format="json")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "review_forbidden"
    assert body["entry"] == entry
    assert body["detail"].startswith(f"{entry}: ")
    assert "is a review decision and needs the 'approvals' scope (a quality manager)" in body["detail"]
    assert "dana's role may not write approvals" in body["detail"]
    assert state() == before


def test_a_quality_managers_evidence_only_token_is_refused_too(small_graph, qm):
    client = token_client(qm, ["evidence"])
    before = state()
    response = client.post("/api/v1/products/DEMO/test-runs/", ACCEPTED, format="json")
    assert response.status_code == 403
    assert "this API token lacks the scope 'approvals'" in response.json()["detail"]
    assert state() == before


def test_a_quality_manager_records_reviewed_results_and_the_audit_names_the_reviewer(small_graph, qm):
    client = token_client(qm, ["evidence", "approvals"])
    response = client.post("/api/v1/products/DEMO/test-runs/", ACCEPTED, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["failed_accepted"] == 1
    run = TestRun.objects.get()
    assert run.created_by == qm
    event = AuditEvent.objects.get(action="test_run.created")
    assert event.actor_username == "quinn"
    assert event.after["created_by"] == "quinn"
    assert event.after["reviewed_by"] == "quinn"
    assert event.after["reviewed"] == [
        {"test": "hil::occlusion", "status": "failed_accepted", "rationale": "anything at all"}
    ]


def test_plain_results_record_no_reviewer(small_graph, developer):
    payload = {"version": "1.0.0", "results": [{"test_id": "tests/test_dose.py::test_round", "status": "failed"}]}
    response = token_client(developer, ["evidence"]).post("/api/v1/products/DEMO/test-runs/", payload, format="json")
    assert response.status_code == 201
    after = AuditEvent.objects.get(action="test_run.created").after
    assert after["created_by"] == "dana" and "reviewed_by" not in after


def test_a_developer_cannot_accept_a_failure_in_the_admin(small_graph, client):
    tester = User.objects.create_user("tess", password="tess-pw", is_staff=True)
    user_role_set(user=tester, roles=[Role.DEVELOPER], actor=None)
    client.force_login(tester)
    before = state()
    response = client.post(
        "/admin/traceability/manualexecution/add/",
        {
            "test_case": small_graph["TC-1"].pk,
            "status": "failed_accepted",
            "executed_by": "Tess Tester",
            "executed_at_0": "2026-03-03",
            "executed_at_1": "14:00:00",
            "message": "Flickers.",
            "rationale": "Cosmetic.",
            "duration": "",
            "version": "1.0.0",
            "commit_sha": "",
            "environment": "QA lab",
        },
    )
    assert response.status_code == 200
    assert "failed_accepted is a review decision and needs the &#x27;approvals&#x27; scope" in response.content.decode()
    assert state() == before
