"""The record checks of RegOps, run by ``audit_verify``: the gate-decision ledger's chain, the
seals of deployments and their statuses, and integration approvals (G4) against their seals,
their signatures and what the audit trail witnessed."""

from collections.abc import Iterator

from qms.integrity.records import RecordProblem, Witnessed, record_check
from qms.models import AuditEvent
from regops.models import (
    DEPLOYMENT_RECORD,
    STATUS_RECORD,
    Deployment,
    DeploymentStatus,
    GateDecision,
    GateLedgerHead,
    IntegrationApproval,
    decision_digest,
    deployment_content,
    integration_approval_holds,
    seal_holds,
    status_content,
)
from regops.services.decisions import LEDGER_ANCHORED


@record_check("gate decisions")
def gate_ledger_check(witnessed: Witnessed) -> Iterator[RecordProblem]:
    """The ledger is one unbroken keyed chain, and its head names its newest decision."""
    anchors = ledger_anchors()
    previous, count = "", 0
    for decision in GateDecision.objects.order_by("id").iterator(chunk_size=2000):
        name = f"gate decision #{decision.pk}"
        if decision.previous_digest != previous:
            yield RecordProblem(name, "it does not follow the previous decision (removed, inserted or reordered)")
            return
        if decision.digest != decision_digest(decision, previous=previous):
            yield RecordProblem(name, "its content does not match its digest (altered, or forged without the key)")
            return
        previous, count = decision.digest, count + 1
        anchored = anchors.pop(count, None)
        if anchored is not None and anchored != previous:
            yield RecordProblem(name, f"the audit trail anchored decision {count} with another digest (rewritten)")
            return
    for anchored_count in sorted(anchors):
        yield RecordProblem(
            "gate ledger", f"the audit trail anchored {anchored_count} decisions, the ledger holds {count}: cut short"
        )
        return
    head = GateLedgerHead.objects.filter(pk=1).values_list("digest", "count").first() or ("", 0)
    if head != (previous, count):
        yield RecordProblem("gate ledger", f"its head names {head[1]} decisions, the ledger holds {count}: cut short")


def ledger_anchors() -> dict[int, str]:
    """The ledger heads the audit trail witnessed (its chain, verified first, vouches for them)."""
    anchors: dict[int, str] = {}
    for after in AuditEvent.objects.filter(action=LEDGER_ANCHORED).values_list("after", flat=True):
        if isinstance(after, dict) and isinstance(after.get("count"), int):
            anchors[after["count"]] = str(after.get("digest", ""))
    return anchors


@record_check("deployments", witnesses=("deployment.recorded",))
def deployments_check(witnessed: Witnessed) -> Iterator[RecordProblem]:
    recorded = witnessed.get("deployment.recorded", set())
    present: set[str] = set()
    for deployment in Deployment.objects.order_by("id").iterator(chunk_size=2000):
        present.add(str(deployment.pk))
        if not seal_holds(DEPLOYMENT_RECORD, deployment_content(deployment), deployment.seal):
            yield RecordProblem(f"deployment #{deployment.pk}", "it does not match its seal (edited in the database)")
        if str(deployment.pk) not in recorded:
            yield RecordProblem(
                f"deployment #{deployment.pk}", "the audit trail has no deployment.recorded event for it"
            )
    for missing in sorted(recorded - present, key=int):
        yield RecordProblem(f"deployment #{missing}", "the audit trail records it, but it is gone")
    for status in DeploymentStatus.objects.order_by("id").iterator(chunk_size=2000):
        if not seal_holds(STATUS_RECORD, status_content(status), status.seal):
            yield RecordProblem(
                f"status #{status.pk} of deployment #{status.deployment_id}",
                "it does not match its seal (edited in the database)",
            )


@record_check("integration approvals", witnesses=("release.integration_approved",))
def integration_approvals_check(witnessed: Witnessed) -> Iterator[RecordProblem]:
    signed = witnessed.get("release.integration_approved", set())
    present: set[str] = set()
    for approval in IntegrationApproval.objects.select_related("signature", "environment", "release").order_by("id"):
        present.add(str(approval.release_id))
        if not integration_approval_holds(approval):
            yield RecordProblem(
                f"integration approval of {approval.release}",
                "it does not match its seal or its signature (written or edited in the database)",
            )
    for missing in sorted(signed - present, key=int):
        yield RecordProblem(f"release #{missing}", "the audit trail records its integration approval, but it is gone")
