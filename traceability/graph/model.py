"""The in-memory trace graph: one representation for live data and frozen baselines.

A ``TraceGraph`` holds a product's items, links, clause links, the test results bound to a
release, the commits linked to items, the signed deviations in force and the release's artifacts. It is built by
``traceability.graph.load`` either from the live database (a constant number of
``values_list`` queries) or from a baseline's canonical JSON, so every matrix, gap and impact
computation runs identically on both.

Items are identified by their key (unique within a product and stable across baselines).
Date-times are ISO 8601 strings in UTC, exactly as stored in a baseline.
"""

import gc
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from traceability.kinds import ItemStatus
from traceability.models.evidence import FAILING_STATUSES, PASSING_STATUSES

if TYPE_CHECKING:
    import networkx as nx

P = ParamSpec("P")
R = TypeVar("R")


def without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Run with the cyclic garbage collector paused.

    Building a graph or a matrix allocates tens of thousands of small objects while the graph
    keeps tens of thousands alive; the collector would rescan them again and again (about a
    third of the time at 15,000 items). None of these objects form reference cycles, so
    reference counting frees them; the collector resumes (if it was on) when the call returns.
    """

    @wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


PASS = "pass"  # noqa: S105 - a test verdict, not a password
FAIL = "fail"

_PASSING = frozenset(str(status) for status in PASSING_STATUSES)
_FAILING = frozenset(str(status) for status in FAILING_STATUSES)
_DIGITS = re.compile(r"(\d+)")
_PREFIX_NUMBER = re.compile(r"(\D+)(\d+)")


def natural_key(key: str) -> tuple[tuple[int, Any], ...]:
    """Sort key that orders SRS-2 before SRS-10."""
    simple = _PREFIX_NUMBER.fullmatch(key)
    if simple is not None:  # the common shape, e.g. SRS-012
        return ((0, simple[1]), (1, int(simple[2])))
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in _DIGITS.split(key) if part)


def result_verdict(status: str | None) -> str | None:
    """``pass`` (passed, passed with exception, failed but accepted), ``fail`` (failed, error), or
    None (no result; a skipped test counts as no result)."""
    if status in _PASSING:
        return PASS
    if status in _FAILING:
        return FAIL
    return None


def risk_acceptable(matrix: dict[str, Any], severity: Any, probability: Any) -> bool | None:
    """Whether a (severity, probability) cell of the product's risk matrix is acceptable.

    Severity and probability are 1-based indexes. None when a value is missing or outside the
    matrix (treated as "unknown" by callers, never as acceptable).
    """
    if not isinstance(severity, int) or not isinstance(probability, int):
        return None
    try:
        rows = matrix["acceptable"]
        if severity < 1 or probability < 1:
            return None
        return bool(rows[severity - 1][probability - 1])
    except (KeyError, IndexError, TypeError):
        return None


def level_name(matrix: dict[str, Any], axis: str, index: Any) -> str:
    """Name of a severity or probability level (``axis`` is ``severities`` or ``probabilities``)."""
    levels = matrix.get(axis) or []
    if isinstance(index, int) and 1 <= index <= len(levels):
        return str(levels[index - 1])
    return ""


@dataclass(slots=True)
class ItemRef:
    """An item named in a finding, a walk or a diff: key, kind and title."""

    key: str
    kind: str
    title: str

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "title": self.title}


@dataclass(slots=True)
class TraceItem:
    key: str
    kind: str
    title: str
    text: str
    status: str
    attributes: dict[str, Any]
    revision: int
    fingerprint: str

    @property
    def is_obsolete(self) -> bool:
        return self.status == ItemStatus.OBSOLETE

    def attr(self, name: str) -> Any:
        value = self.attributes.get(name)
        return value.strip() if isinstance(value, str) else value


@dataclass(slots=True)
class TraceLink:
    """``source`` depends on ``target``; ``target_revision``/``target_fingerprint`` as last reviewed."""

    source: str
    link_type: str
    target: str
    target_revision: int
    target_fingerprint: str
    suspect: bool = False

    @property
    def label(self) -> str:
        return f"{self.source} {self.link_type} {self.target}"


@dataclass(slots=True)
class TraceResult:
    """The result that counts for a test case in this release (the latest one)."""

    test_case: str
    status: str
    test_identifier: str
    run_id: int
    run_name: str
    run_version: str
    run_commit_sha: str
    run_environment: str
    run_ci_job_url: str
    run_at: str
    duration: float | None
    message: str
    rationale: str
    executed_by: str
    executed_at: str | None

    @property
    def verdict(self) -> str | None:
        return result_verdict(self.status)


@dataclass(slots=True)
class TraceCommit:
    item: str
    sha: str
    kind: str
    repository: str
    author: str
    authored_at: str | None
    subject: str


@dataclass(slots=True)
class ClauseInfo:
    """A clause of the product's standards that applies to its safety class."""

    ref: str  # standard-slug:number
    standard: str  # standard code and edition, e.g. "IEC 62304:2006+A1:2015"
    number: str
    title: str
    is_heading: bool


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """An artifact CI built for the release, by its digest (``sha256:<64 hex>``)."""

    name: str
    kind: str
    uri: str
    digest: str
    size: int | None
    version: str
    commit_sha: str
    ci_job_url: str
    ci_run: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "uri": self.uri,
            "digest": self.digest,
            "size": self.size,
            "version": self.version,
            "commit_sha": self.commit_sha,
            "ci_job_url": self.ci_job_url,
            "ci_run": self.ci_run,
        }


@dataclass(frozen=True, slots=True)
class DeviationInfo:
    """A signed deviation in force: a protected gap rule lowered for the whole rule (``item`` empty)
    or for the finding whose item at fault is ``item``. ``bound``: its content still matches the
    SHA-256 its signature was applied over (always, from a baseline); an unbound one is never applied."""

    number: int
    rule: str
    item: str
    severity: str  # "warning" or "off"
    rationale: str
    sha256: str  # the deviation's content hash, which the signature signed
    created_at: str
    signer: str  # user name
    printed_name: str
    signed_at: str
    signature_id: int
    bound: bool = True

    @property
    def label(self) -> str:
        return f"DEV-{self.number}"

    @property
    def scope(self) -> str:
        """What the deviation covers, in words: the whole rule or one item's finding."""
        return f"finding of {self.item}" if self.item else "whole rule"

    def as_dict(self) -> dict[str, Any]:
        return {
            "deviation": self.label,
            "rule": self.rule,
            "item": self.item,
            "severity": self.severity,
            "rationale": self.rationale,
            "sha256": self.sha256,
            "signer": self.signer,
            "printed_name": self.printed_name,
            "signed_at": self.signed_at,
            "signature_id": self.signature_id,
        }


@dataclass(slots=True)
class ProductInfo:
    key: str
    name: str
    safety_class: str  # "" = unassigned
    risk_matrix: dict[str, Any]
    gap_rules: dict[str, str]
    standards: list[str]

    @property
    def effective_safety_class(self) -> str:
        return self.safety_class or "C"


@dataclass(slots=True)
class ReleaseInfo:
    version: str
    state: str
    git_tag: str
    commit_sha: str
    frozen: bool
    baseline_sha256: str = ""
    taken_at: str | None = None
    approved: bool = False  # derived from the approval record and the state (traceability.integrity)
    approval_signature_id: int | None = None  # the signature of that approval record


@dataclass
class TraceGraph:
    """A product's trace data at one moment (live) or as frozen in a baseline.

    ``source`` is ``live`` or ``baseline``. Indexes (``out_links``, ``in_links``) are built once;
    ``nx`` is a networkx ``DiGraph`` of the non-obsolete items, built on first use.
    """

    product: ProductInfo
    release: ReleaseInfo | None
    source: str
    items: dict[str, TraceItem]
    links: list[TraceLink]
    clauses: list[ClauseInfo]
    clause_links: dict[str, list[str]]
    results: dict[str, TraceResult]
    commits: dict[str, list[TraceCommit]]
    deviations: list[DeviationInfo] = field(default_factory=list)  # in force, in number order
    artifacts: list[ArtifactInfo] = field(default_factory=list)  # of the release, by name and digest
    out_links: dict[str, list[TraceLink]] = field(init=False, repr=False)
    in_links: dict[str, list[TraceLink]] = field(init=False, repr=False)
    active_keys: set[str] = field(init=False, repr=False)
    suspect_keys: set[str] = field(init=False, repr=False)  # items with a suspect link in or out
    _order: dict[str, tuple[tuple[int, Any], ...]] = field(init=False, repr=False)
    _by_kind: dict[str, list[TraceItem]] | None = field(init=False, repr=False)
    _sorted_kinds: set[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        out_links: dict[str, list[TraceLink]] = defaultdict(list)
        in_links: dict[str, list[TraceLink]] = defaultdict(list)
        fingerprints = {key: item.fingerprint for key, item in self.items.items()}
        for link in self.links:
            fingerprint = fingerprints.get(link.target)
            link.suspect = fingerprint is not None and link.target_fingerprint != fingerprint
            out_links[link.source].append(link)
            in_links[link.target].append(link)
        self.out_links = out_links
        self.in_links = in_links
        obsolete = ItemStatus.OBSOLETE.value
        self.active_keys = {key for key, item in self.items.items() if item.status != obsolete}
        self.suspect_keys = {key for link in self.links if link.suspect for key in (link.source, link.target)}
        self._order = {}
        self._by_kind = None
        self._sorted_kinds = set()

    @property
    def is_frozen(self) -> bool:
        return self.source == "baseline"

    def active(self, key: str) -> bool:
        """The item exists and is not obsolete."""
        return key in self.active_keys

    def sort_key(self, key: str) -> tuple[tuple[int, Any], ...]:
        """``natural_key``, computed once per key."""
        order = self._order.get(key)
        if order is None:
            order = self._order[key] = natural_key(key)
        return order

    def ordered(self, keys: Any) -> list[str]:
        """Keys in natural order."""
        keys = list(keys)
        if len(keys) > 1:
            keys.sort(key=self.sort_key)
        return keys

    def of_kind(self, kind: str, *, include_obsolete: bool = False) -> list[TraceItem]:
        """Items of a kind in natural key order (a new list each call)."""
        if include_obsolete:
            every = [item for item in self.items.values() if item.kind == kind]
            every.sort(key=lambda item: self.sort_key(item.key))
            return every
        if self._by_kind is None:
            by_kind: dict[str, list[TraceItem]] = defaultdict(list)
            active = self.active_keys
            for key, item in self.items.items():
                if key in active:
                    by_kind[item.kind].append(item)
            self._by_kind = dict(by_kind)
        chosen = self._by_kind.get(kind)
        if chosen is None:
            return []
        if kind not in self._sorted_kinds:
            chosen.sort(key=lambda item: self.sort_key(item.key))
            self._sorted_kinds.add(kind)
        return list(chosen)

    def targets(self, key: str, link_type: str) -> list[str]:
        """Non-obsolete items this item links to with this link type (link order)."""
        active = self.active_keys
        return [
            link.target for link in self.out_links.get(key, ()) if link.link_type == link_type and link.target in active
        ]

    def sources(self, key: str, link_type: str) -> list[str]:
        """Non-obsolete items that link to this item with this link type (link order)."""
        active = self.active_keys
        return [
            link.source for link in self.in_links.get(key, ()) if link.link_type == link_type and link.source in active
        ]

    def active_links(self) -> list[TraceLink]:
        """Links between two non-obsolete items."""
        active = self.active_keys
        return [link for link in self.links if link.source in active and link.target in active]

    @cached_property
    def standard_codes(self) -> dict[str, str]:
        """Standard slug → code (``iec-62304-2015`` → ``IEC 62304``) of the product's standards,
        from the applicable clauses already loaded."""
        return {clause.ref.partition(":")[0]: clause.standard.partition(":")[0] for clause in self.clauses}

    def clause_label(self, ref: str) -> str:
        """A readable clause reference: ``iec-62304-2015:5.2.1`` → ``IEC 62304 5.2.1`` (the
        reference itself when its standard is not one of the product's)."""
        slug, _, number = ref.partition(":")
        code = self.standard_codes.get(slug)
        return f"{code} {number}" if code else ref

    @cached_property
    def nx(self) -> "nx.DiGraph":
        """Directed graph of the non-obsolete items: an edge source → target per link, with the
        set of its link types in the edge attribute ``types``. (networkx is imported here: the
        matrix and gap commands never need it, and it costs a tenth of a second to import.)"""
        import networkx

        graph = networkx.DiGraph()
        graph.add_nodes_from((key, {"kind": item.kind}) for key, item in self.items.items() if not item.is_obsolete)
        for link in self.links:
            if link.source in graph and link.target in graph:
                if graph.has_edge(link.source, link.target):
                    graph.edges[link.source, link.target]["types"].add(link.link_type)
                else:
                    graph.add_edge(link.source, link.target, types={link.link_type})
        return graph
