"""Reads for trace reports: a release's report identity (cheap: no graph), its full report
content (the baseline's graph, the previous release's baseline, the signatures), stored reports.
Each is read in one snapshot (``qms.snapshot``): the identity's state and signatures and the
content's baselines are of one moment."""

from django.db.models import QuerySet
from django.utils import timezone

from qms.errors import Conflict
from qms.snapshot import read_snapshot
from traceability.graph.load import iso
from traceability.graph.selectors import graph_load
from traceability.integrity import ReleaseIntegrity, release_integrity_of
from traceability.models import Baseline, Release, ReleaseState, TraceReport
from traceability.reports.content import ReportContent
from traceability.reports.identity import ReportIdentity, SignatureEntry


def previous_frozen_release(release: Release) -> Release | None:
    """The newest release of the same product created before this one that has a baseline."""
    return (
        Release.objects.filter(product_id=release.product_id, baseline__isnull=False)
        .filter(created_at__lte=release.created_at)
        .exclude(pk=release.pk)
        .exclude(created_at=release.created_at, id__gt=release.pk)
        .select_related("product")
        .order_by("-created_at", "-id")
        .first()
    )


def signature_entries(integrity: ReleaseIntegrity) -> tuple[SignatureEntry, ...]:
    return tuple(
        SignatureEntry(
            id=signature.pk,
            printed_name=signature.printed_name,
            username=signature.signer_username,
            signed_at=iso(signature.signed_at) or "",
            meaning=signature.meaning,
            comment=signature.comment,
            record_hash=signature.record_hash,
            release_approval=signature.pk == integrity.approval_signature_id,
        )
        for signature in integrity.signatures
    )


@read_snapshot()
def report_identity(*, release: Release) -> ReportIdentity:
    """What a stored report of this frozen release depends on, now (four queries: baseline,
    signatures, approval, previous release), with the release's state as the caller read it
    (``report_content_current`` reads it again). A release whose records do not hold up is a
    Conflict (``integrity_error``): no report is made of it."""
    integrity = release_integrity_of(release)
    integrity.raise_if_broken()
    sha256 = integrity.baseline_sha256 or None
    if sha256 is None:
        raise Conflict(
            f"{release.product.key} {release.version} is a draft: it has no baseline to report on; freeze it first "
            "(the trace_report command renders a draft as a preview marked NOT FROZEN)",
            code="release_not_frozen",
            version=release.version,
        )
    previous = previous_frozen_release(release)
    previous_sha = ""
    if previous is not None:
        previous_sha = Baseline.objects.filter(release=previous).values_list("sha256", flat=True).get()
    return ReportIdentity(
        product=release.product.key,
        version=release.version,
        baseline_sha256=sha256,
        release_state=release.state,
        withdrawn_reason=release.withdrawn_reason if release.state == ReleaseState.WITHDRAWN else "",
        previous_version=previous.version if previous is not None else "",
        previous_sha256=previous_sha,
        signatures=tuple(entry for entry in signature_entries(integrity) if entry.record_hash == sha256),
    )


@read_snapshot()
def report_content_for(*, release: Release, identity: ReportIdentity, with_previous: bool = True) -> ReportContent:
    """The content of a stored report: the release's baseline, with exactly the identity's
    signatures, state and previous release (so a report asked for before a new signature is
    rendered as it was asked for). ``with_previous=False`` skips loading the previous baseline
    (for the tables, which do not show the changes)."""
    graph = graph_load(product=release.product, release=release)
    if not graph.is_frozen or graph.release is None or graph.release.baseline_sha256 != identity.baseline_sha256:
        raise Conflict(f"{release} no longer has the baseline {identity.baseline_sha256}", code="baseline_changed")
    previous = None
    if identity.previous_version and with_previous:
        before = Release.objects.select_related("product").get(
            product=release.product, version=identity.previous_version
        )
        previous = graph_load(product=release.product, release=before)
    return ReportContent(
        graph,
        signatures=identity.signatures,
        previous=previous,
        previous_version=identity.previous_version,
        release_state=identity.release_state,
        withdrawn_reason=identity.withdrawn_reason,
    )


@read_snapshot()
def report_content_current(*, release: Release, with_previous: bool = True) -> ReportContent:
    """The report content of a frozen release as it is now: the release's state, the identity
    and the baselines read in one snapshot."""
    release = Release.objects.select_related("product").get(pk=release.pk)
    return report_content_for(release=release, identity=report_identity(release=release), with_previous=with_previous)


@read_snapshot()
def report_content_for_release(*, release: Release) -> ReportContent:
    """The report content of a release as it is now: its baseline when frozen, otherwise a
    preview from live data marked NOT FROZEN (dated now). One snapshot."""
    release = Release.objects.select_related("product").get(pk=release.pk)
    if Baseline.objects.filter(release=release).exists():
        return report_content_for(release=release, identity=report_identity(release=release))
    graph = graph_load(product=release.product, release=release)
    return ReportContent(graph, release_state=release.state, generated_at=iso(timezone.now()))


def trace_report_list(*, release: Release) -> QuerySet[TraceReport]:
    """Stored reports of a release, newest first (one query)."""
    return (
        TraceReport.objects.filter(release=release)
        .select_related("release__product", "requested_by")
        .order_by("-requested_at", "-id")
    )
