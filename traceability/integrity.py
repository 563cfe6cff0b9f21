"""Whether a release's records hold up: its baseline, its signatures, its approval and its state,
checked against their seals and against each other.

``release_integrity`` is what every read of a release asks first (``graph_load``: the status API,
the pages, the matrix, the reports): a release whose records contradict each other is answered
409 ``integrity_error``, never served. The same checks, over every release, every stored report
and what the audit trail witnessed, are registered for ``audit_verify``, with the check of pull
requests against their audit events.

Approved is derived, never read from a field: a release is approved when its state says approved
(or released) *and* its approval record is sealed, names the current baseline hash, and carries a
sealed approval signature over that hash.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qms.canonical import digest_of
from qms.errors import Conflict
from qms.integrity.records import RecordProblem, Witnessed, record_check
from qms.models import AuditEvent, Signature, SignatureMeaning, signature_is_sealed
from traceability.graph.load import BaselineCorrupt, baseline_verified, iso
from traceability.models import (
    Baseline,
    Deviation,
    DeviationRevocation,
    Product,
    PullRequest,
    PullRequestLink,
    PullRequestReview,
    Release,
    ReleaseApproval,
    ReleaseState,
    TraceReport,
)
from traceability.models.deviations import (
    DEVIATION_RECORD_TYPE,
    REVOCATION_RECORD_TYPE,
    deviation_content,
    revocation_content,
)
from traceability.models.pull_requests import pull_request_state
from traceability.models.releases import approval_is_sealed, baseline_is_sealed
from traceability.models.reports import ReportState, report_is_sealed

RELEASE_RECORD_TYPE = "traceability.release"
APPROVAL_MEANINGS = (SignatureMeaning.APPROVAL.value, SignatureMeaning.RESPONSIBILITY.value)
APPROVED_STATES = (ReleaseState.APPROVED.value, ReleaseState.RELEASED.value)


@dataclass
class ReleaseIntegrity:
    """What a release's records say together."""

    release: Release
    baseline_sha256: str  # "" without a baseline
    approval_signature_id: int | None = None  # the approval that holds up
    problems: list[str] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)  # over the release, oldest first

    @property
    def approved(self) -> bool:
        return not self.problems and self.approval_signature_id is not None and self.release.state in APPROVED_STATES

    def raise_if_broken(self) -> None:
        if self.problems:
            release = self.release
            raise Conflict(
                f"{release.product.key} {release.version} is not served: its records do not hold up "
                f"({'; '.join(self.problems)}). Nothing was changed; run `python manage.py audit_verify` and restore "
                "the records from a verified backup",
                code="integrity_error",
                version=release.version,
                problems=self.problems,
            )


def baseline_missing(release: Release, product: Product | None = None) -> Conflict:
    """The error for a frozen release whose baseline row is gone (never answered from live data)."""
    return Conflict(
        f"{(product or release.product).key} {release.version} was frozen at {iso(release.frozen_at)} but its "
        "baseline is missing; it is never replaced by live data (restore the baseline from a backup)",
        code="baseline_missing",
        version=release.version,
    )


def baseline_corrupt(release: Release, exc: BaselineCorrupt) -> Conflict:
    """The error for a baseline that no longer matches its SHA-256 (never used)."""
    return Conflict(str(exc), code="baseline_corrupt", version=release.version)


def release_integrity(release: Release, baseline: Baseline | None) -> ReleaseIntegrity:
    """Check the release's records against each other (two queries: signatures, approval).

    ``baseline``: the release's baseline row with ``sha256``, ``seal``, ``created_at`` and the
    counts (None when it has none). Its content against its hash is checked where it is read.
    """
    product = release.product.key
    integrity = ReleaseIntegrity(release, baseline.sha256 if baseline is not None else "")
    problems = integrity.problems
    if baseline is None:
        # nothing is signed or approved without a baseline (audit_verify checks every signature's seal)
        if release.state not in (ReleaseState.DRAFT, ReleaseState.WITHDRAWN):
            problems.append(f"its state says {release.state} but it has no baseline")
        return integrity
    if release.state == ReleaseState.DRAFT or release.frozen_at is None:
        problems.append(f"it has a baseline but its state says {release.state} (changed in the database)")
    if not baseline_is_sealed(release_id=release.pk, product=product, version=release.version, baseline=baseline):
        problems.append("its baseline does not carry this release's seal (replaced, edited or moved in the database)")
    integrity.signatures = list(
        Signature.objects.filter(record_type=RELEASE_RECORD_TYPE, record_id=str(release.pk)).order_by("signed_at", "id")
    )
    signatures = {signature.pk: signature for signature in integrity.signatures}
    for signature in signatures.values():
        if not signature_is_sealed(signature):
            problems.append(f"signature #{signature.pk} does not match its seal (written or altered in the database)")
        elif signature.record_hash != baseline.sha256:
            problems.append(
                f"signature #{signature.pk} by {signature.printed_name} was applied to baseline "
                f"{signature.record_hash[:12]}…, not to the baseline {baseline.sha256[:12]}… it has now"
            )
    approval = ReleaseApproval.objects.filter(release=release).first()
    if approval is None:
        if release.state in APPROVED_STATES:
            problems.append(f"its state says {release.state} but no release approval was ever signed")
        return integrity
    approving = signatures.get(approval.signature_id)
    if approving is None or not approval_is_sealed(approval, signature_seal=approving.seal):
        problems.append("its approval record does not match its seal (written or altered in the database)")
    elif approving.meaning not in APPROVAL_MEANINGS or approval.baseline_sha256 != integrity.baseline_sha256:
        problems.append("its approval record does not name an approval signature over the current baseline")
    if release.state not in (*APPROVED_STATES, ReleaseState.WITHDRAWN):
        problems.append(f"it was approved but its state says {release.state} (changed in the database)")
    if not problems:
        integrity.approval_signature_id = approval.signature_id
    return integrity


def release_integrity_of(release: Release) -> ReleaseIntegrity:
    """``release_integrity`` with the baseline row read here (three queries), its content checked
    against its hash first: Conflict ``baseline_missing`` or ``baseline_corrupt`` when it is gone
    or altered."""
    baseline = Baseline.objects.filter(release=release).first()
    if baseline is None and release.frozen_at is not None:
        raise baseline_missing(release)
    if baseline is not None:
        try:
            baseline_verified(baseline.content, baseline.sha256, version=release.version)
        except BaselineCorrupt as exc:
            raise baseline_corrupt(release, exc) from exc
    return release_integrity(release, baseline)


# --- what audit_verify checks ------------------------------------------------------------------


@record_check("releases", witnesses=("release.frozen", "release.approved"))
def releases_check(witnessed: Witnessed) -> Iterator[RecordProblem]:
    """Every release: its baseline against its hash and seal, its signatures, its approval and its
    state; and every freeze and approval the trail witnessed still has its baseline and record."""
    frozen = witnessed.get("release.frozen", set())
    approved = witnessed.get("release.approved", set())
    for release in Release.objects.select_related("product").order_by("id").iterator(chunk_size=500):
        name = f"release {release.product.key} {release.version}"
        baseline = Baseline.objects.filter(release=release).first()
        if baseline is not None:
            try:
                baseline_verified(baseline.content, baseline.sha256, version=release.version)
            except BaselineCorrupt:
                yield RecordProblem(name, "its baseline's content does not match its SHA-256 (edited in the database)")
        elif str(release.pk) in frozen:
            yield RecordProblem(name, "the audit trail records its freeze, but its baseline is gone")
        for problem in release_integrity(release, baseline).problems:
            yield RecordProblem(name, problem)
        if str(release.pk) in approved and not ReleaseApproval.objects.filter(release=release).exists():
            yield RecordProblem(name, "the audit trail records its approval, but the approval record is gone")


@record_check("reports")
def reports_check(witnessed: Witnessed) -> Iterator[RecordProblem]:
    """Every stored report carries the seal over its file's name, size and SHA-256."""
    for report in TraceReport.objects.filter(state=ReportState.READY).order_by("id").iterator(chunk_size=500):
        if not report_is_sealed(report):
            yield RecordProblem(
                f"report {report.document_id} r{report.revision} ({report.format})",
                "its recorded file, size or SHA-256 does not match its seal (changed in the database)",
            )


@record_check("deviations", witnesses=("deviation.signed", "deviation.revoked"))
def deviations_check(witnessed: Witnessed) -> Iterator[RecordProblem]:
    """Every deviation and revocation still has the content its sealed signature was applied over,
    and every one the trail records signed or revoked is still there (a deleted revocation would
    put a withdrawn deviation back in force)."""
    signed = witnessed.get("deviation.signed", set())
    revoked = witnessed.get("deviation.revoked", set())
    signatures = {
        (signature.record_type, signature.record_id): signature
        for signature in Signature.objects.filter(record_type__in=(DEVIATION_RECORD_TYPE, REVOCATION_RECORD_TYPE))
    }
    present: set[str] = set()
    for deviation in Deviation.objects.select_related("product", "created_by").order_by("id"):
        name = f"deviation {deviation.product.key} {deviation.label}"
        present.add(str(deviation.pk))
        content = deviation_content(
            product_key=deviation.product.key,
            number=deviation.number,
            rule=deviation.rule,
            item=deviation.item_key,
            severity=deviation.severity,
            rationale=deviation.rationale,
            created_at=deviation.created_at,
            signer=deviation.created_by.get_username(),
        )
        yield from _signed_record_problems(
            name, signatures.get((DEVIATION_RECORD_TYPE, str(deviation.pk))), digest_of(content), deviation.sha256
        )
        if str(deviation.pk) not in signed:
            yield RecordProblem(name, "the audit trail has no deviation.signed event for it")
    for missing in sorted(signed - present, key=int):
        yield RecordProblem(f"deviation #{missing}", "the audit trail records it signed, but it is gone")
    revocations = DeviationRevocation.objects.select_related("deviation__product", "created_by").order_by("id")
    revoked_present = set()
    for revocation in revocations:
        deviation = revocation.deviation
        revoked_present.add(str(deviation.pk))
        content = revocation_content(
            product_key=deviation.product.key,
            deviation=deviation,
            revocation=revocation,
            signer=revocation.created_by.get_username(),
        )
        yield from _signed_record_problems(
            f"revocation of {deviation.product.key} {deviation.label}",
            signatures.get((REVOCATION_RECORD_TYPE, str(revocation.pk))),
            digest_of(content),
            revocation.sha256,
        )
    for missing in sorted(revoked - revoked_present, key=int):
        yield RecordProblem(
            f"deviation #{missing}",
            "the audit trail records its revocation, but the revocation is gone (in force again)",
        )


def _signed_record_problems(
    name: str, signature: Signature | None, content_sha256: str, stored_sha256: str
) -> Iterator[RecordProblem]:
    if signature is None:
        yield RecordProblem(name, "it has no signature")
    elif not signature_is_sealed(signature):
        yield RecordProblem(name, f"its signature #{signature.pk} does not match its seal")
    elif not content_sha256 == stored_sha256 == signature.record_hash:
        yield RecordProblem(name, "its content is not what was signed (edited in the database)")


PULL_REQUEST_ACTIONS = ("pull_request.created", "pull_request.updated")


@record_check("pull_requests", witnesses=("pull_request.created",))
def pull_requests_check(witnessed: Witnessed) -> Iterator[RecordProblem]:
    """Every pull request, with its reviews and item links, is what the newest of its audit events
    says it became (a review turned into an approval in the database is caught here), and every
    one the trail records created is still there."""
    recorded: dict[str, Any] = {}
    for object_id, after in (
        AuditEvent.objects.filter(object_type="traceability.pullrequest", action__in=PULL_REQUEST_ACTIONS)
        .order_by("id")
        .values_list("object_id", "after")
        .iterator(chunk_size=2000)
    ):
        recorded[object_id] = after  # oldest first: the newest stays
    reviews: dict[int, list[PullRequestReview]] = defaultdict(list)
    for review in PullRequestReview.objects.order_by("id").iterator(chunk_size=2000):
        reviews[review.pull_request_id].append(review)
    links: dict[int, dict[str, str]] = defaultdict(dict)
    for pull_request_id, key, kind in PullRequestLink.objects.values_list("pull_request_id", "item__key", "kind"):
        links[pull_request_id][key] = kind
    present: set[str] = set()
    for pull_request in PullRequest.objects.select_related("product").order_by("id").iterator(chunk_size=500):
        present.add(str(pull_request.pk))
        name = f"pull request {pull_request.product.key} {pull_request}"
        after = recorded.get(str(pull_request.pk))
        if after is None:
            yield RecordProblem(name, "the audit trail has no event for it")
        elif after != pull_request_state(pull_request, reviews[pull_request.pk], links[pull_request.pk]):
            yield RecordProblem(name, "it, its reviews or its item links are not what the audit trail last recorded")
    for missing in sorted(witnessed.get("pull_request.created", set()) - present, key=int):
        yield RecordProblem(f"pull request #{missing}", "the audit trail records it, but it is gone")
