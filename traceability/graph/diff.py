"""The change record between two graphs (two baselines, or a baseline and live data)."""

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from traceability.graph.model import ItemRef, TraceGraph, TraceItem, natural_key, without_gc

DIFF_FIELDS = ("title", "text", "status", "attributes")


@dataclass(slots=True)
class ItemChange:
    key: str
    kind: str
    title: str
    fields: list[str]  # which of title, text, status, attributes changed
    revision_before: int
    revision_after: int
    status_before: str
    status_after: str
    diff: str  # unified diff of title, text and attributes

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "fields": self.fields,
            "revision_before": self.revision_before,
            "revision_after": self.revision_after,
            "status_before": self.status_before,
            "status_after": self.status_after,
            "diff": self.diff,
        }


@dataclass(slots=True)
class ResultChange:
    test_case: str
    before: str | None  # result status, None when there was none
    after: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"test_case": self.test_case, "before": self.before, "after": self.after}


@dataclass
class BaselineDiff:
    before: str  # label: a version, or "live"
    after: str
    before_sha256: str
    after_sha256: str
    items_added: list[ItemRef] = field(default_factory=list)
    items_removed: list[ItemRef] = field(default_factory=list)
    items_changed: list[ItemChange] = field(default_factory=list)
    links_added: list[str] = field(default_factory=list)  # "SRS-1 derives_from SYS-1"
    links_removed: list[str] = field(default_factory=list)
    clause_links_added: list[str] = field(default_factory=list)  # "SRS-1 → iec-62304-2015:5.2.1"
    clause_links_removed: list[str] = field(default_factory=list)
    results_changed: list[ResultChange] = field(default_factory=list)
    artifacts_added: list[str] = field(default_factory=list)  # "bolus-app sha256:…"
    artifacts_removed: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.artifacts_added,
                self.artifacts_removed,
                self.items_added,
                self.items_removed,
                self.items_changed,
                self.links_added,
                self.links_removed,
                self.clause_links_added,
                self.clause_links_removed,
                self.results_changed,
            )
        )

    def counts(self) -> dict[str, int]:
        return {
            "items_added": len(self.items_added),
            "items_removed": len(self.items_removed),
            "items_changed": len(self.items_changed),
            "links_added": len(self.links_added),
            "links_removed": len(self.links_removed),
            "clause_links_added": len(self.clause_links_added),
            "clause_links_removed": len(self.clause_links_removed),
            "results_changed": len(self.results_changed),
            "artifacts_added": len(self.artifacts_added),
            "artifacts_removed": len(self.artifacts_removed),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "before_sha256": self.before_sha256,
            "after_sha256": self.after_sha256,
            "counts": self.counts(),
            "items_added": [item.as_dict() for item in self.items_added],
            "items_removed": [item.as_dict() for item in self.items_removed],
            "items_changed": [change.as_dict() for change in self.items_changed],
            "links_added": self.links_added,
            "links_removed": self.links_removed,
            "clause_links_added": self.clause_links_added,
            "clause_links_removed": self.clause_links_removed,
            "results_changed": [change.as_dict() for change in self.results_changed],
            "artifacts_added": self.artifacts_added,
            "artifacts_removed": self.artifacts_removed,
        }

    def as_text(self) -> str:
        """A plain-text change record (what ``baseline_diff`` prints)."""
        lines = [f"Changes from {self.before} to {self.after}"]
        if self.is_empty:
            lines.append("No changes.")
            return "\n".join(lines) + "\n"
        sections: list[tuple[str, list[str]]] = [
            ("Items added", [f"+ {item.key} ({item.kind}) {item.title}" for item in self.items_added]),
            ("Items removed", [f"- {item.key} ({item.kind}) {item.title}" for item in self.items_removed]),
            ("Links added", [f"+ {link}" for link in self.links_added]),
            ("Links removed", [f"- {link}" for link in self.links_removed]),
            ("Clause evidence added", [f"+ {link}" for link in self.clause_links_added]),
            ("Clause evidence removed", [f"- {link}" for link in self.clause_links_removed]),
            (
                "Results changed",
                [
                    f"~ {c.test_case}: {c.before or 'no result'} → {c.after or 'no result'}"
                    for c in self.results_changed
                ],
            ),
            ("Artifacts added", [f"+ {artifact}" for artifact in self.artifacts_added]),
            ("Artifacts removed", [f"- {artifact}" for artifact in self.artifacts_removed]),
        ]
        for title, entries in sections:
            if entries:
                lines += ["", f"{title} ({len(entries)}):", *entries]
        if self.items_changed:
            lines += ["", f"Items changed ({len(self.items_changed)}):"]
            for change in self.items_changed:
                status = (
                    f", {change.status_before} → {change.status_after}"
                    if change.status_before != change.status_after
                    else ""
                )
                lines.append(
                    f"~ {change.key} revision {change.revision_before} → {change.revision_after}"
                    f" ({', '.join(change.fields)}{status})"
                )
                if change.diff:
                    lines += ["    " + line for line in change.diff.splitlines()]
        return "\n".join(lines) + "\n"


def _document(item: TraceItem) -> list[str]:
    attributes = json.dumps(item.attributes, sort_keys=True, indent=2, ensure_ascii=False).splitlines()
    return [f"title: {item.title}", "text:", *item.text.splitlines(), "attributes:", *attributes]


def item_text_diff(before: TraceItem, after: TraceItem) -> str:
    """Unified diff of an item's title, text and attributes between two revisions."""
    return "\n".join(
        difflib.unified_diff(
            _document(before),
            _document(after),
            fromfile=f"{before.key}@{before.revision}",
            tofile=f"{after.key}@{after.revision}",
            lineterm="",
        )
    )


def _label(graph: TraceGraph) -> str:
    """A version (frozen), a version marked not frozen (live data with its evidence), or "live"."""
    if graph.release is None:
        return "live"
    if graph.is_frozen:
        return graph.release.version
    return f"{graph.release.version} (not frozen)"


@without_gc
def graph_diff(before: TraceGraph, after: TraceGraph) -> BaselineDiff:
    """Items added / removed / changed, links and clause evidence added / removed, results changed,
    artifacts (by name and digest) added / removed."""
    diff = BaselineDiff(
        before=_label(before),
        after=_label(after),
        before_sha256=before.release.baseline_sha256 if before.release and before.is_frozen else "",
        after_sha256=after.release.baseline_sha256 if after.release and after.is_frozen else "",
    )
    old_items, new_items = before.items, after.items
    for key in sorted(new_items.keys() - old_items.keys(), key=natural_key):
        item = new_items[key]
        diff.items_added.append(ItemRef(key, item.kind, item.title))
    for key in sorted(old_items.keys() - new_items.keys(), key=natural_key):
        item = old_items[key]
        diff.items_removed.append(ItemRef(key, item.kind, item.title))
    for key in sorted(old_items.keys() & new_items.keys(), key=natural_key):
        old, new = old_items[key], new_items[key]
        changed = [name for name in DIFF_FIELDS if getattr(old, name) != getattr(new, name)]
        if not changed:
            continue
        diff.items_changed.append(
            ItemChange(
                key=key,
                kind=new.kind,
                title=new.title,
                fields=changed,
                revision_before=old.revision,
                revision_after=new.revision,
                status_before=old.status,
                status_after=new.status,
                diff=item_text_diff(old, new) if set(changed) - {"status"} else "",
            )
        )

    def link_set(graph: TraceGraph) -> set[tuple[str, str, str]]:
        return {(link.source, link.link_type, link.target) for link in graph.links}

    def link_order(link: tuple[str, str, str]) -> tuple[Any, ...]:
        return (natural_key(link[0]), link[1], natural_key(link[2]))

    old_links, new_links = link_set(before), link_set(after)
    diff.links_added = [" ".join(link) for link in sorted(new_links - old_links, key=link_order)]
    diff.links_removed = [" ".join(link) for link in sorted(old_links - new_links, key=link_order)]

    def clause_set(graph: TraceGraph) -> set[tuple[str, str]]:
        return {(key, ref) for key, refs in graph.clause_links.items() for ref in refs}

    def clause_order(pair: tuple[str, str]) -> tuple[Any, ...]:
        return (natural_key(pair[0]), pair[1])

    old_clauses, new_clauses = clause_set(before), clause_set(after)
    diff.clause_links_added = [f"{k} → {ref}" for k, ref in sorted(new_clauses - old_clauses, key=clause_order)]
    diff.clause_links_removed = [f"{k} → {ref}" for k, ref in sorted(old_clauses - new_clauses, key=clause_order)]

    for key in sorted(before.results.keys() | after.results.keys(), key=natural_key):
        old_result, new_result = before.results.get(key), after.results.get(key)
        old_status = old_result.status if old_result else None
        new_status = new_result.status if new_result else None
        if old_status != new_status:
            diff.results_changed.append(ResultChange(key, old_status, new_status))

    def artifact_set(graph: TraceGraph) -> set[str]:
        return {f"{artifact.name} {artifact.digest}" for artifact in graph.artifacts}

    old_artifacts, new_artifacts = artifact_set(before), artifact_set(after)
    diff.artifacts_added = sorted(new_artifacts - old_artifacts)
    diff.artifacts_removed = sorted(old_artifacts - new_artifacts)
    return diff
