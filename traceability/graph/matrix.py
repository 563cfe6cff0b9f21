"""The traceability matrix and its reverse (tests → requirements).

Pure functions of a ``TraceGraph``: they never touch the database, so a live graph and a
frozen baseline give the same matrix for the same data. Obsolete items never appear: not as
rows, not in columns, and they never verify anything.

Row status, in order of precedence:

``failed``
    a verifying test's result for this release fails (failed, error);
``suspect``
    a trace link of the row (derives from, implements, verifies) is suspect;
``verified``
    at least one verifying test, and every verifying test has a passing result;
``not_applicable``
    no verifying test, and the item carries a ``verification_rationale`` (the justification);
``not_verified``
    otherwise (no test, or a test without a result in this release).

A risk control without a test of its own is verified through the software requirements that
implement it. The status is computed by ``traceability.graph.verification.Verifier``.
"""

from dataclasses import dataclass, field
from typing import Any

from traceability.graph.model import FAIL, PASS, TraceGraph, without_gc
from traceability.graph.verification import (
    FAILED,
    NOT_APPLICABLE,
    NOT_VERIFIED,
    ROW_STATUSES,
    SUSPECT,
    VERIFIED,
    TestCell,
    Verifier,
)
from traceability.kinds import ItemKind, LinkType

DERIVES_FROM, IMPLEMENTS, MITIGATES = LinkType.DERIVES_FROM.value, LinkType.IMPLEMENTS.value, LinkType.MITIGATES.value
VERIFIES, VALIDATES = LinkType.VERIFIES.value, LinkType.VALIDATES.value
USER_NEED, SYSTEM_REQUIREMENT = ItemKind.USER_NEED.value, ItemKind.SYSTEM_REQUIREMENT.value
RISK_CONTROL, SOFTWARE_ITEM = ItemKind.RISK_CONTROL.value, ItemKind.SOFTWARE_ITEM.value

MATRIX_COLUMNS = (
    "user_needs",
    "system_requirements",
    "parents",
    "risks",
    "risk_controls",
    "software_items",
    "tests",
    "commits",
    "clauses",
)
DEFAULT_ROOT_KIND = ItemKind.SOFTWARE_REQUIREMENT
ROOT_KINDS = (
    ItemKind.SOFTWARE_REQUIREMENT,
    ItemKind.SYSTEM_REQUIREMENT,
    ItemKind.USER_NEED,
    ItemKind.RISK_CONTROL,
    ItemKind.SOFTWARE_ITEM,
)


@dataclass(slots=True)
class MatrixRow:
    key: str
    kind: str
    title: str
    item_status: str
    revision: int
    status: str
    justification: str  # the verification rationale of a not_applicable row
    reason: str  # why the row has its status, in words
    user_needs: list[str]
    system_requirements: list[str]
    parents: list[str]  # direct derives_from targets
    risks: list[str]
    risk_controls: list[str]
    software_items: list[str]
    tests: list[TestCell]
    commits: list[str]
    clauses: list[str]
    suspect_links: list[str]
    gaps: list[str] = field(default_factory=list)  # rule slugs of findings naming this item

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "item_status": self.item_status,
            "revision": self.revision,
            "status": self.status,
            "justification": self.justification,
            "reason": self.reason,
            "user_needs": self.user_needs,
            "system_requirements": self.system_requirements,
            "parents": self.parents,
            "risks": self.risks,
            "risk_controls": self.risk_controls,
            "software_items": self.software_items,
            "tests": [test.key for test in self.tests],
            "test_results": {test.key: test.result for test in self.tests},
            "commits": self.commits,
            "clauses": self.clauses,
            "suspect_links": self.suspect_links,
            "gaps": self.gaps,
        }


@dataclass(slots=True)
class ReverseRow:
    """A test case and what it verifies (the reverse matrix)."""

    key: str
    title: str
    item_status: str
    level: str
    test_id: str
    status: str  # "passed", "failed" or "no_result"
    result: str | None
    run_version: str
    run_at: str
    verifies: list[str]
    validates: list[str]
    suspect_links: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "item_status": self.item_status,
            "level": self.level,
            "test_id": self.test_id,
            "status": self.status,
            "result": self.result,
            "run_version": self.run_version,
            "run_at": self.run_at,
            "verifies": self.verifies,
            "validates": self.validates,
            "suspect_links": self.suspect_links,
        }


# --- verification -----------------------------------------------------------------------------


# --- the matrix -------------------------------------------------------------------------------


Split = tuple[tuple[str, ...], tuple[str, ...]]  # (user needs, system requirements)


class _Upstream:
    """User needs and system requirements above an item through derives_from links
    (transitively), memoised per item, in natural key order."""

    def __init__(self, graph: TraceGraph) -> None:
        self.graph = graph
        self._closed: dict[str, Split] = {}
        self._busy: set[str] = set()

    def _closure(self, key: str) -> Split:
        """The item itself (when a user need or system requirement) and everything above it."""
        closed = self._closed.get(key)
        if closed is not None:
            return closed
        if key in self._busy:  # a cycle in corrupt data: stop here
            return ((), ())
        self._busy.add(key)
        above = self(key)
        kind = self.graph.items[key].kind
        if kind == USER_NEED:
            closed = (self._merge([above[0], (key,)]), above[1])
        elif kind == SYSTEM_REQUIREMENT:
            closed = (above[0], self._merge([above[1], (key,)]))
        else:
            closed = above
        self._busy.discard(key)
        self._closed[key] = closed
        return closed

    def _merge(self, parts: list[tuple[str, ...]]) -> tuple[str, ...]:
        parts = [part for part in parts if part]
        if not parts:
            return ()
        if len(parts) == 1:
            return parts[0]
        return tuple(self.graph.ordered({key for part in parts for key in part}))

    def __call__(self, key: str) -> Split:
        active = self.graph.active_keys
        parents = [
            link.target
            for link in self.graph.out_links.get(key, ())
            if link.link_type == DERIVES_FROM and link.target in active
        ]
        if not parents:
            return ((), ())
        if len(parents) == 1:
            return self._closure(parents[0])
        closures = [self._closure(parent) for parent in parents]
        return (self._merge([c[0] for c in closures]), self._merge([c[1] for c in closures]))


@without_gc
def matrix_rows(
    graph: TraceGraph,
    *,
    root_kind: str = DEFAULT_ROOT_KIND,
    gaps: dict[str, list[str]] | None = None,
    verifier: Verifier | None = None,
) -> list[MatrixRow]:
    """One row per non-obsolete item of ``root_kind``, in natural key order."""
    verifier = verifier or Verifier(graph)
    upstream = _Upstream(graph)
    items, active, sort_key = graph.items, graph.active_keys, graph.sort_key
    out_links, in_links, clause_links, commits_of = graph.out_links, graph.in_links, graph.clause_links, graph.commits
    gaps = gaps or {}
    rows = []
    for item in graph.of_kind(root_kind):
        key = item.key
        user_needs, system_requirements = upstream(key)
        parents: list[str] = []
        controls: list[str] = []
        risks: list[str] = []
        for link in out_links.get(key, ()):
            target = link.target
            if target not in active:
                continue
            link_type = link.link_type
            if link_type == DERIVES_FROM:
                parents.append(target)
            elif link_type == IMPLEMENTS and items[target].kind == RISK_CONTROL:
                controls.append(target)
            elif link_type == MITIGATES:
                risks.append(target)
        if controls:
            for control in controls:
                risks.extend(graph.targets(control, MITIGATES))
            risks = list(dict.fromkeys(risks))
        software_items = [
            link.source
            for link in in_links.get(key, ())
            if link.link_type == IMPLEMENTS and link.source in active and items[link.source].kind == SOFTWARE_ITEM
        ]
        verification = verifier.of(key)
        commits = list(dict.fromkeys(commit.sha for commit in commits_of[key])) if key in commits_of else []
        if len(parents) > 1:
            parents.sort(key=sort_key)
        if len(risks) > 1:
            risks.sort(key=sort_key)
        if len(controls) > 1:
            controls.sort(key=sort_key)
        if len(software_items) > 1:
            software_items.sort(key=sort_key)
        rows.append(
            MatrixRow(
                key,
                item.kind,
                item.title,
                item.status,
                item.revision,
                verification.status,
                verification.justification,
                verification.reason,
                list(user_needs),
                list(system_requirements),
                parents,
                risks,
                controls,
                software_items,
                verification.tests,
                commits,
                list(clause_links[key]) if key in clause_links else [],
                verification.suspect_links,
                gaps.get(key, []),
            )
        )
    return rows


@without_gc
def reverse_rows(graph: TraceGraph) -> list[ReverseRow]:
    """One row per non-obsolete test case: its result and what it verifies and validates."""
    rows = []
    active = graph.active_keys
    for test in graph.of_kind(ItemKind.TEST_CASE):
        result = graph.results.get(test.key)
        verdict = result.verdict if result else None
        suspect = sorted(
            link.label for link in graph.out_links.get(test.key, ()) if link.suspect and link.target in active
        )
        rows.append(
            ReverseRow(
                key=test.key,
                title=test.title,
                item_status=test.status,
                level=str(test.attr("level") or ""),
                test_id=str(test.attr("test_id") or ""),
                status="passed" if verdict == PASS else "failed" if verdict == FAIL else "no_result",
                result=result.status if result else None,
                run_version=result.run_version if result else "",
                run_at=result.run_at if result else "",
                verifies=graph.ordered(graph.targets(test.key, VERIFIES)),
                validates=graph.ordered(graph.targets(test.key, VALIDATES)),
                suspect_links=suspect,
            )
        )
    return rows


__all__ = [
    "DEFAULT_ROOT_KIND",
    "FAILED",
    "MATRIX_COLUMNS",
    "NOT_APPLICABLE",
    "NOT_VERIFIED",
    "ROOT_KINDS",
    "ROW_STATUSES",
    "SUSPECT",
    "VERIFIED",
    "MatrixRow",
    "ReverseRow",
    "TestCell",
    "Verifier",
    "matrix_rows",
    "reverse_rows",
]
