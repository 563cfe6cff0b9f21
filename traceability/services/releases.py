"""Writes of releases: creation, freezing (the baseline), signatures and approval, the release
and its withdrawal.

State machine: draft → frozen → approved → released; draft, frozen, approved or released →
withdrawn (with a reason). A frozen baseline never changes.
"""

import json
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from qms.errors import Conflict, Forbidden, InvalidInput
from qms.models import Signature, SignatureMeaning
from qms.roles import Scope, user_write_scopes
from qms.services import audit_checkpoint_after_commit, audit_record, signature_apply
from qms.services.accounts import signing_attempt
from traceability.approval_checks import release_approval_problems
from traceability.graph.gaps import gaps_find
from traceability.graph.load import (
    BaselineCorrupt,
    baseline_content,
    baseline_serialise,
    baseline_verified,
    graph_from_content,
    graph_load_live,
    iso,
    release_info,
)
from traceability.integrity import (
    APPROVAL_MEANINGS,
    RELEASE_RECORD_TYPE,
    baseline_corrupt,
    baseline_missing,
    release_integrity,
)
from traceability.models import Baseline, Product, Release, ReleaseApproval, ReleaseState
from traceability.models.releases import approval_seal, baseline_seal

# Tables whose rows make up a baseline; locked against writers while a baseline is taken.
_TRACE_TABLES = (
    "traceability_item",
    "traceability_link",
    "traceability_clauselink",
    "traceability_testrun",
    "traceability_testresult",
    "traceability_commit",
    "traceability_commitlink",
    "traceability_deviation",
    "traceability_deviationrevocation",
)


def release_repr(release: Release, product: Product | None = None) -> str:
    return f"{(product or release.product).key} {release.version}"


def release_state(release: Release) -> dict[str, Any]:
    return {
        "version": release.version,
        "state": release.state,
        "git_tag": release.git_tag,
        "commit_sha": release.commit_sha,
        "notes": release.notes,
        "frozen_at": iso(release.frozen_at),
        "withdrawn_reason": release.withdrawn_reason,
    }


def _full_clean(release: Release) -> None:
    """The model's validators, as InvalidInput naming the field (a reserved version: ``version_reserved``)."""
    try:
        release.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        code = "version_reserved" if exc.error_dict[field][0].code == "reserved" else None
        raise InvalidInput(f"{field}: {messages[0]}", field=field, code=code) from exc


def _audit(release: Release, action: str, actor: User | None, before: Any = None, note: str = "") -> None:
    product = release.product
    audit_record(
        actor=actor,
        action=action,
        obj=release,
        scope=product.key,
        object_repr=release_repr(release, product),
        before=before,
        after=release_state(release),
        note=note,
    )


def _move(release: Release, state: str, actor: User | None) -> None:
    release.state = state
    release.state_changed_at = timezone.now()
    release.state_changed_by = actor


@transaction.atomic
def release_create(
    *,
    product: Product,
    version: str,
    actor: User | None,
    git_tag: str = "",
    commit_sha: str = "",
    notes: str = "",
) -> Release:
    """A new draft release of the product."""
    if Release.objects.filter(product=product, version=version).exists():
        raise Conflict(f"{product.key} already has a release {version}", field="version", version=version)
    release = Release(
        product=product,
        version=version.strip(),
        git_tag=git_tag.strip(),
        commit_sha=commit_sha.strip().lower(),
        notes=notes,
        created_by=actor,
        state_changed_by=actor,
    )
    _full_clean(release)
    try:
        with transaction.atomic():
            release.save()
    except IntegrityError as exc:  # a concurrent request created it first
        raise Conflict(f"{product.key} already has a release {version}", field="version", version=version) from exc
    _audit(release, "release.created", actor)
    return release


def _lock_trace_tables() -> None:
    """On PostgreSQL, hold writers of the trace tables back until the baseline is taken, so it
    is one consistent moment (readers are not blocked). Taken before anything else of the freeze,
    before the audit chain's head above all: a writer already under way (a CI upload) appends to
    the chain last, and would otherwise wait for the freeze while the freeze waits for it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {', '.join(_TRACE_TABLES)} IN SHARE MODE")


@transaction.atomic
def release_freeze(
    *,
    product: Product,
    version: str,
    actor: User | None,
    commit_sha: str | None = None,
    git_tag: str | None = None,
) -> Release:
    """Take the release's immutable baseline (creating the release if it does not exist).

    The baseline holds every item revision, link, clause link, the results bound to the release,
    the commits linked to items and the signed deviations in force, as canonical JSON with its
    SHA-256 (a deviation signed or revoked later does not change it). Freezing a release that
    is not a draft raises Conflict (409).
    """
    _lock_trace_tables()
    release = Release.objects.select_for_update().filter(product=product, version=version).first()
    if release is None:
        release = release_create(
            product=product, version=version, actor=actor, commit_sha=commit_sha or "", git_tag=git_tag or ""
        )
    elif release.state != ReleaseState.DRAFT:
        raise Conflict(
            f"{release_repr(release, product)} is already {release.state}; a frozen baseline never changes",
            code="release_frozen",
            version=version,
            state=release.state,
        )
    else:
        before = release_state(release)
        if commit_sha is not None:
            release.commit_sha = commit_sha.strip().lower()
        if git_tag is not None:
            release.git_tag = git_tag.strip()
        _full_clean(release)
        if release_state(release) != before:
            release.save(update_fields=["commit_sha", "git_tag"])
            _audit(release, "release.updated", actor, before=before)
    before = release_state(release)
    graph = graph_load_live(product=product, release=release)
    taken_at = timezone.now()
    text, digest = baseline_serialise(baseline_content(graph, taken_at=iso(taken_at) or ""))
    baseline = Baseline(
        release=release,
        content=text,
        sha256=digest,
        item_count=len(graph.items),
        link_count=len(graph.links),
        result_count=len(graph.results),
        created_at=taken_at,
        created_by=actor,
    )
    baseline.seal = baseline_seal(
        release_id=release.pk, product=product.key, version=release.version, baseline=baseline
    )
    baseline.save()
    release.frozen_at = taken_at
    _move(release, ReleaseState.FROZEN, actor)
    release.save(update_fields=["frozen_at", "state", "state_changed_at", "state_changed_by"])
    _audit(
        release,
        "release.frozen",
        actor,
        before=before,
        note=(
            f"baseline sha256 {digest}: {len(graph.items)} items, {len(graph.links)} links, "
            f"{len(graph.results)} results"
        ),
    )
    return release


def _baseline_of(release: Release) -> tuple[str, str]:
    """The stored text and SHA-256 of the release's baseline, checked against each other and
    against the release's other records: nothing is signed over a baseline that is gone, altered,
    or whose release does not hold up."""
    baseline = Baseline.objects.filter(release=release).first()
    if baseline is None:
        if release.frozen_at is not None:
            raise baseline_missing(release)
        raise Conflict(f"{release_repr(release)} has no baseline; freeze it first", code="release_not_frozen")
    try:
        baseline_verified(baseline.content, baseline.sha256, version=release.version)
    except BaselineCorrupt as exc:
        raise baseline_corrupt(release, exc) from exc
    release_integrity(release, baseline).raise_if_broken()
    return baseline.content, baseline.sha256


def _signable(release: Release, *, signer: User, states: tuple[str, ...], what: str) -> tuple[Release, str, str]:
    if Scope.APPROVALS not in user_write_scopes(signer):
        raise Forbidden(f"{signer.get_username()} may not sign releases (needs the '{Scope.APPROVALS}' scope)")
    release = Release.objects.select_for_update().select_related("product").get(pk=release.pk)
    if release.state not in states:
        raise Conflict(
            f"{release_repr(release)} is {release.state}; only a {' or '.join(states)} release can be {what}",
            code="release_state",
            state=release.state,
        )
    content, sha256 = _baseline_of(release)
    return release, content, sha256


@signing_attempt
@transaction.atomic
def release_sign(
    *,
    release: Release,
    signer: User,
    password: str,
    meaning: str,
    comment: str = "",
    client_address: str | None = None,
) -> Signature:
    """Add a signature (authorship or review) to a frozen, approved or released release's baseline,
    without changing its state. Approval meanings are refused: only ``release_approve`` approves.
    Signing the same again returns the existing signature (``repeated``)."""
    if meaning in APPROVAL_MEANINGS:
        raise InvalidInput(
            f"a {meaning} signature is the release approval: give it with the approval (POST .../approve/, the "
            "release page's Approve and sign), which checks the gaps and moves the release to approved; "
            f"other signatures mean {' or '.join(m for m in SignatureMeaning.values if m not in APPROVAL_MEANINGS)}",
            field="meaning",
            code="approval_meaning",
        )
    release, _, sha256 = _signable(
        release,
        signer=signer,
        states=(ReleaseState.FROZEN, ReleaseState.APPROVED, ReleaseState.RELEASED),
        what="signed",
    )
    return signature_apply(
        signer=signer,
        password=password,
        meaning=meaning,
        record_type=RELEASE_RECORD_TYPE,
        record_id=str(release.pk),
        record_repr=release_repr(release),
        record_hash=sha256,
        comment=comment,
        scope=release.product.key,
        client_address=client_address,
    )


@signing_attempt
@transaction.atomic
def release_approve(
    *,
    release: Release,
    signer: User,
    password: str,
    meaning: str = SignatureMeaning.APPROVAL,
    comment: str = "",
    client_address: str | None = None,
) -> Release:
    """The manufacturer's release approval (RegOps gate G5): a Part 11 signature over the
    baseline's SHA-256 by a user with the ``approvals`` scope; moves a frozen release to approved.

    Refused with Conflict (409), listing them, while error-level gaps exist in the baseline.
    """
    if meaning not in APPROVAL_MEANINGS:
        raise InvalidInput(
            f"an approval signature means {' or '.join(APPROVAL_MEANINGS)}, not {meaning!r} "
            "(other signatures do not approve; add them to the release's signatures)",
            field="meaning",
        )
    release, content, sha256 = _signable(release, signer=signer, states=(ReleaseState.FROZEN,), what="approved")
    try:
        # _signable has checked the text against its hash; an unknown format is still refused here
        graph = graph_from_content(json.loads(content), release=release_info(release, baseline_sha256=sha256))
    except BaselineCorrupt as exc:
        raise baseline_corrupt(release, exc) from exc
    report = gaps_find(graph)
    errors = [finding for finding in report.findings if finding.severity == "error"]
    if errors:
        listed = "; ".join(f"{finding.rule}: {finding.message}" for finding in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise Conflict(
            f"{release_repr(release)} has {len(errors)} error-level gap{'s' if len(errors) != 1 else ''}: "
            f"{listed}{more}",
            code="release_not_ready",
            gaps=[finding.as_dict() for finding in errors],
        )
    waiting = release_approval_problems(release, sha256)
    if waiting:
        raise Conflict(
            f"{release_repr(release)} cannot be approved yet: {'; '.join(waiting)}",
            code="approval_waiting",
            problems=waiting,
        )
    before = release_state(release)
    signature = signature_apply(
        signer=signer,
        password=password,
        meaning=meaning,
        record_type=RELEASE_RECORD_TYPE,
        record_id=str(release.pk),
        record_repr=release_repr(release),
        record_hash=sha256,
        comment=comment,
        scope=release.product.key,
        client_address=client_address,
    )
    approval = ReleaseApproval(
        release=release,
        signature=signature,
        baseline_sha256=sha256,
        approved_at=signature.signed_at,
        approved_by=signer,
    )
    approval.seal = approval_seal(approval, signature_seal=signature.seal)
    approval.save()
    _move(release, ReleaseState.APPROVED, signer)
    release.save(update_fields=["state", "state_changed_at", "state_changed_by"])
    _audit(release, "release.approved", signer, before=before, note=f"signature #{signature.pk} over {sha256}")
    audit_checkpoint_after_commit()  # the approval is anchored outside the database
    return release


@transaction.atomic
def release_mark_released(*, release: Release, actor: User | None) -> Release:
    """An approved release goes out (deployed to production or shipped)."""
    release = Release.objects.select_for_update().select_related("product").get(pk=release.pk)
    if release.state != ReleaseState.APPROVED:
        raise Conflict(
            f"{release_repr(release)} is {release.state}; only an approved release can be released",
            code="release_state",
            state=release.state,
        )
    before = release_state(release)
    _move(release, ReleaseState.RELEASED, actor)
    release.save(update_fields=["state", "state_changed_at", "state_changed_by"])
    _audit(release, "release.released", actor, before=before)
    return release


@transaction.atomic
def release_withdraw(*, release: Release, actor: User | None, reason: str) -> Release:
    """Withdraw a release (any state but withdrawn); the reason is required. Its baseline and
    signatures stay as they were."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("withdrawing a release needs a reason", field="reason")
    release = Release.objects.select_for_update().select_related("product").get(pk=release.pk)
    if release.state == ReleaseState.WITHDRAWN:
        raise Conflict(f"{release_repr(release)} is already withdrawn", code="release_state", state=release.state)
    before = release_state(release)
    release.withdrawn_reason = reason
    _move(release, ReleaseState.WITHDRAWN, actor)
    release.save(update_fields=["withdrawn_reason", "state", "state_changed_at", "state_changed_by"])
    _audit(release, "release.withdrawn", actor, before=before, note=reason)
    return release
