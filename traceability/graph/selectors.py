"""Domain questions answered from the trace graph: the matrix of a release, its gaps, its
status, the change record between releases, the impact of changing an item.

A frozen release is answered from its baseline; a draft release (or no release) from the live
database, with the evidence bound to the release. Each answer is read in one snapshot
(``qms.snapshot.read_snapshot``): the release's state, its baseline or live graph and its
signatures are of the same moment, whatever CI writes meanwhile.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count

from qms.errors import InvalidInput, NotFound
from qms.models import Signature, SignatureMeaning, signature_is_sealed
from qms.snapshot import read_snapshot
from traceability.graph.diff import BaselineDiff, graph_diff
from traceability.graph.gaps import GapReport, gaps_find, suspect_links_of
from traceability.graph.load import BaselineCorrupt, graph_from_baseline_text, graph_load_live, iso, release_info
from traceability.graph.matrix import DEFAULT_ROOT_KIND, ReverseRow, reverse_rows
from traceability.graph.model import TraceGraph, TraceItem, TraceLink
from traceability.graph.risk import RiskRow, risk_trace_rows
from traceability.graph.summary import Matrix, matrix_build
from traceability.integrity import baseline_corrupt, baseline_missing, release_integrity
from traceability.kinds import LinkType
from traceability.models import Baseline, Item, Product, Release
from traceability.models.items import ITEM_RECORD_TYPE

if TYPE_CHECKING:
    from traceability.graph.model import ItemRef
    from traceability.graph.walks import Cycle, Impact, Trace


@dataclass
class ItemWalks:
    """The walks the item page shows, from one graph: impact of a change, upstream, downstream."""

    impact: "Impact"
    upstream: "Trace"
    downstream: "Trace"
    clauses: list[tuple[str, str]] = field(default_factory=list)  # the impact's clauses: (label, reference)


@read_snapshot()
def graph_load(*, product: Product, release: Release | None = None) -> TraceGraph:
    """The graph of a release: its baseline when frozen, otherwise live data with the evidence
    bound to the release. Without a release: live data with the newest result per test case.
    One snapshot; the release's state, tag and commit are read again in it, with the baseline (the
    caller's ``release`` may have been frozen or withdrawn since it was read).

    A frozen release is never answered from live data: a baseline that no longer matches its
    hash (``baseline_corrupt``) or that is gone (``baseline_missing``) is a Conflict (409), and so
    is a release whose baseline, signatures, approval and state contradict each other
    (``integrity_error``, ``traceability.integrity``)."""
    if release is None:
        return graph_load_live(product=product)
    current = Release.objects.select_related("baseline").filter(pk=release.pk).first()
    if current is None:
        raise NotFound(
            f"{product.key} has no release {release.version!r}", product=product.key, version=release.version
        )
    current.product = product
    release = current
    try:
        baseline: Baseline | None = current.baseline
    except Baseline.DoesNotExist:
        baseline = None
    if baseline is None and release.frozen_at is not None:
        raise baseline_missing(release, product)
    integrity = release_integrity(release, baseline)
    if baseline is None:
        integrity.raise_if_broken()
        return graph_load_live(product=product, release=release)
    info = release_info(
        release,
        baseline_sha256=baseline.sha256,
        taken_at=iso(baseline.created_at),
        approved=integrity.approved,
        approval_signature_id=integrity.approval_signature_id,
    )
    try:
        graph = graph_from_baseline_text(baseline.content, baseline.sha256, release=info)
    except BaselineCorrupt as exc:
        raise baseline_corrupt(release, exc) from exc
    integrity.raise_if_broken()
    return graph


def matrix_for_release(
    *, product: Product, release: Release | None = None, root_kind: str = DEFAULT_ROOT_KIND, with_gaps: bool = True
) -> Matrix:
    return matrix_build(graph_load(product=product, release=release), root_kind=root_kind, with_gaps=with_gaps)


def reverse_matrix_for_release(
    *, product: Product, release: Release | None = None
) -> tuple[TraceGraph, list[ReverseRow]]:
    graph = graph_load(product=product, release=release)
    return graph, reverse_rows(graph)


def risk_trace_for_release(*, product: Product, release: Release | None = None) -> tuple[TraceGraph, list[RiskRow]]:
    graph = graph_load(product=product, release=release)
    return graph, risk_trace_rows(graph)


def gaps_for_release(*, product: Product, release: Release | None = None) -> tuple[TraceGraph, GapReport]:
    graph = graph_load(product=product, release=release)
    return graph, gaps_find(graph)


@read_snapshot()
def release_status(*, release: Release) -> dict[str, Any]:
    """What CI and deployment scripts ask: is this release frozen, ready (no error-level gap),
    approved? The release, its graph and its signatures are read in one snapshot. Approved is
    derived from the approval record (``traceability.integrity``); a release whose records
    contradict each other is a 409 ``integrity_error`` (raised by ``graph_load``)."""
    release = _release_now(release)
    product = release.product
    graph, report = gaps_for_release(product=product, release=release)
    signatures = Signature.objects.filter(record_type="traceability.release", record_id=str(release.pk)).aggregate(
        n=Count("id")
    )["n"]
    assert graph.release is not None
    return {
        "product": product.key,
        "version": release.version,
        "state": release.state,
        "frozen": graph.is_frozen,
        "ready": report.ready,
        "approved": graph.release.approved,
        "errors": report.errors,
        "warnings": report.warnings,
        "baseline_sha256": graph.release.baseline_sha256 if graph.release and graph.is_frozen else None,
        "commit_sha": release.commit_sha,
        "git_tag": release.git_tag,
        "signatures": signatures,
    }


def _release_now(release: Release) -> Release:
    """The release as it is now (in the caller's snapshot)."""
    current = Release.objects.select_related("product").filter(pk=release.pk).first()
    if current is None:
        raise NotFound(f"{release.product.key} has no release {release.version!r}", version=release.version)
    return current


@read_snapshot()
def baseline_diff(
    *, release_a: Release, release_b: Release | None = None, graph_b: TraceGraph | None = None
) -> BaselineDiff:
    """The change record from release A to release B (B None: to the live graph). ``graph_b``:
    B's graph when the caller has already loaded it (``graph_load(product, release_b)``)."""
    if release_b is not None and release_b.product_id != release_a.product_id:
        raise NotFound("both releases must belong to the same product")
    product = release_a.product
    before = graph_load(product=product, release=release_a)
    after = graph_b if graph_b is not None else graph_load(product=product, release=release_b)
    return graph_diff(before, after)


def items_impacted_by(*, product: Product, key: str) -> "Impact":
    """What a change to the item impacts, on the live graph."""
    # networkx is loaded only by the questions that walk the graph (import cost ~0.1 s per command)
    from traceability.graph.walks import impact_of

    graph = graph_load_live(product=product)
    _item_of(graph, product, key)
    return impact_of(graph, key)


def _item_of(graph: TraceGraph, product: Product, key: str) -> TraceItem:
    item = graph.items.get(key)
    if item is None:
        raise NotFound(f"{product.key} has no item {key!r}", product=product.key, key=key)
    return item


def item_trace(
    *,
    product: Product,
    key: str,
    direction: str,
    release: Release | None = None,
    link_types: list[str] | None = None,
) -> tuple[TraceGraph, "Trace"]:
    """Everything upstream or downstream of an item (of a release's baseline, or live), with
    depth, shortest path and suspect flags; through ``link_types`` only when given."""
    from traceability.graph.walks import DIRECTIONS, trace_of

    if direction not in DIRECTIONS:
        raise InvalidInput(
            f"direction: unknown direction {direction!r} (known: {', '.join(DIRECTIONS)})", field="direction"
        )
    unknown = sorted(set(link_types or ()) - set(LinkType.values))
    if unknown:
        raise InvalidInput(
            f"link_type: unknown link type {unknown[0]!r} (known: {', '.join(LinkType.values)})", field="link_type"
        )
    graph = graph_load(product=product, release=release)
    _item_of(graph, product, key)
    return graph, trace_of(graph, key, direction=direction, link_types=link_types)


def item_walks(*, product: Product, key: str) -> ItemWalks:
    """Impact, upstream and downstream of an item on the live graph, loaded once."""
    from traceability.graph.walks import DOWNSTREAM, UPSTREAM, impact_of, trace_of

    graph = graph_load_live(product=product)
    _item_of(graph, product, key)
    impact = impact_of(graph, key)
    return ItemWalks(
        impact=impact,
        upstream=trace_of(graph, key, direction=UPSTREAM),
        downstream=trace_of(graph, key, direction=DOWNSTREAM),
        clauses=[(graph.clause_label(ref), ref) for ref in impact.clauses],
    )


def orphans_for_release(*, product: Product, release: Release | None = None) -> tuple[TraceGraph, list["ItemRef"]]:
    """Non-obsolete items linked to no other non-obsolete item (documents aside)."""
    from traceability.graph.walks import orphan_items

    graph = graph_load(product=product, release=release)
    return graph, orphan_items(graph)


def cycles_for_release(*, product: Product, release: Release | None = None) -> tuple[TraceGraph, list["Cycle"]]:
    """Cycles of derives_from or part_of links (none unless data was written around the services)."""
    from traceability.graph.walks import hierarchy_cycles

    graph = graph_load(product=product, release=release)
    return graph, hierarchy_cycles(graph)


def suspect_links_for_release(*, product: Product, release: Release | None = None) -> list[TraceLink]:
    """Suspect links between non-obsolete items (of a release's baseline, or live), in natural order."""
    return suspect_links_of(graph_load(product=product, release=release))


@dataclass(frozen=True)
class ItemApproval:
    """An approval signature over an item's content (``traceability.services.items.item_approve``)."""

    key: str
    signature_id: int
    signer: str  # user name
    printed_name: str
    signed_at: datetime
    record_hash: str  # the fingerprint signed: the item's title, text and attributes
    record_repr: str  # e.g. "BOLUS CR-7 r4": the revision approved
    comment: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "signature_id": self.signature_id,
            "signer": self.signer,
            "printed_name": self.printed_name,
            "signed_at": iso(self.signed_at),
            "record_hash": self.record_hash,
            "record": self.record_repr,
            "comment": self.comment,
        }


@read_snapshot()
def item_approvals(*, product: Product, graph: TraceGraph) -> dict[str, ItemApproval | None]:
    """For every item of the graph (live or a release's baseline): the newest approval signature
    over the content the graph holds, or None. Two queries whatever the number of items.

    An approval counts only when its ``record_hash`` equals the item's fingerprint in the graph
    (an approval of other content, an older revision's say, does not) and its seal holds
    (a signature written or altered outside the application never counts; ``audit_verify``
    reports it). Items are matched by key to the product's item rows, so an item of a baseline
    that has since been made obsolete keeps its approvals.
    """
    keys = dict(Item.objects.filter(product=product).order_by().values_list("pk", "key"))
    fingerprints = {key: item.fingerprint for key, item in graph.items.items()}
    newest: dict[str, Signature] = {}
    for signature in Signature.objects.filter(
        record_type=ITEM_RECORD_TYPE, scope=product.key, meaning=SignatureMeaning.APPROVAL
    ).order_by("signed_at", "id"):
        key = keys.get(int(signature.record_id)) if signature.record_id.isdigit() else None
        if key is None or fingerprints.get(key) != signature.record_hash or not signature_is_sealed(signature):
            continue
        newest[key] = signature  # ordered oldest first: the last one kept is the newest
    approvals: dict[str, ItemApproval | None] = dict.fromkeys(graph.items)
    for key, signature in newest.items():
        approvals[key] = ItemApproval(
            key=key,
            signature_id=signature.pk,
            signer=signature.signer_username,
            printed_name=signature.printed_name,
            signed_at=signature.signed_at,
            record_hash=signature.record_hash,
            record_repr=signature.record_repr,
            comment=signature.comment,
        )
    return approvals
