"""Walks of the trace graph in memory (networkx): upstream, downstream, change impact, orphans,
cycles.

Links point from the dependent item to the item it depends on, so *upstream* of an item is
what it depends on (follow links forward) and *downstream* is what depends on it (follow links
backwards). Obsolete items are not part of the walked graph.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from traceability.graph.model import ItemRef, TraceGraph, natural_key
from traceability.kinds import HIERARCHY_LINK_TYPES, ItemKind, LinkType

# A change to a link's target impacts its source for these link types (anomalies and change
# requests that "affect" an item are not impacted by its change).
IMPACT_LINK_TYPES = frozenset(
    {
        LinkType.DERIVES_FROM,
        LinkType.IMPLEMENTS,
        LinkType.PART_OF,
        LinkType.USES,
        LinkType.MITIGATES,
        LinkType.VERIFIES,
        LinkType.VALIDATES,
    }
)


def _view(graph: TraceGraph, link_types: Iterable[str] | None) -> Any:
    if link_types is None:
        return graph.nx
    wanted = frozenset(link_types)
    return nx.subgraph_view(graph.nx, filter_edge=lambda s, t: bool(graph.nx.edges[s, t]["types"] & wanted))


def _require(graph: TraceGraph, key: str) -> None:
    if key not in graph.nx:
        raise KeyError(key)


def _walked(graph: TraceGraph, key: str) -> bool:
    """Whether ``key`` is in the walked graph: an obsolete item is not (its walks are empty); an
    unknown key is a KeyError."""
    if key in graph.nx:
        return True
    if key in graph.items:
        return False
    raise KeyError(key)


def upstream_of(graph: TraceGraph, key: str, *, link_types: Iterable[str] | None = None) -> list[str]:
    """Everything the item depends on, transitively (natural key order)."""
    _require(graph, key)
    return sorted(nx.descendants(_view(graph, link_types), key), key=natural_key)


def downstream_of(graph: TraceGraph, key: str, *, link_types: Iterable[str] | None = None) -> list[str]:
    """Everything that depends on the item, transitively (natural key order)."""
    _require(graph, key)
    return sorted(nx.ancestors(_view(graph, link_types), key), key=natural_key)


UPSTREAM, DOWNSTREAM = "upstream", "downstream"
DIRECTIONS = (UPSTREAM, DOWNSTREAM)


@dataclass(slots=True)
class ImpactedItem:
    """An item reached by a walk from another (impact, upstream, downstream)."""

    key: str
    kind: str
    title: str
    depth: int
    path: list[str]  # from the changed item to this one
    suspect: bool  # a link on the path's last hop is suspect now

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "depth": self.depth,
            "path": self.path,
            "suspect": self.suspect,
        }


@dataclass
class Impact:
    key: str
    kind: str
    items: list[ImpactedItem]
    clauses: list[str]  # clauses evidenced by the changed item or an impacted one

    def counts(self) -> dict[str, int]:
        """Impacted items per kind, in the order of the item kinds."""
        counted = Counter(item.kind for item in self.items)
        return {kind.value: counted[kind.value] for kind in ItemKind if counted[kind.value]}

    @property
    def summary(self) -> str:
        parts = [
            f"{count} {ItemKind(kind).label.lower()}{'s' if count != 1 else ''}"
            for kind, count in self.counts().items()
        ]
        if self.clauses:
            parts.append(f"{len(self.clauses)} clause{'s' if len(self.clauses) != 1 else ''}")
        if not parts:
            return f"A change to {self.key} impacts nothing else."
        listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        return f"A change to {self.key} impacts {listed}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "summary": self.summary,
            "counts": self.counts(),
            "items": [item.as_dict() for item in self.items],
            "clauses": self.clauses,
        }


@dataclass
class Trace:
    """Everything upstream (what the item depends on) or downstream (what depends on it) of an
    item, transitively, each with the shortest path from the item."""

    key: str
    kind: str
    direction: str  # "upstream" or "downstream"
    link_types: list[str]  # the link types followed (empty: all)
    items: list[ImpactedItem]

    def counts(self) -> dict[str, int]:
        """Reached items per kind, in the order of the item kinds."""
        counted = Counter(item.kind for item in self.items)
        return {kind.value: counted[kind.value] for kind in ItemKind if counted[kind.value]}

    def header(self) -> dict[str, Any]:
        """What the API answers beside the (paged) items."""
        return {
            "key": self.key,
            "kind": self.kind,
            "direction": self.direction,
            "link_types": self.link_types,
            "counts": self.counts(),
        }


def _suspect_pairs(graph: TraceGraph) -> set[tuple[str, str]]:
    return {(link.source, link.target) for link in graph.links if link.suspect}


def _reached(
    graph: TraceGraph, key: str, paths: dict[str, list[str]], suspect_pairs: set[tuple[str, str]]
) -> list[ImpactedItem]:
    """The items of ``paths`` (shortest paths from ``key``) but ``key``, by depth then key; an
    item is suspect when a link of its path's last hop is suspect now."""
    items = graph.items
    reached = []
    for other, path in paths.items():
        if other == key:
            continue
        previous = path[-2]
        item = items[other]
        reached.append(
            ImpactedItem(
                key=other,
                kind=item.kind,
                title=item.title,
                depth=len(path) - 1,
                path=path,
                suspect=(other, previous) in suspect_pairs or (previous, other) in suspect_pairs,
            )
        )
    reached.sort(key=lambda entry: (entry.depth, natural_key(entry.key)))
    return reached


def trace_of(graph: TraceGraph, key: str, *, direction: str, link_types: Iterable[str] | None = None) -> Trace:
    """Everything ``direction`` (``upstream`` or ``downstream``) of ``key``, transitively, through
    links of ``link_types`` (all when None), with the shortest path to each."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    wanted = sorted(set(link_types)) if link_types else []
    if not _walked(graph, key):
        return Trace(key=key, kind=graph.items[key].kind, direction=direction, link_types=wanted, items=[])
    view = _view(graph, wanted or None)
    if direction == DOWNSTREAM:
        view = view.reverse(copy=False)
    paths: dict[str, list[str]] = nx.single_source_shortest_path(view, key)
    return Trace(
        key=key,
        kind=graph.items[key].kind,
        direction=direction,
        link_types=wanted,
        items=_reached(graph, key, paths, _suspect_pairs(graph)),
    )


def impact_of(graph: TraceGraph, key: str) -> Impact:
    """What a change to ``key`` impacts: everything downstream of it (transitively) through
    trace links, with the shortest path; plus the risk controls implemented by an impacted
    software requirement and the tests verifying them (IEC 62304 7.4.2), and the clauses those
    items evidence."""
    if not _walked(graph, key):
        return Impact(key=key, kind=graph.items[key].kind, items=[], clauses=[])
    dependents = _view(graph, IMPACT_LINK_TYPES).reverse(copy=False)
    paths: dict[str, list[str]] = nx.single_source_shortest_path(dependents, key)
    items = graph.items
    for impacted in sorted(paths, key=natural_key):
        if impacted == key or items[impacted].kind != ItemKind.SOFTWARE_REQUIREMENT:
            continue
        for control in graph.targets(impacted, LinkType.IMPLEMENTS):
            if items[control].kind == ItemKind.RISK_CONTROL and control not in paths:
                paths[control] = [*paths[impacted], control]
                for test in graph.sources(control, LinkType.VERIFIES):
                    if test not in paths:
                        paths[test] = [*paths[control], test]
    result = _reached(graph, key, paths, _suspect_pairs(graph))
    clauses = sorted({ref for impacted in paths for ref in graph.clause_links.get(impacted, ())})
    return Impact(key=key, kind=items[key].kind, items=result, clauses=clauses)


@dataclass(slots=True)
class Cycle:
    link_type: str
    keys: list[str]  # starting with the smallest key; each links to the next, the last to the first

    def as_dict(self) -> dict[str, Any]:
        return {"link_type": self.link_type, "keys": self.keys}


def orphans_of(graph: TraceGraph) -> list[str]:
    """Non-obsolete items with no link at all to another non-obsolete item (documents aside)."""
    return sorted(
        (key for key, degree in graph.nx.degree() if degree == 0 and graph.items[key].kind != ItemKind.DOCUMENT),
        key=natural_key,
    )


def orphan_items(graph: TraceGraph) -> list[ItemRef]:
    """``orphans_of`` with each item's kind and title."""
    items = graph.items
    return [ItemRef(key, items[key].kind, items[key].title) for key in orphans_of(graph)]


def hierarchy_cycles(graph: TraceGraph) -> list[Cycle]:
    """Cycles of hierarchy links (derives_from, part_of), each with its link type. The link
    services never create one; a non-empty answer means data was written around them."""
    found = []
    for link_type in sorted(HIERARCHY_LINK_TYPES):
        for cycle in nx.simple_cycles(_view(graph, [link_type])):
            start = min(range(len(cycle)), key=lambda index: natural_key(cycle[index]))
            found.append(Cycle(str(link_type), cycle[start:] + cycle[:start]))
    return sorted(found, key=lambda cycle: ([natural_key(key) for key in cycle.keys], cycle.link_type))


def cycles_of(graph: TraceGraph) -> list[list[str]]:
    """The keys of each of ``hierarchy_cycles``."""
    return [cycle.keys for cycle in hierarchy_cycles(graph)]
