"""Writes of links between items: creation with the link rules, deletion, suspect-link review."""

from typing import Any

import networkx as nx
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from qms.errors import Conflict, InvalidInput
from qms.services import AuditEntry, audit_entry_for, audit_record, audit_record_many
from traceability.kinds import HIERARCHY_LINK_TYPES, LinkType, link_allowed, link_rule_text
from traceability.models import Item, Link, Product


def link_state(link: Link) -> dict[str, Any]:
    return {
        "source": link.source.key,
        "link_type": link.link_type,
        "target": link.target.key,
        "target_revision": link.target_revision,
    }


def link_repr(link: Link, product: Product | None = None) -> str:
    return f"{(product or link.product).key}/{link.source.key} {link.link_type} {link.target.key}"


def link_problem(*, source: Item, target: Item, link_type: str) -> str | None:
    """The rule a proposed link breaks (kinds, self link, other product), or None."""
    if link_type not in LinkType.values:
        return f"unknown link type {link_type!r} (types: {', '.join(LinkType.values)})"
    same_item = source.pk == target.pk if source.pk is not None else source.key == target.key
    if same_item:
        return f"an item cannot link to itself ({source.key})"
    if source.product_id != target.product_id:
        return f"{source.key} and {target.key} belong to different products"
    if not link_allowed(source.kind, link_type, target.kind):
        return (
            f"a {source.kind} cannot '{link_type}' a {target.kind} "
            f"({source.key} → {target.key}); allowed: {link_rule_text(link_type)}"
        )
    return None


def hierarchy_cycle(*, edges: list[tuple[Any, Any]], source: Any, target: Any) -> list[Any] | None:
    """If adding source→target to these edges closes a cycle, return the cycle path target…source."""
    graph = nx.DiGraph(edges)
    if target in graph and source in graph and nx.has_path(graph, target, source):
        return list(nx.shortest_path(graph, target, source))
    return None


def link_cycle(*, source: Item, target: Item, link_type: str) -> list[str] | None:
    """Keys of the cycle a new hierarchy link would close, loading the hierarchy in one query."""
    if link_type not in HIERARCHY_LINK_TYPES:
        return None
    rows = Link.objects.filter(product_id=source.product_id, link_type=link_type).values_list(
        "source__key", "target__key"
    )
    path = hierarchy_cycle(edges=list(rows), source=source.key, target=target.key)
    return [source.key, *path] if path else None


def link_exists(*, source: Item, target: Item, link_type: str) -> bool:
    return Link.objects.filter(source=source, target=target, link_type=link_type).exists()


@transaction.atomic
def link_create(*, source: Item, target: Item, link_type: str, actor: User | None) -> Link:
    """Create a link after checking the link rules, duplicates and (for hierarchy links) cycles.

    For a hierarchy link the product row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL),
    so two concurrent requests adding A→B and B→A are checked one after the other and the second
    sees the first's link. A duplicate that slips past the check in a race hits the database's
    unique constraint and is reported as a 409 conflict; nothing is written.
    """
    problem = link_problem(source=source, target=target, link_type=link_type)
    if problem:
        raise InvalidInput(problem, code="link_invalid", source=source.key, target=target.key)
    if link_type in HIERARCHY_LINK_TYPES:
        Product.objects.select_for_update().filter(pk=source.product_id).values_list("pk", flat=True).first()
    if link_exists(source=source, target=target, link_type=link_type):
        raise InvalidInput(
            f"duplicate link: {source.key} already {link_type} {target.key}",
            code="link_duplicate",
            source=source.key,
            target=target.key,
        )
    cycle = link_cycle(source=source, target=target, link_type=link_type)
    if cycle:
        raise InvalidInput(
            f"link would create a cycle of '{link_type}' links: {' → '.join(cycle)}",
            code="link_cycle",
            source=source.key,
            target=target.key,
        )
    try:
        with transaction.atomic():
            link = Link.objects.create(
                product_id=source.product_id,
                source=source,
                target=target,
                link_type=link_type,
                source_kind=source.kind,
                target_kind=target.kind,
                target_fingerprint=target.fingerprint,
                target_revision=target.revision,
                created_by=actor,
            )
    except IntegrityError as exc:
        raise Conflict(
            f"{source.key} {link_type} {target.key} clashes with a concurrent change "
            "(the link already exists or an item was deleted); reload and try again",
            code="link_conflict",
            source=source.key,
            target=target.key,
        ) from exc
    audit_record(
        actor=actor,
        action="link.created",
        obj=link,
        scope=source.product.key,
        object_repr=link_repr(link, source.product),
        after=link_state(link),
    )
    return link


@transaction.atomic
def link_delete(*, link: Link, actor: User | None) -> None:
    link = Link.objects.select_related("source", "target", "product").get(pk=link.pk)
    audit_record(
        actor=actor,
        action="link.deleted",
        obj=link,
        scope=link.product.key,
        object_repr=link_repr(link),
        before=link_state(link),
    )
    link.delete()


def _review_entries(links: list[Link], *, actor: User | None, note: str) -> list[AuditEntry]:
    now = timezone.now()
    entries = []
    for link in links:
        before = link_state(link)
        link.target_fingerprint = link.target.fingerprint
        link.target_revision = link.target.revision
        link.reviewed_at = now
        link.reviewed_by = actor
        entries.append(
            audit_entry_for(
                link,
                action="link.reviewed",
                scope=link.product.key,
                object_repr=link_repr(link),
                before=before,
                after=link_state(link),
                note=note,
            )
        )
    Link.objects.bulk_update(links, ["target_fingerprint", "target_revision", "reviewed_at", "reviewed_by"])
    return entries


@transaction.atomic
def link_review(*, link: Link, actor: User | None, note: str = "") -> Link:
    """Clear a suspect link: the reviewer confirms it still holds for the target's current content."""
    link = Link.objects.select_for_update().select_related("source", "target", "product").get(pk=link.pk)
    if link.target_fingerprint == link.target.fingerprint:
        raise Conflict(f"{link_repr(link)} is not suspect", code="not_suspect")
    audit_record_many(actor=actor, entries=_review_entries([link], actor=actor, note=note))
    return link


@transaction.atomic
def item_links_review(*, item: Item, actor: User | None, note: str = "") -> list[Link]:
    """Clear every suspect link into or out of an item. Returns the links cleared."""
    candidates = (
        Link.objects.select_for_update()
        .filter(product_id=item.product_id)
        .filter(Q(source=item) | Q(target=item))
        .select_related("source", "target", "product")
    )
    suspect = [link for link in candidates if link.target_fingerprint != link.target.fingerprint]
    if not suspect:
        return []
    audit_record_many(actor=actor, entries=_review_entries(suspect, actor=actor, note=note))
    return suspect
