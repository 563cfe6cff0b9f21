from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from qms.integrity.keys import seal_matches, seal_of
from qms.models import Signature
from traceability.models.products import Product

SHA_MIN_LENGTH = 7  # the shortest commit SHA accepted; shorter forms of a SHA bind evidence down to this
SHA_VALIDATOR = RegexValidator(
    rf"^[0-9a-f]{{{SHA_MIN_LENGTH},40}}$", f"A git commit SHA: {SHA_MIN_LENGTH} to 40 lower-case hex digits"
)
VERSION_VALIDATOR = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$", "A version such as 1.2.0 or 2024.1-rc1")
RESERVED_VERSIONS = ("live",)  # names the live graph: baseline_diff PRODUCT V1 live, GET .../diff/?to=live


def reserved_version_problem(version: str) -> str | None:
    """Why a version name cannot be used, or None (compared without regard to case)."""
    if version.strip().lower() in RESERVED_VERSIONS:
        return (
            f"{version.strip()!r} is reserved: it names the live graph (baseline_diff PRODUCT V1 live, "
            "/diff/?to=live); choose another version"
        )
    return None


def version_not_reserved(value: str) -> None:
    problem = reserved_version_problem(value)
    if problem:
        raise ValidationError(problem, code="reserved")


class ReleaseState(models.TextChoices):
    DRAFT = "draft", "Draft"
    FROZEN = "frozen", "Frozen"
    APPROVED = "approved", "Approved"
    RELEASED = "released", "Released"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Release(models.Model):
    """A version of a product. Freezing it takes an immutable baseline.

    States: draft → frozen → approved (a signed release approval) → released; any state but
    withdrawn → withdrawn (with a reason). Only a draft changes its tag and commit.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=64, validators=[VERSION_VALIDATOR, version_not_reserved])
    git_tag = models.CharField(max_length=255, blank=True)
    commit_sha = models.CharField(max_length=40, blank=True, validators=[SHA_VALIDATOR])
    state = models.CharField(max_length=16, choices=ReleaseState.choices, default=ReleaseState.DRAFT)
    notes = models.TextField(blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True, help_text="When the baseline was taken")
    withdrawn_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state_changed_at = models.DateTimeField(default=timezone.now)
    state_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="release_unique_version"),
            models.CheckConstraint(condition=Q(state__in=ReleaseState.values), name="release_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.product.key} {self.version}"

    @property
    def is_frozen(self) -> bool:
        """The release has a baseline (it was frozen, whatever its state now)."""
        return self.frozen_at is not None


class Baseline(models.Model):
    """The frozen content of a release: every item, link, clause link and result, as canonical JSON.

    ``sha256`` is the hash of ``content``; the row is written once and never changes. Its
    ``seal`` (HMAC with ``AUDIT_KEY``) binds the hash to its release: a baseline replaced in the
    database together with a recomputed hash, or moved to another release, no longer matches it.
    """

    release = models.OneToOneField(Release, on_delete=models.PROTECT, related_name="baseline")
    content = models.TextField(help_text="Canonical JSON of the release's trace data")
    sha256 = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField(default=0)
    link_count = models.PositiveIntegerField(default=0)
    result_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    seal = models.CharField(max_length=64, help_text="HMAC-SHA256 with AUDIT_KEY binding the hash to the release")

    class Meta:
        ordering = ["release_id"]

    def __str__(self) -> str:
        return f"baseline of {self.release} ({self.sha256[:12]})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("a baseline never changes once taken")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("a baseline is never deleted")


class ReleaseApproval(models.Model):
    """The manufacturer's release approval (RegOps gate G5): the approval signature over the
    baseline's hash, as the record that makes a release approved.

    Written once by ``release_approve`` and never changed or deleted. Whether a release is
    approved is derived from this record (sealed, its signature sealed, both naming the current
    baseline hash) together with the release state, never from a signature's meaning alone.
    """

    release = models.OneToOneField(Release, on_delete=models.PROTECT, related_name="approval")
    signature = models.OneToOneField(Signature, on_delete=models.PROTECT, related_name="+")
    baseline_sha256 = models.CharField(max_length=64)
    approved_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    seal = models.CharField(max_length=64, help_text="HMAC-SHA256 with AUDIT_KEY over the approval")

    class Meta:
        ordering = ["release_id"]

    def __str__(self) -> str:
        return f"approval of release #{self.release_id} ({self.baseline_sha256[:12]})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("a release approval never changes once given")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("a release approval is never deleted")


BASELINE_RECORD = "traceability.baseline"
APPROVAL_RECORD = "traceability.releaseapproval"


def baseline_seal_content(*, release_id: int, product: str, version: str, baseline: Baseline) -> dict[str, Any]:
    return {
        "release_id": release_id,
        "product": product,
        "version": version,
        "sha256": baseline.sha256,
        "created_at": baseline.created_at.isoformat(),
        "counts": [baseline.item_count, baseline.link_count, baseline.result_count],
    }


def baseline_seal(*, release_id: int, product: str, version: str, baseline: Baseline) -> str:
    return seal_of(
        BASELINE_RECORD,
        baseline_seal_content(release_id=release_id, product=product, version=version, baseline=baseline),
    )


def baseline_is_sealed(*, release_id: int, product: str, version: str, baseline: Baseline) -> bool:
    content = baseline_seal_content(release_id=release_id, product=product, version=version, baseline=baseline)
    return seal_matches(BASELINE_RECORD, content, baseline.seal)


def approval_seal_content(approval: ReleaseApproval, *, signature_seal: str) -> dict[str, Any]:
    return {
        "release_id": approval.release_id,
        "signature_id": approval.signature_id,
        "signature_seal": signature_seal,
        "baseline_sha256": approval.baseline_sha256,
        "approved_at": approval.approved_at.isoformat(),
        "approved_by": approval.approved_by_id,
    }


def approval_seal(approval: ReleaseApproval, *, signature_seal: str) -> str:
    return seal_of(APPROVAL_RECORD, approval_seal_content(approval, signature_seal=signature_seal))


def approval_is_sealed(approval: ReleaseApproval, *, signature_seal: str) -> bool:
    return seal_matches(APPROVAL_RECORD, approval_seal_content(approval, signature_seal=signature_seal), approval.seal)
