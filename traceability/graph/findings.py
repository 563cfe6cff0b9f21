"""What the gap rules found: findings, how they mark an item, and the report of one graph.

Built by ``traceability.graph.gaps.gaps_find``; pure data, no database.
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from traceability.gap_rules import GAP_RULES, SEVERITY_RANK, Severity
from traceability.graph.model import DeviationInfo


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str  # "error" or "warning"
    items: tuple[str, ...]  # keys of the items involved, the item at fault first
    message: str
    clauses: tuple[str, ...] = ()  # clause references (standard-slug:number), for clause rules
    deviation: str = ""  # label of the signed deviation that lowered the severity (DEV-3)

    @property
    def severity_label(self) -> str:
        """The severity as the report's columns show it: ``warning (deviation DEV-3)``."""
        return severity_label(self.severity, self.deviation)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "deviation": self.deviation or None,
            "items": list(self.items),
            "clauses": list(self.clauses),
            "message": self.message,
        }


def severity_label(severity: str, deviation: str = "") -> str:
    return f"{severity} (deviation {deviation})" if deviation else severity


@dataclass(frozen=True, slots=True)
class GapMark:
    """How a rule's findings mark one item: the worst severity, and the deviation(s) that set it."""

    severity: str
    deviation: str = ""

    @property
    def label(self) -> str:
        return severity_label(self.severity, self.deviation)


@dataclass
class GapReport:
    findings: list[Finding]
    severities: dict[str, str] = field(default_factory=dict)  # rule → severity used
    rule_deviations: dict[str, str] = field(default_factory=dict)  # rule → label of its whole-rule deviation
    deviations: list[DeviationInfo] = field(default_factory=list)  # in force (bound), in number order
    waived: list[Finding] = field(default_factory=list)  # findings a deviation lowered to off
    notes: list[str] = field(default_factory=list)  # overrides or deviations that were not applied

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == Severity.WARNING)

    @property
    def ready(self) -> bool:
        """No error-level gap."""
        return self.errors == 0

    def by_rule(self) -> list[dict[str, Any]]:
        """Count per rule (catalogue order; ``errors`` and ``warnings`` among them), with the
        severity in force (``deviation``: the label of the whole-rule deviation that set it), the
        findings that deviations of single items lowered (``item_deviations``: {item: "warning
        (deviation DEV-4)"}) and the findings a deviation switched off (``waived``); rules that
        found nothing are listed with zero."""
        counts = {rule.slug: 0 for rule in GAP_RULES}
        errors = {rule.slug: 0 for rule in GAP_RULES}
        waived = {rule.slug: 0 for rule in GAP_RULES}
        lowered: dict[str, dict[str, str]] = {rule.slug: {} for rule in GAP_RULES}
        for finding in self.findings:
            counts[finding.rule] += 1
            if finding.severity == Severity.ERROR:
                errors[finding.rule] += 1
        for finding in self.waived:
            waived[finding.rule] += 1
        for finding in (*self.findings, *self.waived):
            if finding.deviation and finding.deviation != self.rule_deviations.get(finding.rule):
                lowered[finding.rule][finding.items[0]] = finding.severity_label
        return [
            {
                "rule": rule.slug,
                "title": rule.title,
                "severity": self.severities.get(rule.slug, ""),
                "deviation": self.rule_deviations.get(rule.slug),
                "count": counts[rule.slug],
                "errors": errors[rule.slug],
                "warnings": counts[rule.slug] - errors[rule.slug],
                "waived": waived[rule.slug],
                "item_deviations": lowered[rule.slug],
            }
            for rule in GAP_RULES
        ]

    def by_item(self) -> dict[str, list[str]]:
        """Rule slugs of the findings that name each item."""
        named: dict[str, set[str]] = {}
        for finding in self.findings:
            for key in finding.items:
                named.setdefault(key, set()).add(finding.rule)
        return {key: sorted(rules) for key, rules in named.items()}

    def marks_of(self, key: str) -> dict[str, GapMark]:
        """rule → how its findings mark the item: the worst severity among the findings naming it,
        with the deviation label when every such finding was set by a deviation."""
        marks = self._marks.get(key)
        return marks if marks is not None else {}

    @cached_property
    def _marks(self) -> dict[str, dict[str, GapMark]]:
        worst: dict[tuple[str, str], tuple[int, set[str], bool]] = {}
        for finding in self.findings:
            rank = SEVERITY_RANK[finding.severity]
            for key in finding.items:
                current = worst.get((key, finding.rule))
                if current is None or rank > current[0]:
                    current = (rank, set(), True)
                elif rank < current[0]:
                    continue
                labels, all_deviated = current[1], current[2] and bool(finding.deviation)
                if finding.deviation:
                    labels.add(finding.deviation)
                worst[(key, finding.rule)] = (rank, labels, all_deviated)
        names = {rank: severity for severity, rank in SEVERITY_RANK.items()}
        marks: dict[str, dict[str, GapMark]] = {}
        for (key, rule), (rank, labels, all_deviated) in worst.items():
            deviation = ", ".join(sorted(labels)) if all_deviated else ""
            marks.setdefault(key, {})[rule] = GapMark(names[rank], deviation)
        return marks

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "errors": self.errors,
            "warnings": self.warnings,
            "by_rule": self.by_rule(),
            "deviations": [deviation.as_dict() for deviation in self.deviations],
            "notes": list(self.notes),
            "findings": [finding.as_dict() for finding in self.findings],
        }
