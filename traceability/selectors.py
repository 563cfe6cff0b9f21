"""Reads of products, items, links and their history. Selectors own the query shape."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast

from qms.errors import NotFound
from qms.models import AuditEvent, Signature
from qms.selectors import audit_event_list, signature_list
from qms.snapshot import read_snapshot
from standards.models import Clause
from standards.selectors import clauses_applicable
from traceability.models import ClauseLink, Deviation, Item, Link, Product, Release, ReleaseApproval, ReleaseState
from traceability.models.deviations import DEVIATION_RECORD_TYPE, REVOCATION_RECORD_TYPE
from traceability.models.items import ITEM_RECORD_TYPE


def product_list() -> QuerySet[Product]:
    return Product.objects.annotate(item_count=Count("items")).prefetch_related("standards").order_by("key")


def product_get(key: str) -> Product:
    product = Product.objects.filter(key=key).first()
    if product is None:
        raise NotFound(f"no product {key!r}", product=key)
    return product


def item_list(*, product: Product) -> QuerySet[Item]:
    return Item.objects.filter(product=product).select_related("created_by", "updated_by").order_by("key")


def item_get(*, product: Product, key: str) -> Item:
    item = Item.objects.filter(product=product, key=key).select_related("product", "created_by", "updated_by").first()
    if item is None:
        raise NotFound(f"{product.key} has no item {key!r}", product=product.key, key=key)
    return item


def with_suspect(links: QuerySet[Link]) -> QuerySet[Link]:
    return links.annotate(
        is_suspect=Case(
            When(~Q(target_fingerprint=F("target__fingerprint")), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def link_list(*, product: Product) -> QuerySet[Link]:
    return with_suspect(
        Link.objects.filter(product=product).select_related("source", "target", "created_by", "reviewed_by")
    ).order_by("source__key", "link_type", "target__key")


def link_get(*, product: Product, pk: int) -> Link:
    link = with_suspect(
        Link.objects.filter(product=product, pk=pk).select_related("source", "target", "product")
    ).first()
    if link is None:
        raise NotFound(f"{product.key} has no link #{pk}", product=product.key)
    return link


def item_links(item: Item) -> tuple[list[Link], list[Link]]:
    """Outgoing and incoming links of an item, with suspect flags (two queries)."""
    base = with_suspect(Link.objects.select_related("source", "target"))
    outgoing = list(base.filter(source=item).order_by("link_type", "target__key"))
    incoming = list(base.filter(target=item).order_by("link_type", "source__key"))
    return outgoing, incoming


def clause_link_list(*, product: Product) -> QuerySet[ClauseLink]:
    return (
        ClauseLink.objects.filter(product=product)
        .select_related("item", "clause__standard", "created_by")
        .order_by("item__key", "clause__standard__slug", "clause__position")
    )


def clause_link_get(*, product: Product, pk: int) -> ClauseLink:
    link = ClauseLink.objects.filter(product=product, pk=pk).select_related("item", "clause__standard").first()
    if link is None:
        raise NotFound(f"{product.key} has no clause link #{pk}", product=product.key)
    return link


def product_applicable_clauses(product: Product) -> QuerySet[Clause]:
    """Clauses of the product's standards that apply to its safety class (leaves only)."""
    return clauses_applicable(safety_class=product.safety_class, standards=product.standards.all(), leaves_only=True)


def item_history(item: Item) -> QuerySet[AuditEvent]:
    """Every recorded change of an item, oldest first."""
    return audit_event_list(object_type="traceability.item", object_id=str(item.pk))


def item_as_of(item: Item, when: datetime) -> tuple[dict[str, Any] | None, AuditEvent | None]:
    """What the item said at a moment, and the event (who, when) that made it so.

    Returns (None, None) when the item did not exist yet at that moment.
    """
    event = item_history(item).filter(at__lte=when).order_by("-id").first()
    if event is None or event.action == "item.deleted":
        return None, event
    return event.after, event


ITEM_TYPE = "traceability.item"
LINK_TYPE = "traceability.link"


def _links_of_key(key: str) -> Q:
    """Link events naming the item key at either end (every link event stores source and target keys)."""
    ends = Q(after__source=key) | Q(after__target=key) | Q(before__source=key) | Q(before__target=key)
    return Q(object_type=LINK_TYPE) & ends


def item_key_history(*, product: Product, key: str, include_links: bool = False) -> QuerySet[AuditEvent]:
    """Every recorded change of the item with this key, oldest first, in one query.

    Found by key, not by row, so the history outlives the item: a deleted item's history stays
    readable, and a key deleted and created again shows both lives. With ``include_links`` the
    events of the links into and out of the item (created, reviewed, deleted) are included.
    """
    wanted = Q(object_type=ITEM_TYPE, object_repr=f"{product.key}/{key}")
    if include_links:
        wanted |= _links_of_key(key)
    return AuditEvent.objects.filter(wanted, scope=product.key).order_by("id")


def item_key_known(*, product: Product, key: str) -> bool:
    """Whether the product has, or ever had, an item with this key."""
    return Item.objects.filter(product=product, key=key).exists() or item_key_history(product=product, key=key).exists()


def link_exists_in(*, product: Product, pk: int) -> bool:
    return Link.objects.filter(product=product, pk=pk).exists()


def link_history(*, product: Product, pk: int) -> QuerySet[AuditEvent]:
    """Every recorded change of a link, oldest first (also once the link is deleted)."""
    return audit_event_list(object_type=LINK_TYPE, object_id=str(pk), scope=product.key)


@dataclass(frozen=True)
class RecordAt:
    """What a record said at a moment, and the event (who, when) that made it so."""

    state: dict[str, Any] | None
    event: AuditEvent | None

    @property
    def exists(self) -> bool:
        return self.state is not None


def record_as_of(events: list[AuditEvent], when: datetime) -> RecordAt:
    """The state one record's events (oldest first) gave it at a moment; None before it existed or once deleted."""
    last = next((event for event in reversed(events) if event.at <= when), None)
    if last is None:
        return RecordAt(None, None)
    return RecordAt(None if last.action.endswith(".deleted") else last.after, last)


@dataclass(frozen=True)
class ItemAt:
    item: RecordAt
    links: list[RecordAt]  # the item's links that existed at the moment, by link id


def item_key_as_of(*, product: Product, key: str, when: datetime, include_links: bool = False) -> ItemAt:
    """The item with this key as it was at a moment (and its links then): one query."""
    events = list(item_key_history(product=product, key=key, include_links=include_links).filter(at__lte=when))
    by_link: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in events:
        if event.object_type == LINK_TYPE:
            by_link[event.object_id].append(event)
    links = [record_as_of(by_link[link_id], when) for link_id in sorted(by_link, key=int)]
    item = record_as_of([event for event in events if event.object_type == ITEM_TYPE], when)
    return ItemAt(item=item, links=[link for link in links if link.exists])


@read_snapshot()
def product_overview(product: Product) -> dict[str, Any]:
    """Counts for the product page: items by kind and status, suspect links (two queries, one snapshot)."""
    by_kind: dict[str, dict[str, int]] = {}
    for kind, item_status, count in (
        Item.objects.filter(product=product).values_list("kind", "status").annotate(n=Count("id")).order_by()
    ):
        by_kind.setdefault(kind, {})[item_status] = count
    suspect = Link.objects.filter(product=product).exclude(target_fingerprint=F("target__fingerprint")).count()
    return {"by_kind": by_kind, "suspect_links": suspect}


# --- releases ---------------------------------------------------------------------------------


def _with_approval(releases: QuerySet[Release]) -> QuerySet[Release]:
    """``approved``: the state says approved or released and the release has its approval record
    (the status API, the release page and the reports also check the record's seal)."""
    return releases.annotate(
        baseline_sha256=F("baseline__sha256"),
        approved=Case(
            When(
                Q(state__in=(ReleaseState.APPROVED, ReleaseState.RELEASED))
                & Exists(ReleaseApproval.objects.filter(release=OuterRef("pk"))),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def release_list(*, product: Product) -> QuerySet[Release]:
    """The product's releases, newest first, with their baseline hash and whether they are
    approved (one query)."""
    return _with_approval(
        Release.objects.filter(product=product).select_related("product", "created_by", "state_changed_by")
    ).order_by("-created_at", "-id")


def release_get(*, product: Product, version: str) -> Release:
    release = _with_approval(
        Release.objects.filter(product=product, version=version).select_related(
            "product", "created_by", "state_changed_by"
        )
    ).first()
    if release is None:
        raise NotFound(f"{product.key} has no release {version!r}", product=product.key, version=version)
    return release


def release_previous(release: Release) -> Release | None:
    """The release of the same product created just before this one."""
    return (
        Release.objects.filter(product_id=release.product_id)
        .filter(Q(created_at__lt=release.created_at) | Q(created_at=release.created_at, id__lt=release.pk))
        .select_related("product")
        .annotate(baseline_sha256=F("baseline__sha256"))
        .order_by("-created_at", "-id")
        .first()
    )


def release_last_frozen(*, product: Product) -> Release | None:
    """The product's most recently frozen release."""
    return (
        Release.objects.filter(product=product, frozen_at__isnull=False)
        .select_related("product")
        .order_by("-frozen_at", "-id")
        .first()
    )


def release_signatures(release: Release) -> QuerySet[Signature]:
    """The signature manifest of a release, oldest first."""
    return signature_list(record_type="traceability.release", record_id=str(release.pk))


def item_signatures(item: Item) -> QuerySet[Signature]:
    """The signatures over an item (its approvals, ``item_approve``), oldest first."""
    return signature_list(record_type=ITEM_RECORD_TYPE, record_id=str(item.pk))


# --- deviations -------------------------------------------------------------------------------

SIGNATURE_COLUMNS = ("id", "signer_username", "printed_name", "signed_at", "meaning", "record_hash", "comment")


def _signature_of(record_type: str, pk: str, prefix: str) -> dict[str, Subquery]:
    """Columns of the signature over a record (``record_type``, id in ``pk``), as annotations."""
    signature = Signature.objects.filter(record_type=record_type, record_id=Cast(OuterRef(pk), CharField()))
    return {f"{prefix}_{name}": Subquery(signature.order_by("id").values(name)[:1]) for name in SIGNATURE_COLUMNS}


def deviation_list(*, product: Product) -> QuerySet[Deviation]:
    """The product's deviations, in force or revoked, by number, each with its signature and its
    revocation's (one query: annotations ``signature_<column>``, ``revocation_signature_<column>``)."""
    return (
        Deviation.objects.filter(product=product)
        .select_related("product", "created_by", "revocation", "revocation__created_by")
        .annotate(
            **_signature_of(DEVIATION_RECORD_TYPE, "pk", "signature"),
            **_signature_of(REVOCATION_RECORD_TYPE, "revocation__pk", "revocation_signature"),
        )
        .order_by("number")
    )


def deviation_get(*, product: Product, number: int) -> Deviation:
    deviation = deviation_list(product=product).filter(number=number).first()
    if deviation is None:
        raise NotFound(f"{product.key} has no deviation DEV-{number}", product=product.key, deviation=number)
    return deviation


@dataclass(frozen=True)
class ItemRecord:
    """An item as the spreadsheet export writes it: its fields, outgoing links and clauses."""

    key: str
    kind: str
    title: str
    text: str
    status: str
    attributes: dict[str, Any]
    links: dict[str, list[str]]
    clauses: list[str]
    updated_at: datetime


@read_snapshot()
def item_records(*, product: Product) -> list[ItemRecord]:
    """Every item of a product with its outgoing links (by type) and clauses, ordered by key.

    Three queries whatever the number of items, in one snapshot (an export never pairs an item
    list with links of another moment); links and clauses are sorted for a stable export.
    """
    items = list(
        Item.objects.filter(product=product)
        .order_by("key")
        .values_list("pk", "key", "kind", "title", "text", "status", "attributes", "updated_at")
    )
    links: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for source_id, link_type, target_key in (
        Link.objects.filter(product=product)
        .order_by("source_id", "link_type", "target__key")
        .values_list("source_id", "link_type", "target__key")
    ):
        links[source_id][link_type].append(target_key)
    clauses: dict[int, list[str]] = defaultdict(list)
    for item_id, slug, number in (
        ClauseLink.objects.filter(product=product)
        .order_by("item_id", "clause__standard__slug", "clause__position", "clause__number")
        .values_list("item_id", "clause__standard__slug", "clause__number")
    ):
        clauses[item_id].append(f"{slug}:{number}")
    return [
        ItemRecord(
            key=key,
            kind=kind,
            title=title,
            text=text,
            status=item_status,
            attributes=attributes,
            links=dict(links[pk]) if pk in links else {},
            clauses=clauses.get(pk, []),
            updated_at=updated_at,
        )
        for pk, key, kind, title, text, item_status, attributes, updated_at in items
    ]
