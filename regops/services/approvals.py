"""Gate G4: the signed integration approval of a frozen release.

Possible only after a deployment of the release's digests to a testing or staging environment
that succeeded with passing smoke tests. The signature (meaning ``approval``, the ``approvals``
scope, the password again) is bound to the SHA-256 of what was integrated: the baseline, the
digests, the environment and the deployment. The manufacturer's release approval (G5) waits for it
when the product has an environment that needs G5 (``release_approval_check``).
"""

from django.contrib.auth.models import User
from django.db import transaction

from qms.errors import Conflict, Forbidden
from qms.models import SignatureMeaning
from qms.roles import Scope, user_write_scopes
from qms.services import audit_record, signature_apply
from qms.services.accounts import signing_attempt
from regops.models import (
    DEPLOYMENT_RECORD,
    INTEGRATION_RECORD,
    INTEGRATION_SIGNED,
    INTEGRATION_TIERS,
    STATUS_RECORD,
    Deployment,
    DeploymentState,
    Environment,
    Gate,
    IntegrationApproval,
    deployment_content,
    integration_approval_holds,
    integration_content,
    integration_signed,
    integration_signed_hash,
    seal_holds,
    sealed,
    status_content,
)
from traceability.approval_checks import release_approval_check
from traceability.graph.selectors import graph_load
from traceability.models import Release, ReleaseState


def _passed(deployment: Deployment) -> bool:
    statuses = list(deployment.statuses.all())
    newest = statuses[-1] if statuses else None
    return newest is not None and newest.state == DeploymentState.SUCCESS and newest.smoke_passed is True


def _sealed_or_refused(deployment: Deployment) -> None:
    """A signature never rests on a deployment record altered outside the application."""
    intact = seal_holds(DEPLOYMENT_RECORD, deployment_content(deployment), deployment.seal) and all(
        seal_holds(STATUS_RECORD, status_content(status), status.seal) for status in deployment.statuses.all()
    )
    if not intact:
        raise Conflict(
            f"deployment #{deployment.pk} does not match its seal: its record was altered outside the application "
            "(run audit_verify); nothing was signed",
            code="integrity_error",
        )


def integration_deployment(*, release: Release, digests: list[str], deployment_id: int | None = None) -> Deployment:
    """The deployment that makes the integration approval possible: of the release's digests, to a
    testing or staging environment, succeeded with passing smoke tests (the newest, or the one named)."""
    candidates = (
        Deployment.objects.filter(product_id=release.product_id, environment__tier__in=INTEGRATION_TIERS)
        .select_related("environment")
        .prefetch_related("statuses")
        .order_by("-created_at", "-id")
    )
    if deployment_id is not None:
        candidates = candidates.filter(pk=deployment_id)
    tried = []
    for deployment in candidates:
        if not set(digests) <= set(deployment.digests):
            continue
        if _passed(deployment):
            _sealed_or_refused(deployment)
            return deployment
        tried.append(deployment)
    if tried:
        last = tried[0]
        statuses = list(last.statuses.all())
        state = statuses[-1].state if statuses else "no status"
        smoke = statuses[-1].smoke_passed if statuses else None
        smoke_text = {None: "no smoke test results", True: "smoke tests passed", False: "smoke tests failed"}[smoke]
        raise Conflict(
            f"deployment #{last.pk} of {release.version} to {last.environment.key} is {state} with {smoke_text}: the "
            "integration approval needs a successful deployment with passing smoke tests",
            code="integration_not_ready",
        )
    raise Conflict(
        f"{release.version} has not been deployed to a testing or staging environment: deploy its digests there "
        "(with smoke tests) before the integration approval",
        code="integration_not_ready",
    )


@signing_attempt
@transaction.atomic
def integration_approve(
    *,
    release: Release,
    signer: User,
    password: str,
    comment: str = "",
    deployment_id: int | None = None,
    client_address: str | None = None,
) -> IntegrationApproval:
    """Sign gate G4 for a frozen release (audited ``release.integration_approved``)."""
    if Scope.APPROVALS not in user_write_scopes(signer):
        raise Forbidden(f"{signer.get_username()} may not sign integration approvals (needs the 'approvals' scope)")
    release = Release.objects.select_for_update().select_related("product").get(pk=release.pk)
    if release.state != ReleaseState.FROZEN:
        raise Conflict(
            f"{release.product.key} {release.version} is {release.state}: the integration approval is signed for a "
            "frozen release, before its release approval",
            code="release_state",
            state=release.state,
        )
    if IntegrationApproval.objects.filter(release=release).exists():
        raise Conflict(f"{release.product.key} {release.version} has its integration approval", code="already_approved")
    graph = graph_load(product=release.product, release=release)
    assert graph.release is not None
    digests = sorted({artifact.digest for artifact in graph.artifacts})
    if not digests:
        raise Conflict(
            f"{release.version} has no artifacts in its baseline: nothing was integrated by digest",
            code="integration_not_ready",
        )
    deployment = integration_deployment(release=release, digests=digests, deployment_id=deployment_id)
    baseline_sha256 = graph.release.baseline_sha256
    signed = integration_signed(
        release_id=release.pk,
        baseline_sha256=baseline_sha256,
        digests=digests,
        environment=deployment.environment.key,
        deployment_id=deployment.pk,
    )
    signature = signature_apply(
        signer=signer,
        password=password,
        meaning=SignatureMeaning.APPROVAL,
        record_type=INTEGRATION_SIGNED,
        record_id=str(release.pk),
        record_repr=f"{release.product.key} {release.version} integration ({deployment.environment.key})",
        record_hash=integration_signed_hash(signed),
        comment=comment,
        scope=release.product.key,
        client_address=client_address,
    )
    approval = IntegrationApproval(
        product=release.product,
        release=release,
        environment=deployment.environment,
        deployment=deployment,
        baseline_sha256=baseline_sha256,
        digests=digests,
        signature=signature,
        approved_at=signature.signed_at,
        approved_by=signer,
    )
    approval.seal = sealed(INTEGRATION_RECORD, integration_content(approval, signature_seal=signature.seal))
    approval.save()
    audit_record(
        actor=signer,
        action="release.integration_approved",
        obj=release,
        scope=release.product.key,
        object_repr=f"{release.product.key} {release.version}",
        after={**signed, "signature_id": signature.pk},
        note=f"G4 signed after deployment #{deployment.pk} to {deployment.environment.key}",
    )
    return approval


@release_approval_check
def integration_before_release_approval(release: Release, baseline_sha256: str) -> list[str]:
    """G5 after G4: where the product has an environment that needs G5, the integration approval of
    this baseline must be signed first."""
    needs = [env.key for env in Environment.objects.filter(product_id=release.product_id) if Gate.G5 in env.gates]
    if not needs:
        return []
    approval = IntegrationApproval.objects.filter(release=release).select_related("signature", "environment").first()
    if approval is None:
        return [
            f"gate G4 first: {', '.join(needs)} need{'s' if len(needs) == 1 else ''} the integration approval "
            "(signed after a successful deployment with passing smoke tests to a testing or staging environment)"
        ]
    if approval.baseline_sha256 != baseline_sha256 or not integration_approval_holds(approval):
        return ["the integration approval does not hold for this baseline (changed in the database)"]
    return []
