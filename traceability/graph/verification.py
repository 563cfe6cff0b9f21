"""Verification status of an item in a graph: its verifying tests with their results for the
release, its suspect trace links, and the status that follows (see ``traceability.graph.matrix``).
"""

from dataclasses import dataclass
from typing import Any

from traceability.graph.model import FAIL, PASS, TraceGraph
from traceability.kinds import ItemKind, LinkType

VERIFIED = "verified"
NOT_VERIFIED = "not_verified"
FAILED = "failed"
SUSPECT = "suspect"
NOT_APPLICABLE = "not_applicable"
ROW_STATUSES = (VERIFIED, NOT_VERIFIED, FAILED, SUSPECT, NOT_APPLICABLE)

NO_TEST_NOR_REQUIREMENT = "no verifying test and no implementing requirement"  # reason of a bare risk control

IMPLEMENTS, VERIFIES = LinkType.IMPLEMENTS.value, LinkType.VERIFIES.value

# Links whose suspect flag makes a row suspect.
TRACE_LINK_TYPES = frozenset({LinkType.DERIVES_FROM, LinkType.IMPLEMENTS, LinkType.VERIFIES, LinkType.VALIDATES})


@dataclass(slots=True)
class TestCell:
    """A verifying test of a row and the result that counts for this release."""

    __test__ = False  # not a pytest test class

    key: str
    title: str
    result: str | None  # status of the latest result, None when the test has none
    verdict: str | None  # "pass", "fail" or None (no result; skipped counts as none)
    run_version: str
    run_at: str
    suspect: bool  # the test's verifies link is suspect

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "result": self.result,
            "verdict": self.verdict,
            "run_version": self.run_version,
            "run_at": self.run_at,
            "suspect": self.suspect,
        }


@dataclass(slots=True)
class Verification:
    status: str
    reason: str
    justification: str
    tests: list[TestCell]
    suspect_links: list[str]


class Verifier:
    """Verification status of items in a graph, computed once per item."""

    def __init__(self, graph: TraceGraph) -> None:
        self.graph = graph
        self._cache: dict[str, Verification] = {}

    def tests_of(self, key: str) -> list[TestCell]:
        graph = self.graph
        items, results, active = graph.items, graph.results, graph.active_keys
        cells = []
        for link in graph.in_links.get(key, ()):
            if link.link_type != VERIFIES or link.source not in active:
                continue
            test = items[link.source]
            result = results.get(test.key)
            if result is None:
                cells.append(TestCell(test.key, test.title, None, None, "", "", link.suspect))
            else:
                cells.append(
                    TestCell(
                        test.key,
                        test.title,
                        result.status,
                        result.verdict,
                        result.run_version,
                        result.run_at,
                        link.suspect,
                    )
                )
        if len(cells) > 1:
            cells.sort(key=lambda cell: graph.sort_key(cell.key))
        return cells

    def suspect_links_of(self, key: str) -> list[str]:
        graph = self.graph
        if key not in graph.suspect_keys:
            return []
        active = graph.active_keys
        labels = [
            link.label
            for links in (graph.out_links.get(key, ()), graph.in_links.get(key, ()))
            for link in links
            if link.suspect and link.link_type in TRACE_LINK_TYPES and link.source in active and link.target in active
        ]
        labels.sort()
        return labels

    def of(self, key: str) -> Verification:
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._compute(key)
        return cached

    def _compute(self, key: str) -> Verification:
        item = self.graph.items[key]
        tests = self.tests_of(key)
        suspect = self.suspect_links_of(key)
        rationale = str(item.attr("verification_rationale") or "")
        failing = [test.key for test in tests if test.verdict == FAIL]
        if failing:
            return Verification(FAILED, f"failed: {', '.join(failing)}", "", tests, suspect)
        if suspect:
            return Verification(SUSPECT, f"suspect: {'; '.join(suspect)}", "", tests, suspect)
        if not tests:
            if item.kind == ItemKind.RISK_CONTROL:
                return self._through_implementations(key, rationale, suspect)
            if rationale:
                return Verification(NOT_APPLICABLE, "not applicable", rationale, tests, suspect)
            return Verification(NOT_VERIFIED, "no verifying test", "", tests, suspect)
        missing = [test.key for test in tests if test.verdict != PASS]
        if missing:
            return Verification(NOT_VERIFIED, f"no result in this release: {', '.join(missing)}", "", tests, suspect)
        return Verification(VERIFIED, f"passed: {', '.join(test.key for test in tests)}", "", tests, suspect)

    def _through_implementations(self, key: str, rationale: str, suspect: list[str]) -> Verification:
        """A risk control without a test of its own is verified through the software
        requirements that implement it."""
        graph = self.graph
        requirements = graph.ordered(
            k for k in graph.sources(key, IMPLEMENTS) if graph.items[k].kind == ItemKind.SOFTWARE_REQUIREMENT
        )
        if not requirements:
            if rationale:
                return Verification(NOT_APPLICABLE, "not applicable", rationale, [], suspect)
            return Verification(NOT_VERIFIED, NO_TEST_NOR_REQUIREMENT, "", [], suspect)
        statuses = {req: self.of(req).status for req in requirements}
        for status in (FAILED, SUSPECT, NOT_VERIFIED):
            named = [req for req, req_status in statuses.items() if req_status == status]
            if named:
                return Verification(status, f"implementing requirement {status}: {', '.join(named)}", "", [], suspect)
        return Verification(VERIFIED, f"verified through {', '.join(requirements)}", "", [], suspect)
