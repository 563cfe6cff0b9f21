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

from traceability.graph.model import TraceGraph, natural_key
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


def upstream_of(graph: TraceGraph, key: str, *, link_types: Iterable[str] | None = None) -> list[str]:
    """Everything the item depends on, transitively (natural key order)."""
    _require(graph, key)
    return sorted(nx.descendants(_view(graph, link_types), key), key=natural_key)


def downstream_of(graph: TraceGraph, key: str, *, link_types: Iterable[str] | None = None) -> list[str]:
    """Everything that depends on the item, transitively (natural key order)."""
    _require(graph, key)
    return sorted(nx.ancestors(_view(graph, link_types), key), key=natural_key)


@dataclass(slots=True)
class ImpactedItem:
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


def impact_of(graph: TraceGraph, key: str) -> Impact:
    """What a change to ``key`` impacts: everything downstream of it (transitively) through
    trace links, with the shortest path; plus the risk controls implemented by an impacted
    software requirement and the tests verifying them (IEC 62304 7.4.2), and the clauses those
    items evidence."""
    _require(graph, key)
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
    suspect_pairs = {(link.source, link.target) for link in graph.links if link.suspect}
    result = []
    for impacted, path in paths.items():
        if impacted == key:
            continue
        item = items[impacted]
        previous = path[-2]
        result.append(
            ImpactedItem(
                key=impacted,
                kind=item.kind,
                title=item.title,
                depth=len(path) - 1,
                path=path,
                suspect=(impacted, previous) in suspect_pairs or (previous, impacted) in suspect_pairs,
            )
        )
    result.sort(key=lambda entry: (entry.depth, natural_key(entry.key)))
    clauses = sorted({ref for impacted in paths for ref in graph.clause_links.get(impacted, ())})
    return Impact(key=key, kind=items[key].kind, items=result, clauses=clauses)


def orphans_of(graph: TraceGraph) -> list[str]:
    """Non-obsolete items with no link at all to another non-obsolete item (documents aside)."""
    return sorted(
        (key for key, degree in graph.nx.degree() if degree == 0 and graph.items[key].kind != ItemKind.DOCUMENT),
        key=natural_key,
    )


def cycles_of(graph: TraceGraph) -> list[list[str]]:
    """Cycles of hierarchy links (derives_from, part_of). The link services never create one;
    a non-empty answer means data was written around them."""
    found = []
    for link_type in sorted(HIERARCHY_LINK_TYPES):
        for cycle in nx.simple_cycles(_view(graph, [link_type])):
            start = min(range(len(cycle)), key=lambda index: natural_key(cycle[index]))
            found.append(cycle[start:] + cycle[:start])
    return sorted(found, key=lambda cycle: [natural_key(key) for key in cycle])
