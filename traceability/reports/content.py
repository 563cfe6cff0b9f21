"""What a trace report says, computed from the trace engine: pure functions of a ``TraceGraph``
(the release's baseline, or live data for a draft preview), the previous release's baseline and
the signatures over this one. Nothing here reads the database or the clock, so the same inputs
give the same report.

What a stored report is filed under (``ReportIdentity``, ``SignatureEntry``) lives in
``traceability.reports.identity``.
"""

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from traceability.graph.diff import BaselineDiff, graph_diff
from traceability.graph.gaps import GapReport, gaps_find
from traceability.graph.matrix import (
    FAILED,
    NOT_VERIFIED,
    SUSPECT,
    VERIFIED,
    MatrixRow,
    ReverseRow,
    Verifier,
    matrix_rows,
    reverse_rows,
)
from traceability.graph.model import DeviationInfo, TraceGraph
from traceability.graph.risk import RiskRow, risk_trace_rows
from traceability.graph.summary import Coverage, coverage_of
from traceability.kinds import ItemKind, LinkType
from traceability.reports.identity import SignatureEntry


@dataclass(slots=True)
class SoupRow:
    key: str
    title: str
    item_status: str
    version: str
    supplier: str
    licence: str
    risk_level: str
    language: str
    website: str
    used_by: list[str]
    risks: list[str]
    gaps: list[str]


@dataclass(slots=True)
class AnomalyRow:
    key: str
    title: str
    text: str
    item_status: str
    state: str
    found_in: str
    evaluation: str
    proposed_correction: str
    justification_for_delay: str
    affects: list[str]
    resolved_by: list[str]
    gaps: list[str]

    @property
    def is_residual(self) -> bool:
        """Still present in the release (not resolved)."""
        return self.state != "resolved"


@dataclass(slots=True)
class ClauseRow:
    ref: str
    standard: str
    number: str
    title: str
    is_heading: bool
    evidence: list[tuple[str, str]] = field(default_factory=list)  # (key, title) of non-obsolete items

    @property
    def depth(self) -> int:
        return self.number.count(".")


class ReportContent:
    """Everything the report shows for one graph, computed on first use (one shared ``Verifier``)."""

    def __init__(
        self,
        graph: TraceGraph,
        *,
        signatures: tuple[SignatureEntry, ...] = (),
        previous: TraceGraph | None = None,
        previous_version: str = "",
        release_state: str | None = None,
        withdrawn_reason: str = "",
        generated_at: str | None = None,
    ) -> None:
        if graph.release is None:
            raise ValueError("a report is about a release")
        self.graph = graph
        self.product = graph.product
        self.release = graph.release
        self.frozen = graph.is_frozen
        self.signatures = tuple(signature for signature in signatures if signature.record_hash == self.baseline_sha256)
        self.previous = previous
        self.previous_version = previous_version
        self.release_state = release_state or self.release.state
        self.withdrawn_reason = withdrawn_reason
        self.generated_at = self.release.taken_at if self.frozen else generated_at

    # --- identity ------------------------------------------------------------------------------

    @property
    def baseline_sha256(self) -> str:
        return self.release.baseline_sha256 if self.frozen else ""

    @property
    def taken_at(self) -> str | None:
        return self.release.taken_at if self.frozen else None

    @property
    def approvals(self) -> list[SignatureEntry]:
        """The release approval's signature (the one its approval record names), if any."""
        return [signature for signature in self.signatures if signature.release_approval]

    @property
    def approved(self) -> bool:
        """Derived from the approval record and the state, never from a signature's meaning."""
        return self.frozen and self.release_state in ("approved", "released") and bool(self.approvals)

    @property
    def withdrawn(self) -> bool:
        return self.release_state == "withdrawn"

    @property
    def document_id(self) -> str:
        suffix = self.baseline_sha256[:8] if self.frozen else "DRAFT"
        return f"TR-{self.product.key}-{self.release.version}-{suffix}"

    @property
    def revision(self) -> int:
        """0 when generated from the baseline, +1 per signature over it."""
        return len(self.signatures)

    @property
    def report_date(self) -> str | None:
        """The moment of the last event the report records: the baseline, or the last signature."""
        moments = [moment for moment in (self.generated_at, *(s.signed_at for s in self.signatures)) if moment]
        return max(moments) if moments else None

    @property
    def safety_class(self) -> str:
        return self.product.safety_class or "unassigned (class C rules apply)"

    # --- the engine's tables -----------------------------------------------------------------

    @cached_property
    def verifier(self) -> Verifier:
        return Verifier(self.graph)

    @cached_property
    def risks(self) -> list[RiskRow]:
        return risk_trace_rows(self.graph, verifier=self.verifier)

    @cached_property
    def gaps(self) -> GapReport:
        return gaps_find(self.graph, verifier=self.verifier, risks=self.risks)

    @property
    def deviations(self) -> list[DeviationInfo]:
        """The signed deviations in force (from the baseline when frozen), in number order."""
        return self.gaps.deviations

    @cached_property
    def gaps_by_item(self) -> dict[str, list[str]]:
        return self.gaps.by_item()

    @cached_property
    def matrix(self) -> list[MatrixRow]:
        """Software requirements (the engine's default matrix)."""
        return matrix_rows(
            self.graph, root_kind=ItemKind.SOFTWARE_REQUIREMENT, gaps=self.gaps_by_item, verifier=self.verifier
        )

    @cached_property
    def system_matrix(self) -> list[MatrixRow]:
        """System requirements. One without a test or justification of its own is verified through
        the requirements derived from it (as the gap rule ``requirement_without_verification``
        judges it), not reported as unverified."""
        rows = matrix_rows(
            self.graph, root_kind=ItemKind.SYSTEM_REQUIREMENT, gaps=self.gaps_by_item, verifier=self.verifier
        )
        for row in rows:
            if row.tests or row.justification or row.status in (FAILED, SUSPECT):
                continue
            derived = self.derived_from(row.key)
            if derived:
                row.status, row.reason = self._through_derived(row.key, set())
        return rows

    def derived_from(self, key: str) -> list[str]:
        """Requirements (non-obsolete) that derive from this one."""
        graph = self.graph
        return graph.ordered(
            source
            for source in graph.sources(key, LinkType.DERIVES_FROM)
            if graph.items[source].kind in (ItemKind.SYSTEM_REQUIREMENT, ItemKind.SOFTWARE_REQUIREMENT)
        )

    def _through_derived(self, key: str, seen: set[str]) -> tuple[str, str]:
        verification = self.verifier.of(key)
        derived = self.derived_from(key)
        if verification.tests or verification.justification or not derived or key in seen:
            return verification.status, verification.reason
        seen.add(key)
        statuses = {child: self._through_derived(child, seen)[0] for child in derived}
        for status in (FAILED, SUSPECT, NOT_VERIFIED):
            named = [child for child, child_status in statuses.items() if child_status == status]
            if named:
                return status, f"derived requirement {status.replace('_', ' ')}: {', '.join(named)}"
        return VERIFIED, f"verified through {', '.join(derived)}"

    @cached_property
    def coverage(self) -> Coverage:
        return coverage_of(self.graph, self.matrix, [risk.status for risk in self.risks])

    @cached_property
    def reverse(self) -> list[ReverseRow]:
        return reverse_rows(self.graph)

    @cached_property
    def diff(self) -> BaselineDiff | None:
        return graph_diff(self.previous, self.graph) if self.previous is not None else None

    @cached_property
    def _clause_labels(self) -> dict[str, str]:
        return {clause.ref: f"{clause.standard.split(':')[0]} {clause.number}" for clause in self.graph.clauses}

    def clause_label(self, ref: str) -> str:
        """``iec-62304-2015:5.2.1`` → ``IEC 62304 5.2.1`` (the reference itself for a clause that
        does not apply to the product's class)."""
        return self._clause_labels.get(ref, ref)

    def text_of(self, key: str) -> str:
        item = self.graph.items.get(key)
        return item.text if item is not None else ""

    def title_of(self, key: str) -> str:
        item = self.graph.items.get(key)
        return item.title if item is not None else ""

    # --- lists ---------------------------------------------------------------------------------

    @cached_property
    def soup(self) -> list[SoupRow]:
        graph, gaps = self.graph, self.gaps_by_item
        rows = []
        for item in graph.of_kind(ItemKind.SOUP):
            rows.append(
                SoupRow(
                    key=item.key,
                    title=item.title,
                    item_status=item.status,
                    version=str(item.attr("version") or ""),
                    supplier=str(item.attr("supplier") or ""),
                    licence=str(item.attr("licence") or ""),
                    risk_level=str(item.attr("risk_level") or ""),
                    language=str(item.attr("language") or ""),
                    website=str(item.attr("website") or ""),
                    used_by=graph.ordered(graph.sources(item.key, LinkType.USES)),
                    risks=graph.ordered(graph.targets(item.key, LinkType.CONTRIBUTES_TO)),
                    gaps=gaps.get(item.key, []),
                )
            )
        return rows

    @cached_property
    def anomalies(self) -> list[AnomalyRow]:
        graph, gaps = self.graph, self.gaps_by_item
        rows = []
        for item in graph.of_kind(ItemKind.ANOMALY):
            rows.append(
                AnomalyRow(
                    key=item.key,
                    title=item.title,
                    text=item.text,
                    item_status=item.status,
                    state=str(item.attr("state") or ""),
                    found_in=str(item.attr("found_in") or ""),
                    evaluation=str(item.attr("evaluation") or ""),
                    proposed_correction=str(item.attr("proposed_correction") or ""),
                    justification_for_delay=str(item.attr("justification_for_delay") or ""),
                    affects=graph.ordered(graph.targets(item.key, LinkType.AFFECTS)),
                    resolved_by=graph.ordered(graph.sources(item.key, LinkType.RESOLVES)),
                    gaps=gaps.get(item.key, []),
                )
            )
        return rows

    @cached_property
    def clauses(self) -> list[ClauseRow]:
        """Every clause of the product's standards that applies to its class, in document order,
        with the non-obsolete items that are evidence for it."""
        graph = self.graph
        evidence: dict[str, list[str]] = {}
        for key, refs in graph.clause_links.items():
            if graph.active(key):
                for ref in refs:
                    evidence.setdefault(ref, []).append(key)
        rows = []
        for clause in graph.clauses:
            keys = graph.ordered(evidence.get(clause.ref, ()))
            rows.append(
                ClauseRow(
                    ref=clause.ref,
                    standard=clause.standard,
                    number=clause.number,
                    title=clause.title,
                    is_heading=clause.is_heading,
                    evidence=[(key, graph.items[key].title) for key in keys],
                )
            )
        return rows

    def clause_standards(self) -> list[tuple[str, list[ClauseRow]]]:
        """Clause rows grouped by standard, in catalogue order."""
        groups: dict[str, list[ClauseRow]] = {}
        for row in self.clauses:
            groups.setdefault(row.standard, []).append(row)
        return list(groups.items())

    def risk_cells(self, which: str) -> Counter[tuple[int, int]]:
        """Risks per (severity, probability) cell, ``initial`` or ``residual``; values outside the
        matrix are not counted (the risk trace lists them)."""
        cells: Counter[tuple[int, int]] = Counter()
        for risk in self.risks:
            level = risk.initial if which == "initial" else risk.residual
            if level.acceptable is not None and level.severity and level.probability:
                cells[(level.severity, level.probability)] += 1
        return cells
