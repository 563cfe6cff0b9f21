from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

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

    ``sha256`` is the hash of ``content``; the row is written once and never changes.
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
