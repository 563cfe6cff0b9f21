"""ingest_junit, webhook_secret, and recording manual executions in the admin."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from qms.models import AuditEvent
from traceability.models import Item, TestResult, TestRun, WebhookSecret

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


def state() -> tuple[int, int, int, int]:
    return TestRun.objects.count(), TestResult.objects.count(), Item.objects.count(), AuditEvent.objects.count()


@pytest.mark.requirement("QI-408")
def test_ingest_junit_prints_a_json_summary(small_graph, developer):
    out = StringIO()
    call_command(
        "ingest_junit",
        "DEMO",
        str(FIXTURES / "pytest.xml"),
        str(FIXTURES / "ctest.xml"),
        "--version",
        "1.0.0",
        "--commit",
        "abcdef1234567",
        "--as",
        "dana",
        "--json",
        stdout=out,
    )
    summary = json.loads(out.getvalue())
    assert {key: summary[key] for key in ("results", "passed", "failed", "errors", "skipped", "linked")} == {
        "results": 10,
        "passed": 4,
        "failed": 2,
        "errors": 1,
        "skipped": 3,
        "linked": 4,
    }
    assert (summary["version"], summary["commit"], summary["flavours"]) == (
        "1.0.0",
        "abcdef1234567",
        ["ctest", "pytest"],
    )
    assert TestRun.objects.get().created_by == developer
    again = StringIO()
    call_command(
        "ingest_junit",
        "DEMO",
        str(FIXTURES / "ctest.xml"),
        str(FIXTURES / "pytest.xml"),
        "--version",
        "1.0.0",
        "--commit",
        "abcdef1234567",
        stdout=again,
    )
    assert again.getvalue().startswith(f"DEMO: 10 results already stored as run #{summary['run']} (4 passed")
    assert TestRun.objects.count() == 1


def test_ingest_junit_human_output_and_warnings(small_graph):
    out, err = StringIO(), StringIO()
    call_command("ingest_junit", "DEMO", str(FIXTURES / "pytest.xml"), "--version", "1.0.0", stdout=out, stderr=err)
    run = TestRun.objects.get()
    assert out.getvalue().splitlines() == [
        f"DEMO: 6 results stored as run #{run.pk} (3 passed, 1 failed, 1 errors, 1 skipped; 3 linked to a requirement)",
        "5 test case(s) created, 3 link(s) created",
    ]
    assert err.getvalue().splitlines() == [
        "warning: tests/test_dose.py::test_negative_dose: SRS-404: no such item",
        "warning: tests/test_dose.py::test_negative_dose: RISK-1: a test case cannot verify a risk",
        "note: DEMO has no release with version '1.0.0' yet: the run is stored and counts for a release "
        "once one with that version or commit exists",
    ]


def test_ingest_junit_names_the_releases_a_run_counts_for(small_graph, qm):
    from traceability.services.releases import release_create

    release_create(product=small_graph["SRS-1"].product, version="2.0.0", commit_sha="abcdef1234567890", actor=qm)
    summaries = []
    for args in (["--version", "2.0.0"], ["--commit", "abcdef1234567"], ["--version", "9.9.9"]):
        out, err = StringIO(), StringIO()
        call_command("ingest_junit", "DEMO", str(FIXTURES / "pytest.xml"), *args, "--json", stdout=out, stderr=err)
        summaries.append(json.loads(out.getvalue()))
    assert [s["releases"] for s in summaries] == [["2.0.0"], ["2.0.0"], []]
    assert [s["notes"] for s in summaries[:2]] == [[], []]
    assert summaries[2]["notes"] == [
        "DEMO has no release with version '9.9.9' yet: the run is stored and counts for a release "
        "once one with that version or commit exists"
    ]
    assert TestRun.objects.count() == 3


@pytest.mark.requirement("QI-402", "QI-408")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["NOPE", "{fixtures}/pytest.xml", "--version", "1.0"], "no product 'NOPE'"),
        (["DEMO", "{fixtures}/pytest.xml"], "a test run needs a version or a commit SHA"),
        (["DEMO", "{fixtures}/pytest.xml", "--commit", "not-a-sha"], "commit: 'not-a-sha' is not valid"),
        (["DEMO", "{fixtures}/missing.xml", "--version", "1.0"], "missing.xml: cannot be read"),
        (["DEMO", "{fixtures}/pytest.xml", "{evil}", "--version", "1.0"], "evil.xml: external entity 'x'"),
        (["DEMO", "{fixtures}/pytest.xml", "--version", "1.0", "--as", "ghost"], "no user named 'ghost'"),
    ],
)
def test_ingest_junit_errors_exit_non_zero_and_store_nothing(small_graph, tmp_path, args, message):
    evil = tmp_path / "evil.xml"
    evil.write_bytes(b'<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/hostname">]><testsuite>&x;</testsuite>')
    before = state()
    with pytest.raises(CommandError) as caught:
        call_command("ingest_junit", *[a.format(fixtures=FIXTURES, evil=evil) for a in args])
    assert message in str(caught.value)
    assert state() == before


def test_webhook_secret_command_prints_a_new_secret(small_graph):
    out = StringIO()
    call_command("webhook_secret", "DEMO", "--as", "quinn", stdout=out)
    secret = out.getvalue().strip()
    assert WebhookSecret.objects.get().secret == secret
    assert AuditEvent.objects.get(action="webhook_secret.created").actor_username == "quinn"
    with pytest.raises(CommandError, match="no product 'NOPE'"):
        call_command("webhook_secret", "NOPE")


def test_manual_executions_are_recorded_in_the_admin(small_graph, client):
    tester = User.objects.create_user("tess", password="tess-pw", is_staff=True)
    from qms.roles import Role
    from qms.services import user_role_set

    user_role_set(user=tester, roles=[Role.DEVELOPER], actor=None)
    client.force_login(tester)
    tc = small_graph["TC-1"]
    form = {
        "test_case": tc.pk,
        "status": "passed",
        "executed_by": "Tess Tester",
        "executed_at_0": "2026-03-03",
        "executed_at_1": "14:00:00",
        "message": "All steps as expected.",
        "rationale": "",
        "duration": "",
        "version": "1.0.0",
        "commit_sha": "",
        "environment": "QA lab",
    }
    response = client.post("/admin/traceability/manualexecution/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    result = TestResult.objects.get()
    assert (result.test_case, result.executed_by, result.message, result.run.source, result.run.environment) == (
        tc,
        "Tess Tester",
        "All steps as expected.",
        "manual",
        "QA lab",
    )
    assert AuditEvent.objects.filter(action="test_run.created", actor=tester).count() == 1
    listing = client.get("/admin/traceability/manualexecution/")
    assert listing.status_code == 200 and "Tess Tester" in listing.content.decode()
    before = state()
    bad = client.post(
        "/admin/traceability/manualexecution/add/", {**form, "status": "failed_accepted", "version": "1 0"}
    )
    assert bad.status_code == 200
    page = bad.content.decode()
    assert "a failed_accepted result needs a rationale" in page
    assert "is not valid" in page
    assert state() == before
