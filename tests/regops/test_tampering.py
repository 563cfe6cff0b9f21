"""Someone with database access against the RegOps records: the gate-decision ledger, deployments,
their statuses and the integration approval. Each case is a change made in SQL, past the app and
its triggers; ``audit_verify`` names what was altered, removed or forged."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from qms.dbtriggers import immutable_rows_dropped
from qms.models import AuditEvent
from regops.gates import gate_answer
from regops.models import Deployment, DeploymentStatus, GateDecision, GateLedgerHead, IntegrationApproval
from regops.services.approvals import integration_approve
from regops.services.decisions import LEDGER_ANCHORED, gate_decide, gate_ledger_anchor
from tests.regops.test_gates import APP, DOCS, SMOKE_BAD, SMOKE_OK, bolus, deployed, frozen  # noqa: F401
from tests.traceability.reporting import PASSWORD

pytestmark = pytest.mark.django_db


def verified() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out, stderr=StringIO())
    return out.getvalue()


def verify_fails() -> str:
    err = StringIO()
    with pytest.raises(CommandError, match="do not hold up"):
        call_command("audit_verify", stdout=StringIO(), stderr=err)
    return err.getvalue()


@pytest.fixture
def ledger(bolus, developer):  # noqa: F811 - the fixture imported above
    decisions = [
        gate_decide(environment=bolus[env], actor=developer, digests=[APP])[0]
        for env in ("staging", "production", "qa")
    ]
    call_command("audit_checkpoint", stdout=StringIO())
    assert "gate decisions: intact" in verified()
    return decisions


def test_a_decision_removed_from_the_middle_of_the_ledger(ledger):
    immutable_rows_dropped(connection, "regops_gatedecision")
    GateDecision.objects.filter(pk=ledger[1].pk).delete()
    assert f"gate decision #{ledger[2].pk}: it does not follow the previous decision" in verify_fails()


def test_the_newest_decisions_cut_off_and_the_head_rewound_contradict_the_anchor(ledger):
    """The checkpoint anchored the ledger's head in the audit trail, which is signed outside the
    database: removing the newest denial and rewinding the head is found."""
    anchor = AuditEvent.objects.get(action=LEDGER_ANCHORED)
    assert anchor.after == {"count": 3, "digest": ledger[2].digest}
    immutable_rows_dropped(connection, "regops_gatedecision")
    GateDecision.objects.filter(pk=ledger[2].pk).delete()
    GateLedgerHead.objects.filter(pk=1).update(digest=ledger[1].digest, count=2)
    assert "gate ledger: the audit trail anchored 3 decisions, the ledger holds 2: cut short" in verify_fails()


def test_the_head_left_behind_a_cut_ledger(ledger):
    immutable_rows_dropped(connection, "regops_gatedecision")
    GateDecision.objects.filter(pk=ledger[2].pk).delete()
    assert "cut short" in verify_fails()


def test_a_rewritten_chain_contradicts_the_anchored_digest(ledger, developer):
    """A decision's verdict flipped and the rest of the chain recomputed (as someone holding the
    key could): the digest the audit trail anchored no longer matches."""
    from regops.models import decision_digest

    immutable_rows_dropped(connection, "regops_gatedecision")
    previous = ledger[0].digest
    for decision in GateDecision.objects.filter(pk__gt=ledger[0].pk).order_by("id"):
        decision.allowed, decision.reasons = True, []
        decision.previous_digest = previous
        decision.digest = decision_digest(decision, previous=previous)
        GateDecision.objects.filter(pk=decision.pk).update(
            allowed=True, reasons=[], previous_digest=previous, digest=decision.digest
        )
        previous = decision.digest
    GateLedgerHead.objects.filter(pk=1).update(digest=previous)
    assert f"gate decision #{ledger[2].pk}: the audit trail anchored decision 3 with another digest" in verify_fails()


def test_an_anchor_is_written_only_when_the_ledger_moved(ledger, bolus, developer):  # noqa: F811
    assert gate_ledger_anchor() is None
    gate_decide(environment=bolus["staging"], actor=developer, digests=[APP])
    event = gate_ledger_anchor()
    assert event is not None and event.after["count"] == 4
    assert AuditEvent.objects.filter(action=LEDGER_ANCHORED).count() == 2


@pytest.fixture
def integrated(bolus, qm):  # noqa: F811
    release = frozen(bolus, qm)
    staging = deployed(bolus["staging"], qm, SMOKE_OK)
    approval = integration_approve(release=release, signer=qm, password=PASSWORD)
    call_command("audit_checkpoint", stdout=StringIO())
    assert "intact" in verified()
    return {"release": release, "staging": staging, "approval": approval}


def test_a_deployments_digests_edited(integrated):
    immutable_rows_dropped(connection, "regops_deployment")
    Deployment.objects.filter(pk=integrated["staging"].pk).update(digests=["sha256:" + "f" * 64])
    assert f"deployment #{integrated['staging'].pk}: it does not match its seal" in verify_fails()


def test_a_failed_smoke_test_rewritten_as_passed(bolus, qm):  # noqa: F811
    deployment = deployed(bolus["staging"], qm, SMOKE_BAD)
    status = DeploymentStatus.objects.get(deployment=deployment)
    call_command("audit_checkpoint", stdout=StringIO())
    immutable_rows_dropped(connection, "regops_deploymentstatus")
    DeploymentStatus.objects.filter(pk=status.pk).update(smoke=SMOKE_OK)
    assert f"status #{status.pk} of deployment #{deployment.pk}: it does not match its seal" in verify_fails()


def test_a_deployment_inserted_in_sql_has_no_audit_event(integrated, bolus):  # noqa: F811
    forged = Deployment.objects.get(pk=integrated["staging"].pk)
    forged.pk, forged.environment, forged.external_id = None, bolus["production"], "forged"
    Deployment.objects.bulk_create([forged])
    problems = verify_fails()
    assert f"deployment #{forged.pk}: it does not match its seal" in problems
    assert f"deployment #{forged.pk}: the audit trail has no deployment.recorded event for it" in problems


def test_an_integration_approval_deleted(integrated, bolus):  # noqa: F811
    immutable_rows_dropped(connection, "regops_integrationapproval")
    IntegrationApproval.objects.filter(pk=integrated["approval"].pk).delete()
    release = integrated["release"]
    assert f"release #{release.pk}: the audit trail records its integration approval, but it is gone" in verify_fails()
    assert {r.gate: r.status for r in gate_answer(environment=bolus["qa"], digests=[APP, DOCS]).gates}[
        "G4"
    ] == "missing"


def test_an_integration_approval_moved_to_other_digests(integrated, bolus):  # noqa: F811
    immutable_rows_dropped(connection, "regops_integrationapproval")
    IntegrationApproval.objects.filter(pk=integrated["approval"].pk).update(digests=[APP])
    assert "it does not match its seal or its signature" in verify_fails()
    qa = gate_answer(environment=bolus["qa"], digests=[APP, DOCS])
    assert not qa.allowed


def test_no_integration_approval_rests_on_a_smoke_result_rewritten_in_sql(bolus, qm):  # noqa: F811
    from qms.errors import Conflict

    release = frozen(bolus, qm)
    deployment = deployed(bolus["staging"], qm, SMOKE_BAD)
    immutable_rows_dropped(connection, "regops_deploymentstatus")
    DeploymentStatus.objects.filter(deployment=deployment).update(smoke=SMOKE_OK)
    signatures = AuditEvent.objects.filter(action="release.integration_approved").count()
    with pytest.raises(Conflict, match=f"deployment #{deployment.pk} does not match its seal"):
        integration_approve(release=release, signer=qm, password=PASSWORD)
    assert not IntegrationApproval.objects.exists()
    assert AuditEvent.objects.filter(action="release.integration_approved").count() == signatures
