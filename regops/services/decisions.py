"""The gate-decision ledger: every gate question and its answer, appended to a keyed chain.

The answer is computed first, in one read snapshot (``regops.gates.gate_answer``); only the
append takes the ledger's lock, briefly, so gate questions never wait for a CI upload or for each
other's evaluation.
"""

import re
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from qms.errors import InvalidInput
from qms.models import AuditEvent
from qms.services.audit import audit_record, checkpoint_anchor
from regops.gates import GateAnswer, gate_answer
from regops.models import Environment, GateDecision, GateLedgerHead, decision_digest
from traceability.models.artifacts import DIGEST_PATTERN as DIGEST_REGEX

DIGEST_PATTERN = re.compile(DIGEST_REGEX)

ENGINES = ("api", "cli", "github", "gitlab", "argocd", "argo-rollouts", "flux", "flagger", "jenkins", "spinnaker")
MAX_DIGESTS = 100


def question_clean(
    *, digests: list[str], version: str, commit: str, engine: str, external: dict[str, Any]
) -> list[str]:
    """Validate a gate question; the digests, sorted and unique."""
    if engine not in ENGINES:
        raise InvalidInput(f"engine: unknown engine {engine!r}; engines are {', '.join(ENGINES)}", field="engine")
    if not isinstance(external, dict) or len(str(external)) > 2000:
        raise InvalidInput("external: the engine's ids, an object of at most 2,000 characters", field="external")
    if len(digests) > MAX_DIGESTS:
        raise InvalidInput(f"digest: at most {MAX_DIGESTS} digests in one question", field="digest")
    for digest in digests:
        if DIGEST_PATTERN.fullmatch(digest) is None:
            raise InvalidInput(
                f"digest: {digest!r} is not an OCI digest (sha256: and 64 lower-case hex)", field="digest"
            )
    given = [name for name, value in (("digest", digests), ("version", version), ("commit", commit)) if value]
    if len(given) != 1:
        raise InvalidInput("ask by exactly one of digest (repeatable), version or commit", field="digest")
    if len(version) > 64 or len(commit) > 40:
        raise InvalidInput("version: at most 64 characters; commit: at most 40", field="version")
    return sorted(set(digests))


def gate_decide(
    *,
    environment: Environment,
    actor: User | None,
    digests: list[str] | None = None,
    version: str = "",
    commit: str = "",
    engine: str = "api",
    external: dict[str, Any] | None = None,
) -> tuple[GateDecision, GateAnswer]:
    """Answer the gate question and keep it in the ledger (whatever the answer)."""
    external = external or {}
    digests = question_clean(digests=digests or [], version=version, commit=commit, engine=engine, external=external)
    answer = gate_answer(environment=environment, digests=digests, version=version, commit=commit)
    decision = GateDecision(
        product=environment.product,
        environment=environment,
        release=answer.release,
        version=answer.release.version if answer.release is not None else "",
        baseline_sha256=answer.baseline_sha256,
        digests=answer.digests,
        inputs=answer.inputs,
        engine=engine,
        external=external,
        allowed=answer.allowed,
        gates=[result.as_dict() for result in answer.gates],
        reasons=answer.reasons,
        asked_by=actor,
        asked_by_username=actor.get_username() if actor is not None else "system",
    )
    _ledger_append(decision)
    return decision, answer


@transaction.atomic
def _ledger_append(decision: GateDecision) -> None:
    head, _ = GateLedgerHead.objects.select_for_update().get_or_create(pk=1)
    decision.previous_digest = head.digest
    decision.digest = decision_digest(decision, previous=head.digest)
    decision.save()
    GateLedgerHead.objects.filter(pk=1).update(digest=decision.digest, count=head.count + 1)


LEDGER_ANCHORED = "gate_ledger.anchored"


@checkpoint_anchor
@transaction.atomic
def gate_ledger_anchor() -> AuditEvent | None:
    """Record the ledger's head (its length and newest digest) in the audit trail when it moved
    since the last anchor; run before every audit checkpoint, which then signs it outside the
    database. A ledger cut short and its head rewound contradicts the anchor (``audit_verify``)."""
    head, _ = GateLedgerHead.objects.select_for_update().get_or_create(pk=1)
    last = AuditEvent.objects.filter(action=LEDGER_ANCHORED).order_by("-id").values_list("after", flat=True).first()
    if head.count == 0 or (last and last.get("count") == head.count and last.get("digest") == head.digest):
        return None
    return audit_record(
        actor=None,
        action=LEDGER_ANCHORED,
        obj=head,
        after={"count": head.count, "digest": head.digest},
        note="gate-decision ledger head, anchored before a checkpoint",
    )
