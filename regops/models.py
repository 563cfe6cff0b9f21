"""RegOps: environments, the gate-decision ledger, integration approvals (G4) and deployments.

The product decides and records; it does not deploy. CD engines ask the gate question ("may these
digests go to this environment?") and report what they did. Every answer is a ``GateDecision`` in
an append-only, keyed hash chain of its own (the ledger); integration approvals, deployments and
their statuses are written once and sealed (``AUDIT_KEY``), so ``audit_verify`` detects a row
inserted, edited or removed in the database.
"""

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from qms.canonical import digest_of
from qms.integrity.keys import seal_matches, seal_of
from qms.models import Signature, signature_is_sealed
from traceability.models import Product, Release


class Tier(models.TextChoices):
    """GitLab's deployment tiers."""

    DEVELOPMENT = "development", "Development"
    TESTING = "testing", "Testing (QA)"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    OTHER = "other", "Other"


class Gate(models.TextChoices):
    """The RegOps gates a deployment can need (G3 is the deployment stage itself)."""

    G1 = "G1", "G1 Continuous integration"
    G2 = "G2", "G2 Change review and approval"
    G4 = "G4", "G4 Integration approval"
    G5 = "G5", "G5 Manufacturer release approval"


DEFAULT_GATES: dict[str, list[str]] = {
    Tier.DEVELOPMENT: [Gate.G1],
    Tier.TESTING: [Gate.G1, Gate.G2, Gate.G4],
    Tier.STAGING: [Gate.G1, Gate.G2],
    Tier.PRODUCTION: [Gate.G1, Gate.G2, Gate.G4, Gate.G5],
    Tier.OTHER: [Gate.G1],
}
INTEGRATION_TIERS = (Tier.TESTING, Tier.STAGING)  # where a deployment makes the integration approval possible

ENVIRONMENT_KEY = RegexValidator(
    r"^[a-z][a-z0-9-]{0,31}$", "lower-case letters, digits and '-', starting with a letter"
)


class Environment(models.Model):
    """Where a product is deployed, what a deployment there needs, and the names engines know it by."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="environments")
    key = models.CharField(max_length=32, validators=[ENVIRONMENT_KEY])
    name = models.CharField(max_length=255)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    gates = models.JSONField(default=list, blank=True, help_text="The gates a deployment here needs (G1, G2, G4, G5)")
    url = models.URLField(max_length=500, blank=True, help_text="Where the deployed software answers")
    github_repository = models.CharField(max_length=200, blank=True, help_text="owner/name")
    github_environment = models.CharField(max_length=255, blank=True)
    gitlab_project = models.CharField(max_length=255, blank=True, help_text="group/project path")
    gitlab_environment = models.CharField(max_length=255, blank=True)
    argocd_application = models.CharField(max_length=255, blank=True)
    flux_object = models.CharField(
        max_length=255, blank=True, help_text="kind/namespace/name, e.g. Kustomization/apps/bolus"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="environment_unique_key"),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="environment_tier_valid"),
            models.UniqueConstraint(
                fields=["github_repository", "github_environment"],
                condition=~Q(github_repository=""),
                name="environment_unique_github",
            ),
            models.UniqueConstraint(
                fields=["gitlab_project", "gitlab_environment"],
                condition=~Q(gitlab_project=""),
                name="environment_unique_gitlab",
            ),
            models.UniqueConstraint(
                fields=["argocd_application"], condition=~Q(argocd_application=""), name="environment_unique_argocd"
            ),
            models.UniqueConstraint(
                fields=["flux_object"], condition=~Q(flux_object=""), name="environment_unique_flux"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.key}/{self.key}"


class AppendOnly(models.Model):
    """A record written once: the model refuses to change or delete it (a trigger refuses too)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError(f"a {self._meta.verbose_name} never changes once written")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError(f"a {self._meta.verbose_name} is never deleted")


class GateDecision(AppendOnly):
    """One gate question and its answer: which digests or release, for which environment, asked by
    which engine, allowed or not, and every gate's status with its reasons.

    The ledger is a keyed hash chain of its own (``digest`` over the content and the previous
    decision's digest), so questions answered at deployment rate never wait for the audit trail's
    lock, and a decision altered, inserted or removed is detected by ``audit_verify``.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="decisions")
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    version = models.CharField(max_length=64, blank=True)
    baseline_sha256 = models.CharField(max_length=64, blank=True)
    digests = models.JSONField(default=list, blank=True, help_text="The digests the answer is about")
    inputs = models.JSONField(default=dict, blank=True, help_text="What was asked: digest, version or commit")
    engine = models.CharField(max_length=32, help_text="api, cli, github, gitlab, argocd, flux, …")
    external = models.JSONField(default=dict, blank=True, help_text="The engine's own ids (deployment, run, delivery)")
    allowed = models.BooleanField()
    gates = models.JSONField(default=list, help_text="[{gate, status, required, reasons}]")
    reasons = models.JSONField(default=list, help_text="Why it was denied, in words (empty when allowed)")
    decided_at = models.DateTimeField(default=timezone.now)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    asked_by_username = models.CharField(max_length=150, blank=True)
    previous_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["environment", "id"], name="gate_decision_env_idx")]

    def __str__(self) -> str:
        return f"gate decision #{self.pk} {'allowed' if self.allowed else 'denied'}"


class GateLedgerHead(models.Model):
    """The newest gate decision's digest and the number of decisions; locked while appending."""

    digest = models.CharField(max_length=64, blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="gate_ledger_head_single_row")]

    def __str__(self) -> str:
        return f"gate ledger head #{self.count}"


class DeploymentState(models.TextChoices):
    QUEUED = "queued", "Queued"
    IN_PROGRESS = "in_progress", "In progress"
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    ROLLED_BACK = "rolled_back", "Rolled back"


FINAL_STATES = (DeploymentState.SUCCESS, DeploymentState.FAILURE, DeploymentState.ROLLED_BACK)


class Deployment(AppendOnly):
    """A deployment an engine or script made (or started): of which digests, to which environment,
    by whom, through which engine, and the gate decision it went with. Its course is its statuses."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="deployments")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="deployments")
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT, related_name="deployments")
    version = models.CharField(max_length=64, blank=True)
    digests = models.JSONField(default=list)
    engine = models.CharField(max_length=32)
    external_id = models.CharField(max_length=255, blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    initiator = models.CharField(max_length=255, blank=True, help_text="Who started it, as the engine names them")
    gate_decision = models.ForeignKey(
        GateDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="deployments"
    )
    gate_flag = models.CharField(
        max_length=255, blank=True, help_text="Why the deployment went without an allowing gate decision"
    )
    rollback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    seal = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "engine", "external_id"],
                condition=~Q(external_id=""),
                name="deployment_unique_external",
            ),
        ]
        indexes = [models.Index(fields=["environment", "-created_at"], name="deployment_env_idx")]

    def __str__(self) -> str:
        return f"deployment #{self.pk} to {self.environment_id}"


class DeploymentStatus(AppendOnly):
    """One report of a deployment's course: its state, when, the steps and the smoke tests."""

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="statuses")
    state = models.CharField(max_length=16, choices=DeploymentState.choices)
    at = models.DateTimeField(default=timezone.now)
    description = models.CharField(max_length=500, blank=True)
    log_url = models.URLField(max_length=500, blank=True)
    steps = models.JSONField(default=list, blank=True, help_text="[{name, state, started_at, seconds, log}]")
    smoke = models.JSONField(
        null=True, blank=True, help_text="{passed: bool, checks: [{name, passed, detail}]}; null: no smoke tests"
    )
    reported_by = models.CharField(max_length=150, blank=True)
    seal = models.CharField(max_length=64)

    class Meta:
        ordering = ["deployment_id", "at", "id"]
        verbose_name_plural = "deployment statuses"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=DeploymentState.values), name="deployment_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.state} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def smoke_passed(self) -> bool | None:
        return None if not self.smoke else bool(self.smoke.get("passed"))


class IntegrationApproval(AppendOnly):
    """G4: the signed integration approval of a frozen release, given after a successful deployment of
    its digests, smoke tests passed, to a testing or staging environment."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    release = models.OneToOneField(Release, on_delete=models.PROTECT, related_name="integration_approval")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="+")
    baseline_sha256 = models.CharField(max_length=64)
    digests = models.JSONField(default=list)
    signature = models.OneToOneField(Signature, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    seal = models.CharField(max_length=64)

    class Meta:
        ordering = ["release_id"]

    def __str__(self) -> str:
        return f"integration approval of release #{self.release_id}"


# --- seals ---------------------------------------------------------------------------------------

DECISION_RECORD = "regops.gatedecision"
DEPLOYMENT_RECORD = "regops.deployment"
STATUS_RECORD = "regops.deploymentstatus"
INTEGRATION_RECORD = "regops.integrationapproval"


def decision_content(decision: GateDecision) -> dict[str, Any]:
    """What a decision's digest covers, besides the previous decision's digest."""
    return {
        "product_id": decision.product_id,
        "environment_id": decision.environment_id,
        "release_id": decision.release_id,
        "version": decision.version,
        "baseline_sha256": decision.baseline_sha256,
        "digests": decision.digests,
        "inputs": decision.inputs,
        "engine": decision.engine,
        "external": decision.external,
        "allowed": decision.allowed,
        "gates": decision.gates,
        "reasons": decision.reasons,
        "decided_at": decision.decided_at.isoformat(),
        "asked_by": decision.asked_by_id,
        "asked_by_username": decision.asked_by_username,
    }


def decision_digest(decision: GateDecision, *, previous: str) -> str:
    return seal_of(DECISION_RECORD, {**decision_content(decision), "previous": previous})


def deployment_content(deployment: Deployment) -> dict[str, Any]:
    return {
        "product_id": deployment.product_id,
        "environment_id": deployment.environment_id,
        "release_id": deployment.release_id,
        "version": deployment.version,
        "digests": deployment.digests,
        "engine": deployment.engine,
        "external_id": deployment.external_id,
        "external_url": deployment.external_url,
        "initiator": deployment.initiator,
        "gate_decision_id": deployment.gate_decision_id,
        "gate_flag": deployment.gate_flag,
        "rollback_of_id": deployment.rollback_of_id,
        "created_at": deployment.created_at.isoformat(),
        "created_by": deployment.created_by_id,
    }


def status_content(status: DeploymentStatus) -> dict[str, Any]:
    return {
        "deployment_id": status.deployment_id,
        "state": status.state,
        "at": status.at.isoformat(),
        "description": status.description,
        "log_url": status.log_url,
        "steps": status.steps,
        "smoke": status.smoke,
        "reported_by": status.reported_by,
    }


def integration_content(approval: IntegrationApproval, *, signature_seal: str) -> dict[str, Any]:
    return {
        "product_id": approval.product_id,
        "release_id": approval.release_id,
        "environment_id": approval.environment_id,
        "deployment_id": approval.deployment_id,
        "baseline_sha256": approval.baseline_sha256,
        "digests": approval.digests,
        "signature_id": approval.signature_id,
        "signature_seal": signature_seal,
        "approved_at": approval.approved_at.isoformat(),
        "approved_by": approval.approved_by_id,
    }


def sealed(record_type: str, content: dict[str, Any]) -> str:
    return seal_of(record_type, content)


def seal_holds(record_type: str, content: dict[str, Any], seal: str) -> bool:
    return seal_matches(record_type, content, seal)


INTEGRATION_SIGNED = "regops.integration"  # record type of G4's signature: the release, what was integrated


def integration_signed(
    *, release_id: int, baseline_sha256: str, digests: list[str], environment: str, deployment_id: int
) -> dict[str, Any]:
    """What the integration approval's signature is bound to (its SHA-256 is the record hash)."""
    return {
        "release_id": release_id,
        "baseline_sha256": baseline_sha256,
        "digests": digests,
        "environment": environment,
        "deployment_id": deployment_id,
    }


def integration_signed_hash(signed: dict[str, Any]) -> str:
    return digest_of(signed)


def integration_approval_holds(approval: IntegrationApproval) -> bool:
    """Sealed, with its sealed signature over what it says it integrated (``environment``,
    ``signature`` loaded)."""
    signature = approval.signature
    signed = integration_signed(
        release_id=approval.release_id,
        baseline_sha256=approval.baseline_sha256,
        digests=approval.digests,
        environment=approval.environment.key,
        deployment_id=approval.deployment_id,
    )
    return (
        seal_holds(INTEGRATION_RECORD, integration_content(approval, signature_seal=signature.seal), approval.seal)
        and signature_is_sealed(signature)
        and signature.record_hash == integration_signed_hash(signed)
    )
