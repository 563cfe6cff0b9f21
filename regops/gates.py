"""The gate question: may these digests (or this release) go to this environment?

One evaluation for every engine (the API, ``gate_check``, GitHub's protection rule, GitLab's
approvals, Argo CD hooks, Argo Rollouts metrics): the release that holds the digests is found,
its trace graph loaded (its baseline when frozen, checked for integrity), and each gate the
environment needs answers passed, missing or failed, with reasons that name the items, runs,
deployments or signatures. A digest no release holds is denied.

- **G1 continuous integration**: test results exist for the release, none failing, and no
  error-level gap in its trace.
- **G2 change review and approval**: every change request approved with an e-signature over its
  current content, and every pull/merge request merged into the release approved in review.
- **G4 integration approval**: signed for this baseline and these digests, after a successful
  deployment with passing smoke tests to a testing or staging environment.
- **G5 manufacturer release approval**: the release approved (its sealed approval record) and the
  digests among those its baseline holds, so the approval signed them.
"""

from dataclasses import dataclass, field
from typing import Any

from qms.errors import Conflict
from regops.models import (
    INTEGRATION_TIERS,
    Deployment,
    Environment,
    Gate,
    IntegrationApproval,
    integration_approval_holds,
)
from traceability.evidence_selectors import pull_requests_in_release
from traceability.graph.gaps import gaps_find
from traceability.graph.load import binding_q
from traceability.graph.model import TraceGraph
from traceability.graph.selectors import graph_load, item_approvals
from traceability.kinds import ItemKind, ItemStatus
from traceability.models import Artifact, Product, Release
from traceability.models.evidence import FAILING_STATUSES

PASSED, MISSING, FAILED = "passed", "missing", "failed"
SHOWN = 10  # reasons listed per kind before "… and N more"


@dataclass
class GateResult:
    gate: str
    status: str  # passed, missing or failed
    reasons: list[str] = field(default_factory=list)
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "status": self.status, "required": self.required, "reasons": self.reasons}


@dataclass
class GateAnswer:
    """The answer to one gate question."""

    environment: Environment
    release: Release | None
    digests: list[str]
    inputs: dict[str, str]
    gates: list[GateResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why no release or digests could be judged
    baseline_sha256: str = ""

    @property
    def allowed(self) -> bool:
        return not self.problems and all(result.status == PASSED for result in self.gates if result.required)

    @property
    def reasons(self) -> list[str]:
        """Why it is denied, in words (empty when allowed)."""
        return [*self.problems] + [
            f"{result.gate} {result.status}: {reason}"
            for result in self.gates
            if result.required and result.status != PASSED
            for reason in (result.reasons or ["(no reason given)"])
        ]

    def as_dict(self) -> dict[str, Any]:
        release = self.release
        return {
            "allowed": self.allowed,
            "product": self.environment.product.key,
            "environment": self.environment.key,
            "tier": self.environment.tier,
            "release": release.version if release is not None else None,
            "release_state": release.state if release is not None else None,
            "baseline_sha256": self.baseline_sha256 or None,
            "digests": self.digests,
            "inputs": self.inputs,
            "gates": [result.as_dict() for result in self.gates],
            "reasons": self.reasons,
        }


def _listed(lines: list[str]) -> list[str]:
    return lines if len(lines) <= SHOWN else [*lines[:SHOWN], f"… and {len(lines) - SHOWN} more"]


# --- which release ------------------------------------------------------------------------------


def _releases_holding(product: Product, digests: list[str]) -> list[Release]:
    """Releases (newest first) that artifacts with these digests were registered for (whether the
    release holds them all is checked on its graph: its baseline's artifacts when frozen)."""
    bindings = set(Artifact.objects.filter(product=product, digest__in=digests).values_list("version", "commit_sha"))
    if not bindings:
        return []
    condition = None
    for version, sha in bindings:
        q = binding_q(version=version, sha=sha)
        condition = q if condition is None else condition | q
    return list(Release.objects.filter(condition, product=product).select_related("product").order_by("-created_at"))


def release_for(
    *, product: Product, digests: list[str], version: str = "", commit: str = ""
) -> tuple[Release | None, str]:
    """The release a question is about, or None with the reason."""
    if version:
        release = Release.objects.select_related("product").filter(product=product, version=version).first()
        return (release, "") if release is not None else (None, f"{product.key} has no release {version!r}")
    if commit:
        release = (
            Release.objects.select_related("product")
            .filter(binding_q(version="", sha=commit.strip().lower()), product=product)
            .order_by("-created_at")
            .first()
        )
        return (release, "") if release is not None else (None, f"no release of {product.key} is at commit {commit}")
    candidates = _releases_holding(product, digests)
    if not candidates:
        return None, (
            f"no release of {product.key} holds {', '.join(digests)}: register the artifact for the release it was "
            "built for (artifact_register / POST …/artifacts/), and freeze and approve that release"
        )
    return candidates[0], ""


# --- the gates ----------------------------------------------------------------------------------


def gate_g1(graph: TraceGraph) -> GateResult:
    release = graph.release
    assert release is not None
    target = f"{release.version}" + (f" (commit {release.commit_sha[:12]})" if release.commit_sha else "")
    if not graph.results:
        return GateResult(Gate.G1, MISSING, [f"no test results are recorded for {target}"])
    failing = sorted(
        f"{key}: {result.status} in run #{result.run_id} {result.run_name}".rstrip()
        for key, result in graph.results.items()
        if result.status in FAILING_STATUSES
    )
    report = gaps_find(graph)
    reasons = _listed(failing)
    if report.errors:
        counts = [f"{entry['rule']} ×{entry['errors']}" for entry in report.by_rule() if entry["errors"]]
        reasons.append(f"{report.errors} error-level gap{'s' if report.errors != 1 else ''}: {', '.join(counts)}")
    if reasons:
        return GateResult(Gate.G1, FAILED, reasons)
    return GateResult(
        Gate.G1, PASSED, [f"{len(graph.results)} test results for {target}, none failing; no error-level gap"]
    )


def gate_g2(graph: TraceGraph, release: Release) -> GateResult:
    change_requests = sorted(
        key
        for key, item in graph.items.items()
        if item.kind == ItemKind.CHANGE_REQUEST and item.status != ItemStatus.OBSOLETE
    )
    approvals = item_approvals(product=release.product, graph=graph)
    unapproved = [key for key in change_requests if approvals.get(key) is None]
    merged = pull_requests_in_release(release=release)
    unreviewed = [pr for pr in merged.prs if not pr.approved]
    failures = [f"change request {key} is not approved with an e-signature over its content" for key in unapproved]
    failures += [f"{pr.label} was merged without an approving review: {'; '.join(pr.reasons)}" for pr in unreviewed]
    if failures:
        return GateResult(Gate.G2, FAILED, _listed(failures) + merged.problems)
    if merged.problems:
        return GateResult(Gate.G2, MISSING, merged.problems)
    reviewed = (
        f"{len(change_requests)} change requests signed; {len(merged.prs)} merged pull requests approved in review"
    )
    return GateResult(Gate.G2, PASSED, [reviewed])


def gate_g4(release: Release, baseline_sha256: str, digests: list[str]) -> GateResult:
    approval = (
        IntegrationApproval.objects.filter(release=release)
        .select_related("signature", "environment", "deployment")
        .first()
    )
    if approval is None:
        last = (
            Deployment.objects.filter(
                product_id=release.product_id, release=release, environment__tier__in=INTEGRATION_TIERS
            )
            .select_related("environment")
            .prefetch_related("statuses")
            .first()
        )
        reasons = [
            f"no integration approval of {release.version}: it is signed after a successful deployment of its "
            "digests, with passing smoke tests, to a testing or staging environment"
        ]
        if last is not None:
            final = last.statuses.all()
            status = list(final)[-1] if final else None
            if status is not None:
                smoke = (
                    ""
                    if status.smoke_passed is None
                    else f", smoke tests {'passed' if status.smoke_passed else 'failed'}"
                )
                reasons.append(f"latest deployment to {last.environment.key}: #{last.pk} {status.state}{smoke}")
        return GateResult(Gate.G4, MISSING, reasons)
    if not integration_approval_holds(approval):
        return GateResult(
            Gate.G4, FAILED, ["the integration approval does not match its seal (edited in the database)"]
        )
    if approval.baseline_sha256 != baseline_sha256:
        return GateResult(Gate.G4, FAILED, ["the integration approval was given for another baseline"])
    outside = sorted(set(digests) - set(approval.digests))
    if outside:
        return GateResult(Gate.G4, FAILED, [f"the integration approval does not cover {', '.join(outside)}"])
    signature = approval.signature
    return GateResult(
        Gate.G4,
        PASSED,
        [
            f"signed by {signature.printed_name} at {signature.signed_at:%Y-%m-%d %H:%M:%S} UTC after deployment "
            f"#{approval.deployment_id} to {approval.environment.key}"
        ],
    )


def gate_g5(graph: TraceGraph, digests: list[str]) -> GateResult:
    release = graph.release
    assert release is not None
    if not release.frozen:
        return GateResult(Gate.G5, MISSING, [f"{release.version} is a draft: freeze it and sign the release approval"])
    if not release.approved:
        return GateResult(
            Gate.G5, MISSING, [f"{release.version} is {release.state}: the release approval is not signed"]
        )
    approved = {artifact.digest for artifact in graph.artifacts}
    outside = sorted(set(digests) - approved)
    if outside:
        return GateResult(Gate.G5, FAILED, [f"the approved baseline does not hold {', '.join(outside)}"])
    return GateResult(Gate.G5, PASSED, [f"{release.version} approved over baseline {release.baseline_sha256[:12]}…"])


def gate_answer(
    *, environment: Environment, digests: list[str] | None = None, version: str = "", commit: str = ""
) -> GateAnswer:
    """Evaluate every gate for the question (digests, or a version, or a commit); nothing is written."""
    digests = sorted(set(digests or []))
    inputs = {name: value for name, value in (("version", version), ("commit", commit)) if value}
    if digests:
        inputs["digests"] = ", ".join(digests)
    product = environment.product
    answer = GateAnswer(environment=environment, release=None, digests=digests, inputs=inputs)
    release, problem = release_for(product=product, digests=digests, version=version, commit=commit)
    if release is None:
        answer.problems.append(problem)
        return answer
    answer.release = release
    try:
        graph = graph_load(product=product, release=release)
    except Conflict as exc:
        answer.problems.append(f"{release.version} cannot be judged: {exc.message}")
        return answer
    assert graph.release is not None
    answer.baseline_sha256 = graph.release.baseline_sha256
    held = {artifact.digest for artifact in graph.artifacts}
    if not digests:
        answer.digests = digests = sorted(held)
        if not digests:
            answer.problems.append(f"{release.version} has no artifacts: nothing to deploy by digest")
            return answer
    outside = sorted(set(digests) - held)
    if outside:
        answer.problems.append(f"{release.version} does not hold {', '.join(outside)}")
        return answer
    required = set(environment.gates)
    results: dict[str, Any] = {
        Gate.G1: lambda: gate_g1(graph),
        Gate.G2: lambda: gate_g2(graph, release),
        Gate.G4: lambda: gate_g4(release, answer.baseline_sha256, digests),
        Gate.G5: lambda: gate_g5(graph, digests),
    }
    for gate in Gate.values:
        result = results[gate]()
        result.required = gate in required
        answer.gates.append(result)
    return answer
