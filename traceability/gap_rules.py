"""The catalogue of gap rules: slugs, what they check, and default severity per safety class.

The checks themselves run on the trace graph (``traceability.graph``); a product can override a
rule's severity with ``Product.gap_rules = {rule: "error" | "warning" | "off"}``.

Protected rules: for class B and C (an unassigned class is C), the rules that protect patients
(``PROTECTED_RULES``) are lowered only by a quality manager's signed deviation
(``traceability.models.Deviation``), never by a plain override; raising any rule stays an
override. A stored override that lowers a protected rule (a database from before this rule) has
no effect: ``rule_severities`` ignores it, and the gap report lists it (``ignored_overrides``).
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
        _all(E),  # ISO 14971 applies whatever the software safety class
    ),
    GapRule(
        "risk_control_not_verified",
        "Risk control measure not verified",
        "ISO 14971 7.2; IEC 62304 7.3.1",
        _all(E),
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
        {"A": W, "B": E, "C": E},  # problem resolution (9.2) applies to class A too
    ),
    GapRule("item_not_approved", "Item not approved", "IEC 62304 5.8.6; ISO 13485 4.2.4", _all(W)),
    GapRule("clause_without_evidence", "Applicable clause without evidence", "ISO 13485 4.2.3", _all(W)),
)

GAP_RULES_BY_SLUG = {rule.slug: rule for rule in GAP_RULES}


# The rules that protect patients: for class B and C only a signed deviation lowers them (the
# ISO 14971 risk rules for class A too: RISK_FILE_RULES).
PROTECTED_RULES: tuple[str, ...] = (
    "test_failed",
    "requirement_without_verification",
    "residual_risk_unacceptable",
    "risk_not_controlled",
    "risk_control_not_verified",
    "anomaly_not_evaluated",
    "soup_without_version",
)
PROTECTED_CLASSES = ("B", "C")
# ISO 14971 does not depend on the software safety class: its rules are protected for class A too.
RISK_FILE_RULES: tuple[str, ...] = ("risk_not_controlled", "risk_control_not_verified", "residual_risk_unacceptable")
SEVERITY_RANK = {Severity.OFF.value: 0, Severity.WARNING.value: 1, Severity.ERROR.value: 2}
DEVIATION_SEVERITIES = (Severity.WARNING.value, Severity.OFF.value)  # what a deviation lowers a rule to


def effective_class(safety_class: str) -> str:
    """The class whose rules apply: an unassigned class is C."""
    return safety_class or "C"


def rule_protected(slug: str, safety_class: str) -> bool:
    """Only a signed deviation lowers this rule for a product of this class: a protected rule on
    class B or C, and the ISO 14971 risk rules on every class."""
    if slug in RISK_FILE_RULES:
        return True
    return slug in PROTECTED_RULES and effective_class(safety_class) in PROTECTED_CLASSES


def lowering_overrides(overrides: Any, safety_class: str) -> dict[str, str]:
    """The overrides that set a protected rule below its default for the class (rule → severity)."""
    if not isinstance(overrides, dict):
        return {}
    klass = effective_class(safety_class)
    return {
        slug: str(severity)
        for slug, severity in overrides.items()
        if rule_protected(slug, klass)
        and severity in SEVERITY_RANK
        and SEVERITY_RANK[str(severity)] < SEVERITY_RANK[GAP_RULES_BY_SLUG[slug].defaults[klass]]
    }


def protected_override_problem(overrides: Any, safety_class: str, product_key: str) -> tuple[str, str] | None:
    """(rule, message) when an override lowers a protected rule, or None."""
    lowered = lowering_overrides(overrides, safety_class)
    if not lowered:
        return None
    slug, severity = next(iter(sorted(lowered.items())))
    klass = effective_class(safety_class)
    default = GAP_RULES_BY_SLUG[slug].defaults[klass]
    return slug, (
        f"rule '{slug}' protects patients on a class {klass} product: a gap-rule override cannot lower it "
        f"from {default} to {severity}; only a quality manager's signed deviation can "
        f"(POST /api/v1/products/{product_key}/deviations/ or manage.py deviation_sign {product_key} {slug})"
    )


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
    """The severity of every rule for the class, with the product's overrides in force (an override
    lowering a protected rule is ignored: ``lowering_overrides``)."""
    ignored = lowering_overrides(overrides, safety_class)
    in_force = {slug: severity for slug, severity in (overrides or {}).items() if slug not in ignored}
    klass = effective_class(safety_class)
    return {rule.slug: rule.severity_for(klass, in_force) for rule in GAP_RULES}
