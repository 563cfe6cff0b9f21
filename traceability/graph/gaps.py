"""The gap checks: every rule of ``traceability.gap_rules``, run on a ``TraceGraph``.

A rule's severity comes from the product's safety class (unassigned → C) unless the product
overrides it (``Product.gap_rules``; an override that lowers a protected rule is ignored and
noted); rules set to ``off`` are not run. Obsolete items never produce findings and never count
as a parent, a verification or evidence.

Signed deviations in force (``TraceGraph.deviations``) then lower what they cover: a deviation
of the whole rule lowers every finding of it, a deviation of one item the finding whose item at
fault (its first item) is that item. The finding keeps the deviation's label (``DEV-3``); a
finding lowered to ``off`` is not counted but kept in ``GapReport.waived``.
"""

from collections.abc import Callable, Iterator
from typing import Any

from traceability.gap_rules import (
    GAP_RULES,
    SEVERITY_RANK,
    Severity,
    effective_class,
    lowering_overrides,
    rule_severities,
)
from traceability.graph.findings import Finding, GapReport
from traceability.graph.model import FAIL, PASS, DeviationInfo, TraceGraph, TraceLink, without_gc
from traceability.graph.risk import RiskLevel, RiskRow, risk_trace_rows
from traceability.graph.verification import (
    NO_TEST_NOR_REQUIREMENT,
    NOT_APPLICABLE,
    NOT_VERIFIED,
    VERIFIED,
    Verifier,
)
from traceability.kinds import ItemKind, ItemStatus, LinkType

REQUIREMENT_KINDS = (ItemKind.SYSTEM_REQUIREMENT, ItemKind.SOFTWARE_REQUIREMENT)


def _level(level: RiskLevel) -> str:
    return f"{level.severity_name or level.severity}/{level.probability_name or level.probability}"


def suspect_links_of(graph: TraceGraph) -> list[TraceLink]:
    """Suspect links between non-obsolete items, in natural order."""
    return sorted(
        (link for link in graph.active_links() if link.suspect),
        key=lambda link: (graph.sort_key(link.source), link.link_type, graph.sort_key(link.target)),
    )


Hit = tuple[tuple[str, ...], str, tuple[str, ...]]  # items, message, clauses


class _Checks:
    def __init__(self, graph: TraceGraph, verifier: Verifier, risks: list[RiskRow]) -> None:
        self.graph = graph
        self.verifier = verifier
        self.risks = risks
        release = graph.release
        self.in_release = f"release {release.version}" if release else "the latest runs"

    def active(self, kind: str) -> list[Any]:
        return self.graph.of_kind(kind)

    def requirement_without_parent(self) -> Iterator[Hit]:
        graph = self.graph
        for kind in REQUIREMENT_KINDS:
            for item in self.active(kind):
                if graph.targets(item.key, LinkType.DERIVES_FROM) or item.attr("derived_rationale"):
                    continue
                if kind == ItemKind.SOFTWARE_REQUIREMENT and any(
                    graph.items[k].kind == ItemKind.RISK_CONTROL for k in graph.targets(item.key, LinkType.IMPLEMENTS)
                ):
                    continue
                if kind == ItemKind.SOFTWARE_REQUIREMENT:
                    message = (
                        f"{item.key} derives from no requirement, implements no risk control "
                        "and has no derived_rationale"
                    )
                else:
                    message = f"{item.key} derives from no user need or system requirement and has no derived_rationale"
                yield (item.key,), message, ()

    def requirement_without_verification(self) -> Iterator[Hit]:
        """A requirement whose matrix status is ``not_verified``: no verifying test and no
        rationale, or a verifying test without a passing result in this release (a failing or
        suspect one is ``test_failed`` / ``suspect_link``)."""
        graph = self.graph
        verifier = self.verifier
        for kind in REQUIREMENT_KINDS:
            for item in self.active(kind):
                key = item.key
                if (
                    kind == ItemKind.SYSTEM_REQUIREMENT
                    and not graph.sources(key, LinkType.VERIFIES)
                    and graph.sources(key, LinkType.DERIVES_FROM)
                ):
                    continue  # verified through the requirements derived from it
                verification = verifier.of(key)
                if verification.status != NOT_VERIFIED:
                    continue
                if not verification.tests:
                    yield (key,), f"no test verifies {key} and it has no verification_rationale", ()
                    continue
                missing = [test for test in verification.tests if test.verdict != PASS]
                listed = ", ".join(f"{test.key} ({test.result or 'no result'})" for test in missing)
                yield (
                    (key, *(test.key for test in missing)),
                    f"{key} has no passing result in {self.in_release}: {listed}",
                    (),
                )

    def requirement_without_architecture(self) -> Iterator[Hit]:
        graph = self.graph
        for item in self.active(ItemKind.SOFTWARE_REQUIREMENT):
            if not any(
                graph.items[k].kind == ItemKind.SOFTWARE_ITEM for k in graph.sources(item.key, LinkType.IMPLEMENTS)
            ):
                yield (item.key,), f"no software item implements {item.key}", ()

    def software_item_without_design(self) -> Iterator[Hit]:
        graph = self.graph
        for item in self.active(ItemKind.SOFTWARE_ITEM):
            if graph.sources(item.key, LinkType.PART_OF):
                continue  # not a unit: its parts carry the detailed design
            if not item.text.strip():
                yield (item.key,), f"software unit {item.key} has no detailed design description (empty text)", ()

    def test_without_requirement(self) -> Iterator[Hit]:
        graph = self.graph
        for item in self.active(ItemKind.TEST_CASE):
            if not graph.targets(item.key, LinkType.VERIFIES) and not graph.targets(item.key, LinkType.VALIDATES):
                yield (item.key,), f"{item.key} verifies and validates nothing", ()

    def test_without_result(self) -> Iterator[Hit]:
        graph = self.graph
        for item in self.active(ItemKind.TEST_CASE):
            result = graph.results.get(item.key)
            if result is None:
                yield (item.key,), f"{item.key} has no result in {self.in_release}", ()
            elif result.verdict is None:
                yield (item.key,), f"{item.key} was {result.status} in {self.in_release}", ()

    def test_failed(self) -> Iterator[Hit]:
        graph = self.graph
        for item in self.active(ItemKind.TEST_CASE):
            result = graph.results.get(item.key)
            if result is not None and result.verdict == FAIL:
                verified = graph.ordered(
                    graph.targets(item.key, LinkType.VERIFIES) + graph.targets(item.key, LinkType.VALIDATES)
                )
                where = f" (run {result.run_name or result.run_id}, {result.run_version or result.run_commit_sha})"
                yield (item.key, *verified), f"{item.key} {result.status} in {self.in_release}{where}", ()

    def risk_not_controlled(self) -> Iterator[Hit]:
        for row in self.risks:
            if not row.controls and not row.initial.acceptable:
                level = _level(row.initial)
                yield (row.key,), f"{row.key} has an unacceptable initial risk ({level}) and no risk control", ()

    def risk_control_not_verified(self) -> Iterator[Hit]:
        """A risk control that the risk trace does not count as verified: a verifying test of its
        own, or of a software requirement implementing it, must pass in this release (or the
        control is not applicable, with a ``verification_rationale``)."""
        for item in self.active(ItemKind.RISK_CONTROL):
            verification = self.verifier.of(item.key)
            if verification.status in (VERIFIED, NOT_APPLICABLE):
                continue
            if verification.reason == NO_TEST_NOR_REQUIREMENT:
                message = f"no test verifies risk control {item.key} (nor a requirement implementing it)"
            else:
                message = f"risk control {item.key} is not verified in {self.in_release}: {verification.reason}"
            yield (item.key,), message, ()

    def residual_risk_unacceptable(self) -> Iterator[Hit]:
        for row in self.risks:
            if not row.residual.acceptable:
                level = _level(row.residual)
                yield (row.key,), f"{row.key} has an unacceptable residual risk ({level})", ()

    def suspect_link(self) -> Iterator[Hit]:
        graph = self.graph
        for link in suspect_links_of(graph):
            now = graph.items[link.target].revision
            yield (
                (link.source, link.target),
                f"{link.label}: {link.target} changed since the link was reviewed "
                f"(revision {link.target_revision} reviewed, now {now})",
                (),
            )

    def soup_without_version(self) -> Iterator[Hit]:
        for item in self.active(ItemKind.SOUP):
            if not item.attr("version"):
                yield (item.key,), f"SOUP item {item.key} has no version", ()

    def anomaly_not_evaluated(self) -> Iterator[Hit]:
        for item in self.active(ItemKind.ANOMALY):
            if not item.attr("evaluation"):
                yield (item.key,), f"anomaly {item.key} has no evaluation", ()

    def item_not_approved(self) -> Iterator[Hit]:
        graph = self.graph
        keys = graph.ordered(key for key in graph.active_keys if graph.items[key].status != ItemStatus.APPROVED)
        for item in (graph.items[key] for key in keys):
            yield (item.key,), f"{item.key} is {item.status}, not approved", ()

    def clause_without_evidence(self) -> Iterator[Hit]:
        graph = self.graph
        evidenced = {ref for key, refs in graph.clause_links.items() if graph.active(key) for ref in refs}
        for clause in graph.clauses:
            if not clause.is_heading and clause.ref not in evidenced:
                yield (), f"{clause.standard} {clause.number} ({clause.title}) has no evidence", (clause.ref,)


def _lower(severity: str, deviation: DeviationInfo | None) -> tuple[str, DeviationInfo | None]:
    """The severity a deviation lowers to, and the deviation when it lowers anything."""
    if deviation is None or SEVERITY_RANK[deviation.severity] >= SEVERITY_RANK[severity]:
        return severity, None
    return deviation.severity, deviation


def _notes(graph: TraceGraph) -> list[str]:
    product = graph.product
    klass = effective_class(product.safety_class)
    notes = [
        f"gap_rules override {slug} → {severity} is ignored: on a class {klass} product a protected rule is "
        "lowered only by a signed deviation"
        for slug, severity in sorted(lowering_overrides(product.gap_rules, klass).items())
    ]
    notes += [
        f"{deviation.label} ({deviation.rule}, {deviation.scope}) is not applied: its content no longer matches "
        "the SHA-256 its signature was applied over"
        for deviation in graph.deviations
        if not deviation.bound
    ]
    return notes


@without_gc
def gaps_find(graph: TraceGraph, *, verifier: Verifier | None = None, risks: list[RiskRow] | None = None) -> GapReport:
    """Run every gap rule that is not off for the product, then apply the signed deviations in
    force; findings in catalogue order."""
    verifier = verifier or Verifier(graph)
    if risks is None:
        risks = risk_trace_rows(graph, verifier=verifier)
    severities = {
        slug: str(severity)
        for slug, severity in rule_severities(
            safety_class=graph.product.effective_safety_class, overrides=graph.product.gap_rules
        ).items()
    }
    deviations = [deviation for deviation in graph.deviations if deviation.bound]
    whole_rule = {deviation.rule: deviation for deviation in deviations if not deviation.item}
    one_item: dict[str, dict[str, DeviationInfo]] = {}
    for deviation in deviations:
        if deviation.item:
            one_item.setdefault(deviation.rule, {})[deviation.item] = deviation
    checks = _Checks(graph, verifier, risks)
    findings: list[Finding] = []
    waived: list[Finding] = []
    in_force: dict[str, str] = {}
    rule_deviations: dict[str, str] = {}
    for rule in GAP_RULES:
        base = severities[rule.slug]
        severity, rule_deviation = _lower(base, whole_rule.get(rule.slug))
        in_force[rule.slug] = severity
        label = rule_deviation.label if rule_deviation is not None else ""
        if label:
            rule_deviations[rule.slug] = label
        if base == Severity.OFF:
            continue
        check: Callable[[], Iterator[Hit]] = getattr(checks, rule.slug)
        by_item = one_item.get(rule.slug)
        target = waived if severity == Severity.OFF else findings
        for items, message, clauses in check():
            if by_item and items and items[0] in by_item:
                lowered, applied = _lower(base, by_item[items[0]])
                if applied is not None and SEVERITY_RANK[lowered] <= SEVERITY_RANK[severity]:
                    finding = Finding(rule.slug, lowered, items, message, clauses, applied.label)
                    (waived if lowered == Severity.OFF else findings).append(finding)
                    continue
            target.append(Finding(rule.slug, severity, items, message, clauses, label))
    return GapReport(
        findings=findings,
        severities=in_force,
        rule_deviations=rule_deviations,
        deviations=deviations,
        waived=waived,
        notes=_notes(graph),
    )
