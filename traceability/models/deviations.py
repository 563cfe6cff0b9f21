"""Signed deviations: a quality manager's e-signed decision to lower a protected gap rule.

For class B and C the rules that protect patients (``traceability.gap_rules.PROTECTED_RULES``)
are lowered only by a ``Deviation``: one rule of one product (or one finding of it, named by the
item at fault), the lowered severity, a written rationale, and a Part 11 signature over the
SHA-256 of the deviation's canonical content (``deviation_content``), so the signature is bound
to exactly what was decided. Both records are written once: a deviation is withdrawn by a
signed ``DeviationRevocation``, never edited or deleted.
"""

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from traceability.models.products import Product

DEVIATION_RECORD_TYPE = "traceability.deviation"
REVOCATION_RECORD_TYPE = "traceability.deviationrevocation"
RATIONALE_MIN_LENGTH = 40  # characters of written reasoning, after trimming white space


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class DeviationSeverity(models.TextChoices):
    WARNING = "warning", "Warning"
    OFF = "off", "Off"


class Deviation(models.Model):
    """A protected gap rule lowered for a product, for the whole rule or one finding (``item_key``,
    the key of the item at fault), with the signer's rationale. Append-only."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="deviations")
    number = models.PositiveIntegerField(help_text="DEV-<number>, counted per product")
    rule = models.CharField(max_length=64)
    item_key = models.CharField(max_length=64, blank=True, help_text="One finding (its item at fault); empty: the rule")
    severity = models.CharField(max_length=8, choices=DeviationSeverity.choices)
    rationale = models.TextField()
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the canonical content the signature is bound to")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["product_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "number"], name="deviation_unique_number"),
            models.CheckConstraint(condition=Q(severity__in=DeviationSeverity.values), name="deviation_severity_valid"),
            models.CheckConstraint(condition=~Q(rationale=""), name="deviation_rationale_required"),
        ]

    def __str__(self) -> str:
        return f"{self.product.key} {self.label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("a deviation never changes once signed; revoke it and sign a new one")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("a deviation is never deleted; revoke it")

    @property
    def label(self) -> str:
        return f"DEV-{self.number}"

    @property
    def scope_label(self) -> str:
        return f"finding of {self.item_key}" if self.item_key else "whole rule"


class DeviationRevocation(models.Model):
    """The signed withdrawal of a deviation, with the reason. Append-only."""

    deviation = models.OneToOneField(Deviation, on_delete=models.PROTECT, related_name="revocation")
    reason = models.TextField()
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the canonical content the signature is bound to")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="deviation_revocation_reason_required"),
        ]

    def __str__(self) -> str:
        return f"revocation of {self.deviation}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("a revocation never changes once signed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("a revocation is never deleted")


def deviation_content(
    *,
    product_key: str,
    number: int,
    rule: str,
    item: str,
    severity: str,
    rationale: str,
    created_at: datetime,
    signer: str,
) -> dict[str, Any]:
    """What a deviation's signature is bound to (its SHA-256 is ``Deviation.sha256``)."""
    return {
        "record": DEVIATION_RECORD_TYPE,
        "product": product_key,
        "number": number,
        "rule": rule,
        "item": item,
        "severity": severity,
        "rationale": rationale,
        "created_at": iso_utc(created_at),
        "created_by": signer,
    }


def revocation_content(
    *, product_key: str, deviation: Deviation, revocation: DeviationRevocation, signer: str
) -> dict[str, Any]:
    """What a revocation's signature is bound to: the revoked deviation (number and hash) and the reason."""
    return {
        "record": REVOCATION_RECORD_TYPE,
        "product": product_key,
        "deviation": deviation.number,
        "deviation_sha256": deviation.sha256,
        "reason": revocation.reason,
        "created_at": iso_utc(revocation.created_at),
        "created_by": signer,
    }
