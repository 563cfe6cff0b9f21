"""What CI built for a version or commit: artifacts identified by their SHA-256 digest.

An artifact belongs to a release the way test runs do (the same version, or the same commit:
``traceability.graph.load``); the frozen baseline holds the release's artifacts, so the release
approval signs their digests. The digest that was approved is the digest that ships: the RegOps
gates (``regops``) answer by digest.
"""

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from traceability.models.products import Product
from traceability.models.releases import SHA_VALIDATOR

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
DIGEST_VALIDATOR = RegexValidator(DIGEST_PATTERN, "an OCI digest: sha256: and 64 lower-case hex digits")


class ArtifactKind(models.TextChoices):
    OCI = "oci", "OCI image"
    FILE = "file", "File"
    DOCS = "docs", "Documentation"


class Artifact(models.Model):
    """A built artifact: name, kind, where it is (URI), its digest and size, the CI job that made it.

    Registered once (a repeated registration of the same artifact is the same row) and never
    changed: the model refuses, and so does a database trigger.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="artifacts")
    version = models.CharField(max_length=64, blank=True, db_index=True)
    commit_sha = models.CharField(max_length=40, blank=True, db_index=True, validators=[SHA_VALIDATOR])
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=ArtifactKind.choices, default=ArtifactKind.FILE)
    uri = models.CharField(
        max_length=1000, help_text="Where the artifact is: https://…, file://…, registry/repo@sha256:…"
    )
    digest = models.CharField(max_length=71, validators=[DIGEST_VALIDATOR], db_index=True)
    size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes")
    ci_job_url = models.URLField(max_length=500, blank=True)
    ci_run = models.CharField(max_length=255, blank=True, help_text="The CI run that built it, e.g. a pipeline id")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "version", "commit_sha", "name", "digest"], name="artifact_unique"
            ),
            models.CheckConstraint(condition=Q(kind__in=ArtifactKind.values), name="artifact_kind_valid"),
            models.CheckConstraint(condition=~Q(version="") | ~Q(commit_sha=""), name="artifact_bound"),
            models.CheckConstraint(condition=Q(digest__regex=DIGEST_PATTERN), name="artifact_digest_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.digest[:19]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("an artifact never changes once registered")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("an artifact is never deleted")
