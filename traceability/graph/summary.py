"""The matrix of a graph with its coverage figures, and the builders that assemble rows,
risk trace, gaps and coverage in one pass (one ``Verifier`` shared by all)."""

from dataclasses import dataclass
from typing import Any

from traceability.graph.gaps import GapReport, gaps_find
from traceability.graph.matrix import (
    DEFAULT_ROOT_KIND,
    FAILED,
    MATRIX_COLUMNS,
    NOT_APPLICABLE,
    NOT_VERIFIED,
    SUSPECT,
    VERIFIED,
    MatrixRow,
    Verifier,
    matrix_rows,
)
from traceability.graph.model import FAIL, PASS, ProductInfo, ReleaseInfo, TraceGraph, without_gc
from traceability.graph.risk import RISK_ACCEPTABLE, RISK_CONTROLLED, RISK_NOT_CONTROLLED, risk_trace_rows
from traceability.kinds import ItemKind


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Coverage:
    requirements: int = 0
    requirements_verified: int = 0  # verified or not applicable with a justification
    requirements_not_applicable: int = 0
    requirements_failed: int = 0
    requirements_suspect: int = 0
    requirements_not_verified: int = 0
    requirements_traced: int = 0  # with at least one verifying test or a justification
    risks: int = 0
    risks_controlled: int = 0  # acceptable without control, or with at least one control
    risks_controlled_and_verified: int = 0  # and every control verified, residual risk acceptable
    tests: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    tests_without_result: int = 0

    @property
    def share_requirements_verified(self) -> float | None:
        return _share(self.requirements_verified, self.requirements)

    @property
    def share_risks_controlled(self) -> float | None:
        return _share(self.risks_controlled, self.risks)

    @property
    def share_risks_controlled_and_verified(self) -> float | None:
        return _share(self.risks_controlled_and_verified, self.risks)

    @property
    def share_tests_passed(self) -> float | None:
        return _share(self.tests_passed, self.tests)

    @property
    def trace_score(self) -> float | None:
        """Mean of the shares of requirements verified, risks controlled and verified, and tests
        passed (a share without anything to count is left out)."""
        shares = [
            share
            for share in (
                self.share_requirements_verified,
                self.share_risks_controlled_and_verified,
                self.share_tests_passed,
            )
            if share is not None
        ]
        return round(sum(shares) / len(shares), 4) if shares else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "requirements": self.requirements,
            "requirements_verified": self.requirements_verified,
            "requirements_not_applicable": self.requirements_not_applicable,
            "requirements_failed": self.requirements_failed,
            "requirements_suspect": self.requirements_suspect,
            "requirements_not_verified": self.requirements_not_verified,
            "requirements_traced": self.requirements_traced,
            "risks": self.risks,
            "risks_controlled": self.risks_controlled,
            "risks_controlled_and_verified": self.risks_controlled_and_verified,
            "tests": self.tests,
            "tests_passed": self.tests_passed,
            "tests_failed": self.tests_failed,
            "tests_without_result": self.tests_without_result,
            "share_requirements_verified": self.share_requirements_verified,
            "share_risks_controlled": self.share_risks_controlled,
            "share_risks_controlled_and_verified": self.share_risks_controlled_and_verified,
            "share_tests_passed": self.share_tests_passed,
            "trace_score": self.trace_score,
        }


def coverage_of(graph: TraceGraph, rows: list[MatrixRow], risk_statuses: list[str]) -> Coverage:
    """Coverage figures of a matrix's rows, the risks' statuses (``risk_trace_rows``) and the tests."""
    coverage = Coverage(requirements=len(rows))
    for row in rows:
        if row.status in (VERIFIED, NOT_APPLICABLE):
            coverage.requirements_verified += 1
        if row.status == NOT_APPLICABLE:
            coverage.requirements_not_applicable += 1
        elif row.status == FAILED:
            coverage.requirements_failed += 1
        elif row.status == SUSPECT:
            coverage.requirements_suspect += 1
        elif row.status == NOT_VERIFIED:
            coverage.requirements_not_verified += 1
        if row.tests or row.justification:
            coverage.requirements_traced += 1
    coverage.risks = len(risk_statuses)
    coverage.risks_controlled = sum(1 for status in risk_statuses if status != RISK_NOT_CONTROLLED)
    coverage.risks_controlled_and_verified = sum(
        1 for status in risk_statuses if status in (RISK_ACCEPTABLE, RISK_CONTROLLED)
    )
    for test in graph.of_kind(ItemKind.TEST_CASE):
        coverage.tests += 1
        result = graph.results.get(test.key)
        verdict = result.verdict if result else None
        if verdict == PASS:
            coverage.tests_passed += 1
        elif verdict == FAIL:
            coverage.tests_failed += 1
        else:
            coverage.tests_without_result += 1
    return coverage


@dataclass
class Matrix:
    """The traceability matrix of one graph (a release's baseline, or live data)."""

    product: ProductInfo
    release: ReleaseInfo | None
    source: str  # "live" or "baseline"
    root_kind: str
    rows: list[MatrixRow]
    coverage: Coverage
    gaps: GapReport | None = None

    @property
    def frozen(self) -> bool:
        return self.source == "baseline"

    def header(self) -> dict[str, Any]:
        release = self.release
        return {
            "product": self.product.key,
            "release": release.version if release else None,
            "state": release.state if release else None,
            "frozen": self.frozen,
            "baseline_sha256": release.baseline_sha256 if release and self.frozen else None,
            "taken_at": release.taken_at if release and self.frozen else None,
            "root_kind": self.root_kind,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.header(),
            "columns": list(MATRIX_COLUMNS),
            "coverage": self.coverage.as_dict(),
            "rows": [row.as_dict() for row in self.rows],
        }


@without_gc
def matrix_build(graph: TraceGraph, *, root_kind: str = DEFAULT_ROOT_KIND, with_gaps: bool = True) -> Matrix:
    """Rows, coverage and (unless ``with_gaps`` is false) the gap report, sharing one verifier."""
    verifier = Verifier(graph)
    risks = risk_trace_rows(graph, verifier=verifier)
    gaps = gaps_find(graph, verifier=verifier, risks=risks) if with_gaps else None
    rows = matrix_rows(graph, root_kind=root_kind, gaps=gaps.by_item() if gaps else None, verifier=verifier)
    return Matrix(
        product=graph.product,
        release=graph.release,
        source=graph.source,
        root_kind=root_kind,
        rows=rows,
        coverage=coverage_of(graph, rows, [risk.status for risk in risks]),
        gaps=gaps,
    )
