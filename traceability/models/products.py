import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from standards.models import SafetyClass, Standard

PRODUCT_KEY_RE = r"^[A-Z][A-Z0-9_-]{0,31}$"
DEFAULT_KEY_PATTERN = r"[A-Z][A-Z0-9]*-\d+"


def default_risk_matrix() -> dict[str, Any]:
    """A 5×5 ISO 14971 acceptability matrix: rows are severities, columns probabilities."""
    return {
        "severities": ["Negligible", "Minor", "Serious", "Critical", "Catastrophic"],
        "probabilities": ["Improbable", "Remote", "Occasional", "Probable", "Frequent"],
        "acceptable": [
            [True, True, True, True, True],
            [True, True, True, True, False],
            [True, True, False, False, False],
            [True, False, False, False, False],
            [False, False, False, False, False],
        ],
    }


def risk_matrix_problem(matrix: Any) -> str | None:
    """Describe what is wrong with a risk-acceptability matrix, or None when it is well formed."""
    if not isinstance(matrix, dict):
        return "must be an object with severities, probabilities and acceptable"
    unknown = set(matrix) - {"severities", "probabilities", "acceptable"}
    if unknown:
        return f"unknown key '{sorted(unknown)[0]}'"
    severities, probabilities, acceptable = (
        matrix.get("severities"),
        matrix.get("probabilities"),
        matrix.get("acceptable"),
    )
    for name, levels in (("severities", severities), ("probabilities", probabilities)):
        if not isinstance(levels, list) or not 2 <= len(levels) <= 10:
            return f"'{name}' must be a list of 2 to 10 level names"
        if not all(isinstance(level, str) and level.strip() for level in levels):
            return f"'{name}' must hold non-empty names"
        if len(set(levels)) != len(levels):
            return f"'{name}' has a duplicate level"
    assert isinstance(severities, list) and isinstance(probabilities, list)
    if not isinstance(acceptable, list) or len(acceptable) != len(severities):
        return "'acceptable' must have one row per severity"
    for index, row in enumerate(acceptable):
        if not isinstance(row, list) or len(row) != len(probabilities):
            return f"'acceptable' row {index + 1} must have one true/false per probability"
        if not all(isinstance(cell, bool) for cell in row):
            return f"'acceptable' row {index + 1} must hold only true or false"
    return None


class Product(models.Model):
    key = models.CharField(
        max_length=32,
        unique=True,
        validators=[RegexValidator(PRODUCT_KEY_RE, "Upper-case letters, digits, '-' or '_', starting with a letter")],
    )
    name = models.CharField(max_length=255)
    intended_use = models.TextField(blank=True)
    safety_class = models.CharField(
        max_length=1,
        choices=SafetyClass.choices,
        blank=True,
        help_text="IEC 62304 software safety class; class C rules apply while unassigned",
    )
    standards = models.ManyToManyField(Standard, blank=True, related_name="products")
    risk_matrix = models.JSONField(default=default_risk_matrix)
    key_pattern = models.CharField(
        max_length=200,
        default=DEFAULT_KEY_PATTERN,
        help_text="Regular expression of item keys, used to find keys in commit messages and test names",
    )
    gap_rules = models.JSONField(
        default=dict, blank=True, help_text="Severity per gap rule: {rule: error | warning | off}"
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
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(safety_class__in=["", "A", "B", "C"]), name="product_safety_class_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def effective_safety_class(self) -> str:
        return self.safety_class or SafetyClass.C

    def clean(self) -> None:
        problem = risk_matrix_problem(self.risk_matrix)
        if problem:
            raise ValidationError({"risk_matrix": f"risk matrix {problem}"})
        try:
            pattern = re.compile(self.key_pattern)
        except re.error as exc:
            raise ValidationError({"key_pattern": f"not a valid regular expression: {exc}"}) from exc
        if pattern.fullmatch(""):
            raise ValidationError({"key_pattern": "must not match an empty key"})
        if not isinstance(self.gap_rules, dict):
            raise ValidationError({"gap_rules": "must be an object {rule: severity}"})
