"""Standards, editions, clause trees, class applicability and cross-standard mappings.

Only clause numbers, short titles and our own notes are stored: never normative text.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class SafetyClass(models.TextChoices):
    """IEC 62304 software safety class (4.3)."""

    A = "A", "Class A"
    B = "B", "Class B"
    C = "C", "Class C"


class StandardKind(models.TextChoices):
    STANDARD = "standard", "Standard"
    REGULATION = "regulation", "Regulation"


class Standard(models.Model):
    """One edition of a standard or regulation."""

    slug = models.SlugField(max_length=64, unique=True, help_text="Stable identifier, e.g. iec-62304-2015")
    code = models.CharField(max_length=64, help_text="e.g. IEC 62304")
    edition = models.CharField(max_length=64, help_text="e.g. 2006+A1:2015")
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=StandardKind.choices, default=StandardKind.STANDARD)
    uses_safety_classes = models.BooleanField(
        default=False, help_text="Clauses carry IEC 62304 class A/B/C applicability"
    )
    notes = models.TextField(blank=True)
    source_file = models.CharField(max_length=255, blank=True, help_text="Catalogue file it was loaded from")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code", "edition"]
        constraints = [models.UniqueConstraint(fields=["code", "edition"], name="standard_unique_edition")]

    def __str__(self) -> str:
        return f"{self.code}:{self.edition}"


class Clause(models.Model):
    standard = models.ForeignKey(Standard, on_delete=models.PROTECT, related_name="clauses")
    number = models.CharField(max_length=32)
    title = models.CharField(max_length=255, help_text="Short title only")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    position = models.PositiveIntegerField(default=0, help_text="Order within the standard")
    depth = models.PositiveSmallIntegerField(default=0)
    is_heading = models.BooleanField(default=False, help_text="Has sub-clauses; evidence is expected on them")
    is_active = models.BooleanField(default=True, help_text="False once removed from the catalogue file")
    applies_to_class_a = models.BooleanField(default=True)
    applies_to_class_b = models.BooleanField(default=True)
    applies_to_class_c = models.BooleanField(default=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["standard_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["standard", "number"], name="clause_unique_number"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="clause_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.standard.code} {self.number} {self.title}"

    @property
    def classes(self) -> list[str]:
        marks = [
            (SafetyClass.A, self.applies_to_class_a),
            (SafetyClass.B, self.applies_to_class_b),
            (SafetyClass.C, self.applies_to_class_c),
        ]
        return [str(cls) for cls, applies in marks if applies]

    def applies_to(self, safety_class: str) -> bool:
        return bool(getattr(self, f"applies_to_class_{safety_class.lower()}"))


class MappingKind(models.TextChoices):
    REQUIRES = "requires", "requires"
    INCORPORATES = "incorporates", "incorporates"
    CORRESPONDS_TO = "corresponds_to", "corresponds to"


class ClauseMapping(models.Model):
    """A clause of one standard points at a clause of another (e.g. IEC 82304-1 5 → IEC 62304 5)."""

    source = models.ForeignKey(Clause, on_delete=models.CASCADE, related_name="mappings_out")
    target = models.ForeignKey(Clause, on_delete=models.CASCADE, related_name="mappings_in")
    kind = models.CharField(max_length=16, choices=MappingKind.choices)
    notes = models.TextField(blank=True)
    is_from_catalogue = models.BooleanField(
        default=False, help_text="Maintained by load_standards; others are kept as users made them"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["source_id", "target_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="clause_mapping_unique"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="clause_mapping_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.target}"
