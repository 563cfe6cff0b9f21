"""The catalogue of gap rules: slugs, what they check, and default severity per safety class.

The checks themselves run on the trace graph (``traceability.graph``); a product can override any
rule's severity with ``Product.gap_rules = {rule: "error" | "warning" | "off"}``.
"""

from dataclasses import dataclass
from typing import Any

from django.db import models


class Severity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    OFF = "off", "Off"


E, W, OFF = Severity.ERROR, Severity.WARNING, Severity.OFF
FINDING_SEVERITIES = (Severity.ERROR.value, Severity.WARNING.value)  # what a finding can have


@dataclass(frozen=True)
class GapRule:
    slug: str
    title: str
    clauses: str
    defaults: dict[str, str]  # safety class → severity

    def severity_for(self, safety_class: str, overrides: dict[str, Any] | None = None) -> str:
        if overrides and self.slug in overrides:
            return str(overrides[self.slug])
        return self.defaults[safety_class]


def _all(severity: str) -> dict[str, str]:
    return {"A": severity, "B": severity, "C": severity}


GAP_RULES: tuple[GapRule, ...] = (
    GapRule(
        "requirement_without_parent",
        "Requirement without parent (and not marked derived)",
        "IEC 62304 5.2.6, 5.1.1",
        _all(E),
    ),
    GapRule(
        "requirement_without_verification", "Requirement without verification", "IEC 62304 5.7.1, 5.7.4, 5.2.6", _all(E)
    ),
    GapRule(
        "requirement_without_architecture",
        "Software requirement not allocated to a software item",
        "IEC 62304 5.3.1",
        {"A": OFF, "B": E, "C": E},
    ),
    GapRule(
        "software_item_without_design",
        "Software item without a detailed design description",
        "IEC 62304 5.4.2",
        {"A": OFF, "B": OFF, "C": E},
    ),
    GapRule("test_without_requirement", "Test case that verifies or validates nothing", "IEC 62304 5.7.4", _all(W)),
    GapRule("test_without_result", "Test case without a result in this release", "IEC 62304 5.7.5, 9.8", _all(W)),
    GapRule("test_failed", "Failed test", "IEC 62304 5.7.4, 5.8.1", _all(E)),
    GapRule(
        "risk_not_controlled",
        "Risk with unacceptable initial risk and no risk control",
        "ISO 14971 7.1; IEC 62304 7.2",
        {"A": W, "B": E, "C": E},
    ),
    GapRule(
        "risk_control_not_verified",
        "Risk control measure not verified",
        "ISO 14971 7.2; IEC 62304 7.3.1",
        {"A": W, "B": E, "C": E},
    ),
    GapRule("residual_risk_unacceptable", "Residual risk unacceptable", "ISO 14971 7.3, 8", _all(E)),
    GapRule(
        "suspect_link",
        "Suspect link: the linked item changed since the link was reviewed",
        "IEC 62304 7.4.2, 8.2.4",
        _all(W),
    ),
    GapRule("soup_without_version", "SOUP item without a version", "IEC 62304 8.1.2", _all(E)),
    GapRule(
        "anomaly_not_evaluated",
        "Known anomaly without an evaluation",
        "IEC 62304 5.8.3, 9.2",
        {"A": OFF, "B": E, "C": E},
    ),
    GapRule("item_not_approved", "Item not approved", "IEC 62304 5.8.6; ISO 13485 4.2.4", _all(W)),
    GapRule("clause_without_evidence", "Applicable clause without evidence", "ISO 13485 4.2.3", _all(W)),
)

GAP_RULES_BY_SLUG = {rule.slug: rule for rule in GAP_RULES}


def gap_rules_problem(overrides: Any) -> str | None:
    """Describe what is wrong with a product's gap-rule overrides, or None."""
    if not isinstance(overrides, dict):
        return "must be an object {rule: severity}"
    for slug, severity in overrides.items():
        if slug not in GAP_RULES_BY_SLUG:
            return f"unknown rule '{slug}' (rules: {', '.join(GAP_RULES_BY_SLUG)})"
        if severity not in Severity.values:
            return f"rule '{slug}' severity must be one of {', '.join(Severity.values)}, got {severity!r}"
    return None


def rule_severities(*, safety_class: str, overrides: dict[str, Any] | None) -> dict[str, str]:
    return {rule.slug: rule.severity_for(safety_class, overrides) for rule in GAP_RULES}
