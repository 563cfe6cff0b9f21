"""Bulk import of items, links and clause evidence: the demo loader, the spreadsheet import and
the benchmark generator all go through here.

Everything is validated in memory first; a problem raises ``RowError`` naming the row and the
column, and nothing is written. Then the writes are bulk inserts/updates in one transaction,
with one audit event per created or changed record, so 15,000 items cost a few dozen queries.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qms.errors import InvalidInput
from qms.services import AuditEntry, audit_record_many
from standards.models import Clause
from traceability.kinds import HIERARCHY_LINK_TYPES, ItemStatus, LinkType, link_allowed, link_rule_text
from traceability.models import ClauseLink, Item, Link, Product
from traceability.services.items import item_approval_check, item_fields_clean, item_fingerprint, item_key_problem

BATCH = 2000


class RowError(InvalidInput):
    code = "import_invalid"

    def __init__(self, row: int, column: str, problem: str, *, source: str = "") -> None:
        where = f"{source}: " if source else ""
        super().__init__(f"{where}row {row}, column {column}: {problem}", row=row, column=column)
        self.problem = problem


@dataclass
class ItemRow:
    """One item to create or update. ``None`` means "not given": keep what the item has."""

    row: int
    key: str
    kind: str | None = None
    title: str | None = None
    text: str | None = None
    status: str | None = None
    attributes: dict[str, Any] | None = None
    links: dict[str, list[str]] = field(default_factory=dict)
    clauses: list[str] | None = None


@dataclass
class ImportReport:
    items_created: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    links_created: int = 0
    links_removed: int = 0
    clause_links_created: int = 0
    clause_links_removed: int = 0

    @property
    def changed(self) -> bool:
        return any(
            (
                self.items_created,
                self.items_updated,
                self.links_created,
                self.links_removed,
                self.clause_links_created,
                self.clause_links_removed,
            )
        )


@dataclass
class _Planned:
    row: ItemRow
    item: Item
    is_new: bool
    is_changed: bool
    before: dict[str, Any] | None


def _state(item: Item) -> dict[str, Any]:
    return {
        "key": item.key,
        "kind": item.kind,
        "title": item.title,
        "text": item.text,
        "status": item.status,
        "attributes": item.attributes,
        "revision": item.revision,
    }


def _plan_items(
    product: Product, rows: list[ItemRow], existing: dict[str, Item], source: str, actor: User | None
) -> list[_Planned]:
    planned: list[_Planned] = []
    seen: dict[str, int] = {}
    now = timezone.now()
    for row in rows:
        if not row.key:
            raise RowError(row.row, "key", "an item needs a key", source=source)
        if row.key in seen:
            raise RowError(row.row, "key", f"{row.key} also appears in row {seen[row.key]}", source=source)
        seen[row.key] = row.row
        problem = item_key_problem(product, row.key)
        if problem:
            raise RowError(row.row, "key", problem, source=source)
        current = existing.get(row.key)
        if current is None and not row.kind:
            raise RowError(row.row, "kind", f"{row.key} is new and needs a kind", source=source)
        if current is not None and row.kind and row.kind != current.kind:
            raise RowError(
                row.row, "kind", f"{row.key} is a {current.kind}; an item's kind never changes", source=source
            )
        kind = current.kind if current is not None else str(row.kind)
        values: dict[str, Any] = {
            "title": row.title if row.title is not None else (current.title if current else ""),
            "text": row.text if row.text is not None else (current.text if current else ""),
            "status": row.status or (current.status if current else ItemStatus.DRAFT),
            "attributes": row.attributes if row.attributes is not None else (current.attributes if current else {}),
        }
        if isinstance(values["title"], str):
            values["title"] = values["title"].strip()
        try:
            values["attributes"] = item_fields_clean(product=product, kind=kind, **values)
        except ValueError as exc:
            column, _, message = str(exc).partition(": ")
            raise RowError(row.row, column, message, source=source) from exc
        fingerprint = item_fingerprint(title=values["title"], text=values["text"], attributes=values["attributes"])
        item_approval_check(
            item=current,
            key=row.key,
            status=values["status"],
            fingerprint=fingerprint,
            actor=actor,
            where=f"{source + ': ' if source else ''}row {row.row}, column status: ",
        )
        if current is None:
            item = Item(
                product=product,
                key=row.key,
                kind=kind,
                fingerprint=fingerprint,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
                **values,
            )
            planned.append(_Planned(row, item, is_new=True, is_changed=True, before=None))
            continue
        if all(getattr(current, name) == value for name, value in values.items()):
            planned.append(_Planned(row, current, is_new=False, is_changed=False, before=None))
            continue
        before = _state(current)
        for name, value in values.items():
            setattr(current, name, value)
        current.fingerprint = fingerprint
        current.revision += 1
        current.updated_at = now
        current.updated_by = actor
        planned.append(_Planned(row, current, is_new=False, is_changed=True, before=before))
    return planned


def _resolve_clauses(rows: list[ItemRow], source: str) -> dict[str, Clause]:
    refs = {ref for row in rows for ref in (row.clauses or [])}
    slugs = {ref.partition(":")[0] for ref in refs}
    clauses = {
        f"{clause.standard.slug}:{clause.number}": clause
        for clause in Clause.objects.filter(standard__slug__in=slugs, is_active=True).select_related("standard")
    }
    for row in rows:
        for ref in row.clauses or []:
            if ref not in clauses:
                raise RowError(
                    row.row, "clauses", f"unknown clause {ref!r} (write standard-slug:number)", source=source
                )
    return clauses


def _check_cycles(edges: set[tuple[str, str, str]], rows_by_key: dict[str, ItemRow], source: str) -> None:
    for link_type in HIERARCHY_LINK_TYPES:
        graph = nx.DiGraph((s, t) for s, lt, t in edges if lt == link_type)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            continue
        keys = [edge[0] for edge in cycle]
        row = next((rows_by_key[key].row for key in keys if key in rows_by_key), 0)
        raise RowError(row, link_type, f"links would create a cycle: {' → '.join([*keys, keys[0]])}", source=source)


@transaction.atomic
def items_import(*, product: Product, rows: list[ItemRow], actor: User | None, source: str = "") -> ImportReport:
    """Create or update items; set each row's outgoing links of the given types and its clauses.

    For every link type a row names (even with an empty list) the item's outgoing links of that
    type become exactly the listed targets; types a row does not name are left alone. The same
    holds for ``clauses``.
    """
    report = ImportReport()
    existing = {item.key: item for item in Item.objects.filter(product=product)}
    planned = _plan_items(product, rows, existing, source, actor)
    rows_by_key = {p.row.key: p.row for p in planned}
    kinds = {key: item.kind for key, item in existing.items()} | {p.item.key: p.item.kind for p in planned}

    # Links: validate every cell against the rules before writing anything.
    wanted: dict[tuple[str, str], set[str]] = {}
    for p in planned:
        for link_type, targets in p.row.links.items():
            if link_type not in LinkType.values:
                raise RowError(
                    p.row.row, link_type, f"unknown link type (types: {', '.join(LinkType.values)})", source=source
                )
            cell: set[str] = set()
            for target in targets:
                if target == p.item.key:
                    raise RowError(p.row.row, link_type, f"{target} cannot link to itself", source=source)
                target_kind = kinds.get(target)
                if target_kind is None:
                    raise RowError(p.row.row, link_type, f"unknown item {target}", source=source)
                if not link_allowed(p.item.kind, link_type, target_kind):
                    raise RowError(
                        p.row.row,
                        link_type,
                        f"a {p.item.kind} cannot '{link_type}' a {target_kind} ({target}); "
                        f"allowed: {link_rule_text(link_type)}",
                        source=source,
                    )
                cell.add(target)
            wanted[(p.item.key, link_type)] = cell
    clauses = _resolve_clauses(rows, source)

    id_to_key = {item.pk: key for key, item in existing.items()}
    current_links = list(Link.objects.filter(product=product).values_list("pk", "source_id", "link_type", "target_id"))
    edges = {(id_to_key[s], lt, id_to_key[t]) for _, s, lt, t in current_links}
    link_ids = {(id_to_key[s], lt, id_to_key[t]): pk for pk, s, lt, t in current_links}
    outgoing: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s, lt, t in edges:
        outgoing[(s, lt)].add(t)
    to_add: list[tuple[str, str, str]] = []
    to_remove: list[tuple[str, str, str]] = []
    for (source_key, link_type), wanted_targets in wanted.items():
        have = outgoing.get((source_key, link_type), set())
        to_add += [(source_key, link_type, t) for t in sorted(wanted_targets - have)]
        to_remove += [(source_key, link_type, t) for t in sorted(have - wanted_targets)]
    final_edges = (edges - set(to_remove)) | set(to_add)
    _check_cycles(final_edges, rows_by_key, source)

    # Writes.
    entries: list[AuditEntry] = []
    new_items = [p.item for p in planned if p.is_new]
    changed_items = [p.item for p in planned if p.is_changed and not p.is_new]
    Item.objects.bulk_create(new_items, batch_size=BATCH)
    Item.objects.bulk_update(
        changed_items,
        ["title", "text", "status", "attributes", "fingerprint", "revision", "updated_at", "updated_by"],
        batch_size=BATCH,
    )
    items = {
        item.key: item for item in Item.objects.filter(product=product).only("pk", "key", "fingerprint", "revision")
    }
    for p in planned:
        p.item.pk = items[p.item.key].pk
        if p.is_new:
            report.items_created += 1
            entries.append(_entry(p.item, "item.created", product, after=_state(p.item)))
        elif p.is_changed:
            report.items_updated += 1
            entries.append(_entry(p.item, "item.updated", product, before=p.before, after=_state(p.item)))
        else:
            report.items_unchanged += 1

    removed_ids = [link_ids[edge] for edge in to_remove]
    Link.objects.filter(pk__in=removed_ids).delete()
    for (source_key, link_type, target_key), pk in ((edge, link_ids[edge]) for edge in to_remove):
        entries.append(
            AuditEntry(
                action="link.deleted",
                object_type="traceability.link",
                object_id=str(pk),
                object_repr=f"{product.key}/{source_key} {link_type} {target_key}",
                scope=product.key,
                before={"source": source_key, "link_type": link_type, "target": target_key},
            )
        )
    new_links = [
        Link(
            product=product,
            source_id=items[s].pk,
            target_id=items[t].pk,
            link_type=lt,
            source_kind=kinds[s],
            target_kind=kinds[t],
            target_fingerprint=items[t].fingerprint,
            target_revision=items[t].revision,
            created_by=actor,
        )
        for s, lt, t in to_add
    ]
    Link.objects.bulk_create(new_links, batch_size=BATCH)
    if new_links:
        created_ids = {
            (s, lt, t): pk
            for pk, s, lt, t in Link.objects.filter(
                product=product, source_id__in={link.source_id for link in new_links}
            ).values_list("pk", "source__key", "link_type", "target__key")
        }
        for s, lt, t in to_add:
            entries.append(
                AuditEntry(
                    action="link.created",
                    object_type="traceability.link",
                    object_id=str(created_ids[(s, lt, t)]),
                    object_repr=f"{product.key}/{s} {lt} {t}",
                    scope=product.key,
                    after={"source": s, "link_type": lt, "target": t, "target_revision": items[t].revision},
                )
            )
    report.links_created = len(to_add)
    report.links_removed = len(to_remove)
    _sync_clause_links(product, planned, clauses, items, actor, report, entries)
    audit_record_many(actor=actor, entries=entries)
    return report


def _entry(item: Item, action: str, product: Product, *, before: Any = None, after: Any = None) -> AuditEntry:
    return AuditEntry(
        action=action,
        object_type="traceability.item",
        object_id=str(item.pk),
        object_repr=f"{product.key}/{item.key}",
        scope=product.key,
        before=before,
        after=after,
    )


def _sync_clause_links(
    product: Product,
    planned: list[_Planned],
    clauses: dict[str, Clause],
    items: dict[str, Item],
    actor: User | None,
    report: ImportReport,
    entries: list[AuditEntry],
) -> None:
    given = {p.item.key: set(p.row.clauses) for p in planned if p.row.clauses is not None}
    if not given:
        return
    current: dict[str, dict[str, int]] = defaultdict(dict)
    for pk, key, slug, number in ClauseLink.objects.filter(product=product, item__key__in=list(given)).values_list(
        "pk", "item__key", "clause__standard__slug", "clause__number"
    ):
        current[key][f"{slug}:{number}"] = pk
    to_create = []
    to_delete: list[tuple[str, str, int]] = []
    for key, refs in given.items():
        have = current.get(key, {})
        to_create += [(key, ref) for ref in sorted(refs - set(have))]
        to_delete += [(key, ref, have[ref]) for ref in sorted(set(have) - refs)]
    ClauseLink.objects.filter(pk__in=[pk for _, _, pk in to_delete]).delete()
    ClauseLink.objects.bulk_create(
        [
            ClauseLink(product=product, item_id=items[key].pk, clause=clauses[ref], created_by=actor)
            for key, ref in to_create
        ],
        batch_size=BATCH,
    )
    for key, ref, pk in to_delete:
        entries.append(
            AuditEntry(
                action="clause_link.deleted",
                object_type="traceability.clauselink",
                object_id=str(pk),
                object_repr=f"{product.key}/{key} → {ref}",
                scope=product.key,
                before={"item": key, "clause": ref},
            )
        )
    created_ids = {
        (key, f"{slug}:{number}"): pk
        for pk, key, slug, number in ClauseLink.objects.filter(
            product=product, item__key__in=[key for key, _ in to_create]
        ).values_list("pk", "item__key", "clause__standard__slug", "clause__number")
    }
    for key, ref in to_create:
        entries.append(
            AuditEntry(
                action="clause_link.created",
                object_type="traceability.clauselink",
                object_id=str(created_ids[(key, ref)]),
                object_repr=f"{product.key}/{key} → {ref}",
                scope=product.key,
                after={"item": key, "clause": ref},
            )
        )
    report.clause_links_created = len(to_create)
    report.clause_links_removed = len(to_delete)
