"""The gate question: G1–G5 for a release's digests and an environment, the ledger, deployments
and the integration approval (G4) before the release approval (G5)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from qms.dbtriggers import immutable_rows_dropped
from qms.errors import Conflict, Forbidden, InvalidInput
from qms.models import AuditEvent
from regops.gates import gate_answer
from regops.models import Deployment, DeploymentStatus, GateDecision, IntegrationApproval
from regops.services.approvals import integration_approve
from regops.services.decisions import gate_decide
from regops.services.deployments import deployment_report
from regops.services.environments import environment_create, environment_update
from tests.conftest import token_client
from tests.traceability.reporting import PASSWORD, record_results, report_items, report_product
from traceability.models import Commit, Release
from traceability.services.evidence import artifact_register
from traceability.services.releases import release_approve, release_create, release_freeze

pytestmark = pytest.mark.django_db

APP = "sha256:" + "a" * 64
DOCS = "sha256:" + "d" * 64
OTHER = "sha256:" + "e" * 64
SHA = "c" * 40
SMOKE_OK = {"passed": True, "checks": [{"name": "GET /health", "passed": True}]}
SMOKE_BAD = {"passed": False, "checks": [{"name": "GET /health", "passed": False, "detail": "503"}]}


@pytest.fixture
def bolus(qm, catalogue):
    """RPT (class B) with passing evidence for 1.0.0 at commit SHA, its app and docs artifacts, and
    staging, qa and production with their default gates."""
    product = report_product(qm)
    report_items(product, qm)
    Commit.objects.create(product=product, sha=SHA, message="Release 1.0.0")
    release_create(product=product, version="1.0.0", actor=qm, commit_sha=SHA)
    record_results(product, "1.0.0", {"TC-1": "passed", "TC-2": "passed"})
    for name, digest in (("app", APP), ("docs", DOCS)):
        artifact_register(
            product=product, name=name, uri=f"https://ci.example.com/{name}", digest=digest, version="1.0.0", actor=qm
        )
    environments = {
        key: environment_create(product=product, key=key, name=key.title(), tier=tier, actor=qm)
        for key, tier in (("staging", "staging"), ("qa", "testing"), ("production", "production"))
    }
    return {"product": product, **environments}


def frozen(bolus, qm) -> Release:
    return release_freeze(product=bolus["product"], version="1.0.0", actor=qm)


def statuses(answer) -> dict[str, str]:
    return {result.gate: result.status for result in answer.gates}


def deployed(environment, qm, smoke, digests=(APP, DOCS), external_id="run-1"):
    deployment, _, _ = deployment_report(
        environment=environment,
        actor=qm,
        digests=list(digests),
        state="success",
        engine="api",
        external_id=external_id,
        smoke=smoke,
    )
    return deployment


def test_environments_default_their_gates_by_tier(bolus):
    assert [bolus[key].gates for key in ("staging", "qa", "production")] == [
        ["G1", "G2"],
        ["G1", "G2", "G4"],
        ["G1", "G2", "G4", "G5"],
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"key": "Prod"}, "key: 'Prod': lower-case letters"),
        ({"tier": "live"}, "tier: unknown tier 'live'"),
        ({"gates": ["G3"]}, "gates: unknown gate 'G3'"),
        ({"gates": ["G1", "G5"]}, "an environment that needs G5 needs G4 too"),
        (
            {"github_repository": "acme/bolus"},
            "github_environment: github_repository and github_environment go together",
        ),
        ({"github_repository": "not a repo", "github_environment": "x"}, "github_repository: owner/name"),
        ({"url": "ftp://x"}, "url: 'ftp://x' is not an http(s) URL"),
    ],
)
def test_bad_environments_are_refused_and_nothing_is_written(bolus, qm, fields, message):
    before = (bolus["product"].environments.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        environment_create(
            **{"product": bolus["product"], "key": "dev", "name": "Dev", "tier": "development", "actor": qm, **fields}
        )
    assert (bolus["product"].environments.count(), AuditEvent.objects.count()) == before


def test_an_engine_binding_names_one_environment(bolus, qm):
    environment_update(
        environment=bolus["production"], actor=qm, github_repository="acme/bolus", github_environment="prod"
    )
    with pytest.raises(Conflict, match="bound to the same engine names"):
        environment_update(
            environment=bolus["staging"], actor=qm, github_repository="acme/bolus", github_environment="prod"
        )


def test_a_digest_no_release_holds_is_denied(bolus, qm):
    answer = gate_answer(environment=bolus["staging"], digests=[OTHER])
    assert not answer.allowed and answer.release is None
    assert answer.reasons == [
        f"no release of RPT holds {OTHER}: register the artifact for the release it was built for "
        "(artifact_register / POST …/artifacts/), and freeze and approve that release"
    ]


def test_a_draft_with_passing_evidence_may_go_to_staging_but_not_to_production(bolus, qm):
    staging = gate_answer(environment=bolus["staging"], digests=[APP])
    assert (staging.allowed, staging.release.version, statuses(staging)) == (
        True,
        "1.0.0",
        {"G1": "passed", "G2": "passed", "G4": "missing", "G5": "missing"},
    )
    production = gate_answer(environment=bolus["production"], digests=[APP])
    assert not production.allowed
    assert "G5 missing: 1.0.0 is a draft: freeze it and sign the release approval" in production.reasons


def test_g1_fails_on_a_failing_test_and_names_it(bolus, qm):
    record_results(bolus["product"], "1.0.0", {"TC-1": "failed", "TC-2": "passed"})
    answer = gate_answer(environment=bolus["staging"], version="1.0.0")
    g1 = answer.gates[0]
    assert (g1.gate, g1.status) == ("G1", "failed")
    assert g1.reasons[0].startswith("TC-1: failed in run #")
    assert any("error-level gap" in reason for reason in g1.reasons)
    assert answer.digests == [APP, DOCS]  # asked by version: the release's digests


def test_production_needs_g4_after_a_staging_deployment_with_passing_smoke_tests_then_g5(bolus, qm):
    release = frozen(bolus, qm)
    with pytest.raises(Conflict, match="has not been deployed to a testing or staging environment"):
        integration_approve(release=release, signer=qm, password=PASSWORD)
    deployed(bolus["staging"], qm, SMOKE_BAD)
    with pytest.raises(Conflict, match="smoke tests failed: the integration approval needs"):
        integration_approve(release=release, signer=qm, password=PASSWORD)
    with pytest.raises(Conflict, match="gate G4 first: production needs the integration approval"):
        release_approve(release=release, signer=qm, password=PASSWORD)
    assert statuses(gate_answer(environment=bolus["production"], digests=[APP])) == {
        "G1": "passed",
        "G2": "passed",
        "G4": "missing",
        "G5": "missing",
    }
    good = deployed(bolus["staging"], qm, SMOKE_OK, external_id="run-2")
    approval = integration_approve(release=release, signer=qm, password=PASSWORD, comment="integrated")
    assert (approval.deployment_id, approval.digests) == (good.pk, [APP, DOCS])
    qa = gate_answer(environment=bolus["qa"], digests=[APP, DOCS])
    assert qa.allowed
    assert not gate_answer(environment=bolus["production"], digests=[APP]).allowed
    release_approve(release=release, signer=qm, password=PASSWORD)
    production = gate_answer(environment=bolus["production"], digests=[APP])
    assert production.allowed, production.reasons
    assert statuses(production) == {"G1": "passed", "G2": "passed", "G4": "passed", "G5": "passed"}
    other = gate_answer(environment=bolus["production"], digests=[OTHER])
    assert not other.allowed and other.release is None


def test_g5_for_the_release_does_not_cover_a_digest_it_does_not_hold(bolus, qm):
    artifact_register(
        product=bolus["product"], name="app", uri="https://ci.example.com/app2", digest=OTHER, version="1.1.0", actor=qm
    )
    release_create(product=bolus["product"], version="1.1.0", actor=qm)
    answer = gate_answer(environment=bolus["production"], version="1.0.0", digests=None)
    assert OTHER not in answer.digests
    mixed = gate_answer(environment=bolus["production"], digests=[APP, OTHER])
    assert not mixed.allowed


def test_every_question_is_kept_in_the_ledger_and_audit_verify_checks_it(bolus, qm, developer):
    first, _ = gate_decide(
        environment=bolus["staging"], actor=developer, digests=[APP], engine="argocd", external={"id": "sync-7"}
    )
    second, _ = gate_decide(environment=bolus["production"], actor=developer, digests=[APP])
    assert (first.allowed, second.allowed) == (True, False)
    assert second.previous_digest == first.digest
    assert second.reasons and first.reasons == []
    call_command("audit_checkpoint", stdout=StringIO())
    out = StringIO()
    call_command("audit_verify", stdout=out, stderr=StringIO())
    assert "gate decisions: intact" in out.getvalue()
    immutable_rows_dropped(connection, "regops_gatedecision")  # someone with database access
    GateDecision.objects.filter(pk=second.pk).update(allowed=True, reasons=[])
    err = StringIO()
    with pytest.raises(CommandError, match="1 record do not hold up"):
        call_command("audit_verify", stdout=StringIO(), stderr=err)
    assert f"gate decision #{second.pk}: its content does not match its digest" in err.getvalue()


def test_bad_questions_are_refused(bolus, developer):
    for kwargs, message in (
        ({"digests": ["sha256:1"]}, "digest: 'sha256:1' is not an OCI digest"),
        ({}, "ask by exactly one of digest"),
        ({"digests": [APP], "version": "1.0.0"}, "ask by exactly one of digest"),
        ({"digests": [APP], "engine": "ansible"}, "engine: unknown engine 'ansible'"),
    ):
        with pytest.raises(InvalidInput, match=message):
            gate_decide(environment=bolus["staging"], actor=developer, **kwargs)
    assert GateDecision.objects.count() == 0


def test_the_gate_api_answers_every_engine_and_strict_is_403(bolus, developer, auditor, api_client):
    client = token_client(developer, ["evidence"])
    url = "/api/v1/products/RPT/environments/production/gate/"
    answer = client.get(url, {"digest": APP})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["allowed"], body["release"], body["environment"], body["tier"]) == (
        False,
        "1.0.0",
        "production",
        "production",
    )
    assert [gate["gate"] for gate in body["gates"]] == ["G1", "G2", "G4", "G5"]
    assert body["decision"] == GateDecision.objects.get().pk
    strict = client.get(url, {"digest": APP, "strict": "1"})
    assert strict.status_code == 403 and strict.json()["allowed"] is False
    assert (
        api_client(auditor)
        .get("/api/v1/products/RPT/environments/staging/gate/", {"version": "1.0.0"})
        .json()["allowed"]
    )
    assert client.get("/api/v1/products/RPT/environments/moon/gate/", {"digest": APP}).status_code == 404
    bad = client.get(url, {"digest": "nope"})
    assert bad.status_code == 400 and "is not an OCI digest" in bad.json()["detail"]
    assert GateDecision.objects.count() == 3


def test_a_deployment_the_gate_refused_is_recorded_and_flagged(bolus, qm, developer):
    gate_decide(environment=bolus["production"], actor=developer, digests=[APP, DOCS])
    deployment = deployed(bolus["production"], developer, SMOKE_OK)
    assert deployment.gate_decision is not None and not deployment.gate_decision.allowed
    assert deployment.gate_flag.startswith(f"refused by gate decision #{deployment.gate_decision.pk}: ")
    unasked = deployed(bolus["staging"], developer, None, digests=[OTHER], external_id="other")
    assert (unasked.gate_flag, unasked.release) == ("deployed without asking the gate", None)


def test_a_deployment_is_reported_again_as_statuses_never_edited(bolus, developer):
    client = token_client(developer, ["deployments"])
    body = {
        "environment": "staging",
        "digests": [APP, DOCS],
        "state": "in_progress",
        "engine": "github",
        "external_id": "901",
    }
    first = client.post("/api/v1/products/RPT/deployments/", body, format="json")
    assert first.status_code == 201, first.json()
    again = client.post("/api/v1/products/RPT/deployments/", body, format="json")
    done = client.post(
        "/api/v1/products/RPT/deployments/", {**body, "state": "success", "smoke": SMOKE_OK}, format="json"
    )
    assert (again.status_code, done.status_code) == (200, 200)
    assert [status["state"] for status in done.json()["statuses"]] == ["in_progress", "success"]
    assert done.json()["state"] == "success" and done.json()["release"] == "1.0.0"
    assert (Deployment.objects.count(), DeploymentStatus.objects.count()) == (1, 2)
    refused = client.post("/api/v1/products/RPT/deployments/", {**body, "state": "exploded"}, format="json")
    assert refused.status_code == 400 and "state: unknown state 'exploded'" in refused.json()["detail"]
    assert (
        token_client(developer, ["evidence"]).post("/api/v1/products/RPT/deployments/", body, format="json").status_code
        == 403
    )


def test_only_an_approver_signs_the_integration_approval(bolus, qm, developer):
    release = frozen(bolus, qm)
    deployed(bolus["staging"], qm, SMOKE_OK)
    with pytest.raises(Forbidden, match="may not sign integration approvals"):
        integration_approve(release=release, signer=developer, password="dana-pw")
    with pytest.raises(Forbidden, match="does not match"):
        integration_approve(release=release, signer=qm, password="guess")
    assert IntegrationApproval.objects.count() == 0
    integration_approve(release=release, signer=qm, password=PASSWORD)
    with pytest.raises(Conflict, match="has its integration approval"):
        integration_approve(release=release, signer=qm, password=PASSWORD)


def test_gate_check_exits_0_when_allowed_and_1_with_the_reasons(bolus, qm):
    out = StringIO()
    call_command("gate_check", "RPT", "staging", "--digest", APP, stdout=out)
    assert "allowed: " + APP in out.getvalue() and "G1 passed" in out.getvalue()
    with pytest.raises(CommandError, match=r"denied: G4 missing: .*; G5 missing: 1\.0\.0 is a draft"):
        call_command("gate_check", "RPT", "production", "--version", "1.0.0", stdout=StringIO())
    with pytest.raises(CommandError, match="has no environment 'moon'"):
        call_command("gate_check", "RPT", "moon", "--digest", APP, stdout=StringIO())
    assert GateDecision.objects.count() == 2
