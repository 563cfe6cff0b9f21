"""Quality-system foundation: the audit trail, API tokens and electronic signatures."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from qms.integrity.keys import KEYED_CHAIN, seal_matches, seal_of
from qms.roles import Scope


class AuditEvent(models.Model):
    """One recorded action: who did what to which record, when, with the state before and after.

    Append-only. Each event carries a digest chained to the previous event's digest: HMAC-SHA256
    keyed with ``AUDIT_KEY`` (``chain_version`` 2), or plain SHA-256 for the events of databases
    created before the trail was keyed (``chain_version`` 1, closed by the anchor event). An
    altered, removed, reordered or forged event is detected by ``audit_verify``.
    """

    chain_version = models.PositiveSmallIntegerField(default=KEYED_CHAIN)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, help_text="Who acted, kept even if the account is renamed")
    action = models.CharField(max_length=64, db_index=True, help_text="e.g. item.updated, link.created")
    object_type = models.CharField(max_length=64, help_text="app_label.model of the record")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=255, help_text="Human key, e.g. BOLUS/SRS-012")
    scope = models.CharField(max_length=64, blank=True, db_index=True, help_text="Product key or catalogue")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    previous_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")


class AuditChainHead(models.Model):
    """Single row holding the digest of the newest audit event and the number of events; locked
    while appending. The database moves it on every insert into the audit table (a trigger); on
    PostgreSQL it refuses any other update, its deletion and ``TRUNCATE``."""

    digest = models.CharField(max_length=64, blank=True)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_single_row")]

    def __str__(self) -> str:
        return f"audit chain head #{self.count}"


class ApiToken(models.Model):
    """A secret for scripts and CI. The key is shown once; only its SHA-256 is stored.

    A token acts as its user, restricted to its scopes: a CI token with the scope ``evidence``
    can post test results and commits but never edit requirements or approve a release.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, help_text="Public part, shown in lists")
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, blank=True, help_text=f"Subset of {', '.join(Scope.values)}")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["user_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="api_token_unique_name_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class SignatureMeaning(models.TextChoices):
    """What a signature means (21 CFR 11.50(a)(3))."""

    AUTHORSHIP = "authorship", "Authorship"
    REVIEW = "review", "Review"
    APPROVAL = "approval", "Approval"
    RESPONSIBILITY = "responsibility", "Responsibility"


class Signature(models.Model):
    """An electronic signature (21 CFR Part 11): who signed which record, when, and meaning what.

    The signed record is named by type, id and hash (for a release: the baseline's SHA-256), so
    the signature is bound to the exact content signed (11.70). Written once, never changed
    or deleted (the model refuses, and on PostgreSQL and SQLite a trigger refuses too). Its
    ``seal`` (HMAC with ``AUDIT_KEY`` over everything above) shows it was written by the
    application: a row inserted or edited in the database is detected by ``audit_verify``.
    """

    repeated = False  # set on the instance returned for a repeated identical signing request

    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    signer_username = models.CharField(max_length=150)
    printed_name = models.CharField(max_length=255, help_text="The signer's full name when signing (11.50(a)(1))")
    signed_at = models.DateTimeField(default=timezone.now, help_text="UTC (11.50(a)(2))")
    meaning = models.CharField(max_length=16, choices=SignatureMeaning.choices)
    record_type = models.CharField(max_length=64, help_text="app_label.model of the signed record")
    record_id = models.CharField(max_length=64)
    record_repr = models.CharField(max_length=255, help_text="Human name of the record, e.g. BOLUS 1.0.0")
    record_hash = models.CharField(max_length=64, help_text="SHA-256 of the signed content")
    comment = models.TextField(blank=True)
    scope = models.CharField(max_length=64, blank=True, help_text="Product key")
    seal = models.CharField(max_length=64, help_text="HMAC-SHA256 with AUDIT_KEY over the signature's content")

    class Meta:
        ordering = ["signed_at", "id"]
        indexes = [models.Index(fields=["record_type", "record_id", "id"], name="signature_record_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(meaning__in=SignatureMeaning.values), name="signature_meaning_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.printed_name} ({self.meaning}) {self.record_repr} {self.signed_at:%Y-%m-%d %H:%M:%S} UTC"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("a signature never changes once applied")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("a signature is never deleted")


SIGNATURE_RECORD = "qms.signature"


def signature_content(signature: Signature) -> dict[str, Any]:
    """What a signature's seal covers (everything but its id and the seal itself)."""
    return {
        "signer_id": signature.signer_id,
        "signer_username": signature.signer_username,
        "printed_name": signature.printed_name,
        "signed_at": signature.signed_at.isoformat(),
        "meaning": signature.meaning,
        "record_type": signature.record_type,
        "record_id": signature.record_id,
        "record_repr": signature.record_repr,
        "record_hash": signature.record_hash,
        "comment": signature.comment,
        "scope": signature.scope,
    }


def signature_seal(signature: Signature) -> str:
    return seal_of(SIGNATURE_RECORD, signature_content(signature))


def signature_is_sealed(signature: Signature) -> bool:
    return seal_matches(SIGNATURE_RECORD, signature_content(signature), signature.seal)
