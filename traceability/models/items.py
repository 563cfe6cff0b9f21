from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from traceability.kinds import ItemKind, ItemStatus, LinkType, allowed_link_triples
from traceability.models.products import Product

ITEM_KEY_RE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
ITEM_RECORD_TYPE = "traceability.item"  # what an item's approval signature names (qms.Signature.record_type)


class Item(models.Model):
    """A traceable artefact: need, requirement, software item, SOUP, risk, control, test, …

    ``revision`` advances on every change; ``fingerprint`` is a hash of the content that links
    to this item reviewed (title, text, attributes), so a content change makes them suspect.
    An item is a quality record: it is never deleted but made obsolete, and what refers to it
    (links, clause links, commit links, test results) protects it from deletion.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="items")
    key = models.CharField(
        max_length=64,
        validators=[RegexValidator(ITEM_KEY_RE, "Letters, digits, '-', '_', '.', ':' (e.g. SRS-012)")],
    )
    kind = models.CharField(max_length=32, choices=ItemKind.choices)
    title = models.CharField(max_length=500)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.DRAFT)
    attributes = models.JSONField(default=dict, blank=True)
    revision = models.PositiveIntegerField(default=1)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="item_unique_key_per_product"),
            models.CheckConstraint(condition=Q(kind__in=ItemKind.values), name="item_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=ItemStatus.values), name="item_status_valid"),
            models.CheckConstraint(condition=Q(revision__gte=1), name="item_revision_positive"),
        ]
        indexes = [models.Index(fields=["product", "kind"], name="item_product_kind_idx")]

    def __str__(self) -> str:
        return self.key

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError(f"{self.key} is a quality record and is never deleted: make it obsolete")

    @property
    def label(self) -> str:
        return f"{self.key} {self.title}"


def _allowed_triples_q() -> Q:
    condition = Q()
    for source, link_type, target in allowed_link_triples():
        condition |= Q(source_kind=source, link_type=link_type, target_kind=target)
    return condition


class Link(models.Model):
    """A typed, directed link from a dependent item to the item it depends on.

    ``source_kind``/``target_kind`` copy the items' kinds (which never change) so the database
    itself rejects a combination the rules do not allow. ``target_fingerprint`` is the target's
    fingerprint when the link was created or last reviewed: when they differ the link is suspect.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="links")
    source = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="links_out")
    target = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="links_in")
    link_type = models.CharField(max_length=32, choices=LinkType.choices)
    source_kind = models.CharField(max_length=32, choices=ItemKind.choices)
    target_kind = models.CharField(max_length=32, choices=ItemKind.choices)
    target_fingerprint = models.CharField(max_length=64, help_text="Target fingerprint as last reviewed")
    target_revision = models.PositiveIntegerField(default=1, help_text="Target revision as last reviewed")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product_id", "source_id", "link_type", "target_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "link_type"], name="link_unique"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="link_not_self"),
            models.CheckConstraint(condition=_allowed_triples_q(), name="link_kinds_allowed"),
        ]
        indexes = [models.Index(fields=["product", "link_type"], name="link_product_type_idx")]

    def __str__(self) -> str:
        return f"{self.source} {self.link_type} {self.target}"


class ClauseLink(models.Model):
    """An item is evidence for a clause of a standard."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="clause_links")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="clause_links")
    clause = models.ForeignKey("standards.Clause", on_delete=models.PROTECT, related_name="evidence_links")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product_id", "item_id", "clause_id"]
        constraints = [models.UniqueConstraint(fields=["item", "clause"], name="clause_link_unique")]

    def __str__(self) -> str:
        return f"{self.item} → {self.clause}"
