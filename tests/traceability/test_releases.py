import json
import re
from datetime import UTC

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from qms.canonical import sha256_hex
from qms.errors import Conflict, Forbidden, InvalidInput, NotFound
from qms.models import AuditEvent, Signature
from tests.traceability.engine import baseline_remove, make_run
from traceability.graph.selectors import baseline_diff, graph_load, matrix_for_release, release_status
from traceability.models import Baseline, Release
from traceability.selectors import release_get, release_list, release_previous, release_signatures
from traceability.services.items import item_update
from traceability.services.links import link_create
from traceability.services.products import product_update
from traceability.services.releases import (
    release_approve,
    release_create,
    release_freeze,
    release_mark_released,
    release_sign,
    release_withdraw,
)

pytestmark = pytest.mark.django_db


def state() -> tuple[int, ...]:
    return (Release.objects.count(), Baseline.objects.count(), Signature.objects.count(), AuditEvent.objects.count())


@pytest.fixture
def clean(product, make_item, qm):
    """A product whose only gaps are warnings: SRS-1 ← TC-1, both approved, SRS-1 derived."""
    srs = make_item(
        "SRS-1", "software_requirement", status="approved", attributes={"derived_rationale": "product choice"}
    )
    swi = make_item("SWI-1", "software_item", status="approved", text="design")
    test = make_item("TC-1", "test_case", status="approved")
    link_create(source=test, target=srs, link_type="verifies", actor=qm)
    link_create(source=swi, target=srs, link_type="implements", actor=qm)
    for version in ("1.0", "1.1"):  # TC-1 passes in the releases the tests freeze
        make_run(product, {"TC-1": "passed"}, version=version)
    return {"SRS-1": srs, "TC-1": test, "SWI-1": swi}


def test_create_a_release(product, qm):
    release = release_create(product=product, version="1.0.0", actor=qm, git_tag="v1.0.0", commit_sha="ABCDEF1")
    assert (release.state, release.commit_sha, release.git_tag, release.is_frozen) == (
        "draft",
        "abcdef1",
        "v1.0.0",
        False,
    )
    event = AuditEvent.objects.get(action="release.created")
    assert (event.actor_username, event.scope, event.object_repr) == ("quinn", "DEMO", "DEMO 1.0.0")


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"version": "1.0 beta"}, InvalidInput, "version: A version such as 1.2.0"),
        ({"version": "1.0", "commit_sha": "xyz"}, InvalidInput, "commit_sha: A git commit SHA"),
        ({"version": "0.9"}, Conflict, "DEMO already has a release 0.9"),
        ({"version": "live"}, InvalidInput, "version: 'live' is reserved: it names the live graph"),
        ({"version": "Live"}, InvalidInput, "version: 'Live' is reserved"),
    ],
)
def test_bad_releases_are_refused_and_nothing_is_written(product, qm, fields, error, message):
    release_create(product=product, version="0.9", actor=qm)
    before = state()
    with pytest.raises(error, match=message):
        release_create(product=product, actor=qm, **fields)
    assert state() == before


def test_live_is_not_a_version(clean, product, qm):
    before = state()
    with pytest.raises(InvalidInput, match="version: 'live' is reserved") as raised:
        release_freeze(product=product, version="live", actor=qm)
    assert raised.value.code == "version_reserved" and state() == before
    # the model's validator refuses it too (admin, any full_clean)
    with pytest.raises(ValidationError, match="is reserved"):
        Release(product=product, version="LIVE").full_clean()


def test_freezing_takes_an_immutable_baseline(clean, product, qm):
    make_run(product, {"TC-1": "passed"}, version="1.0")
    release = release_freeze(product=product, version="1.0", actor=qm, commit_sha="abc1234", git_tag="v1.0")
    assert (release.state, release.commit_sha, release.git_tag, release.is_frozen) == (
        "frozen",
        "abc1234",
        "v1.0",
        True,
    )
    baseline = Baseline.objects.get(release=release)
    assert baseline.sha256 == sha256_hex(baseline.content.encode())
    assert (baseline.item_count, baseline.link_count, baseline.result_count) == (3, 2, 1)
    content = json.loads(baseline.content)
    assert content["release"] == {"version": "1.0", "git_tag": "v1.0", "commit_sha": "abc1234"}
    assert [item["key"] for item in content["items"]] == ["SRS-1", "SWI-1", "TC-1"]
    assert content["results"][0]["status"] == "passed"
    assert content["taken_at"] == release.frozen_at.isoformat().replace("+00:00", "Z")
    actions = list(AuditEvent.objects.filter(scope="DEMO").values_list("action", flat=True))
    assert actions[-2:] == ["release.created", "release.frozen"]
    assert baseline.sha256 in AuditEvent.objects.get(action="release.frozen").note

    # Later edits and results do not change what was frozen.
    item_update(item=clean["SRS-1"], actor=qm, title="Changed after the release")
    make_run(product, {"TC-1": "failed"}, version="1.0")
    matrix = matrix_for_release(product=product, release=release)
    assert matrix.frozen and matrix.rows[0].title == "SRS-1 title" and matrix.rows[0].status == "verified"
    assert matrix.as_dict()["baseline_sha256"] == baseline.sha256
    live = matrix_for_release(product=product, release=None)
    assert not live.frozen and live.rows[0].status == "failed"  # the newest result; a failure beats suspect
    assert live.rows[0].suspect_links == ["SWI-1 implements SRS-1", "TC-1 verifies SRS-1"]


def test_freezing_twice_is_a_conflict(clean, product, qm):
    release_freeze(product=product, version="1.0", actor=qm)
    before = state()
    with pytest.raises(Conflict, match=r"DEMO 1\.0 is already frozen; a frozen baseline never changes"):
        release_freeze(product=product, version="1.0", actor=qm)
    assert state() == before


def test_freezing_an_existing_draft_keeps_the_release(clean, product, qm):
    draft = release_create(product=product, version="1.0", actor=qm)
    frozen = release_freeze(product=product, version="1.0", actor=qm, commit_sha="abc1234")
    assert frozen.pk == draft.pk and frozen.commit_sha == "abc1234"
    assert AuditEvent.objects.filter(action="release.updated").count() == 1


def test_the_same_data_gives_the_same_baseline_bytes(clean, product, qm):
    from traceability.graph.load import baseline_content, baseline_serialise, graph_load_live

    release = release_create(product=product, version="1.0", actor=qm)
    first = baseline_serialise(baseline_content(graph_load_live(product=product, release=release), taken_at="t"))
    second = baseline_serialise(baseline_content(graph_load_live(product=product, release=release), taken_at="t"))
    assert first == second


def test_a_baseline_cannot_be_changed_or_deleted(clean, product, qm):
    release = release_freeze(product=product, version="1.0", actor=qm)
    baseline = Baseline.objects.get(release=release)
    with pytest.raises(RuntimeError, match="never changes"):
        baseline.save()
    with pytest.raises(RuntimeError, match="never deleted"):
        baseline.delete()
    with pytest.raises(IntegrityError, match="a baseline never changes once taken"), transaction.atomic():
        Baseline.objects.filter(pk=baseline.pk).update(content="{}")
    assert Baseline.objects.get(pk=baseline.pk).content == baseline.content


def test_a_tampered_baseline_is_detected(clean, product, qm):
    from django.db import connection

    release = release_freeze(product=product, version="1.0", actor=qm)
    with connection.cursor() as cursor:  # someone with database rights goes around the guard
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
        else:
            cursor.execute("DROP TRIGGER traceability_baseline_immutable")
        cursor.execute("UPDATE traceability_baseline SET content = replace(content, 'SRS-1 title', 'forged')")
    with pytest.raises(Conflict, match="does not match its SHA-256"):
        graph_load(product=product, release=release)
    before = state()
    for sign in (
        lambda: release_approve(release=release, signer=qm, password="quinn-pw"),
        lambda: release_sign(release=release, signer=qm, password="quinn-pw", meaning="review"),
    ):
        with pytest.raises(Conflict, match=r"baseline of 1\.0 does not match its SHA-256") as raised:
            sign()
        assert raised.value.code == "baseline_corrupt"
    assert state() == before  # nothing is signed over an altered baseline


def test_a_missing_baseline_is_a_conflict_never_live_data(clean, product, qm):
    release = release_freeze(product=product, version="1.0", actor=qm)
    baseline_remove()
    release.refresh_from_db()
    frozen_at = release.frozen_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    message = f"DEMO 1.0 was frozen at {frozen_at} but its baseline is missing"
    for question in (
        lambda: graph_load(product=product, release=release),
        lambda: matrix_for_release(product=product, release=release),
        lambda: release_status(release=release),
    ):
        with pytest.raises(Conflict, match=re.escape(message)) as raised:
            question()
        assert raised.value.code == "baseline_missing" and raised.value.context["version"] == "1.0"
    before = state()
    with pytest.raises(Conflict, match=re.escape(message)):
        release_approve(release=release, signer=qm, password="quinn-pw")
    assert state() == before
    # a release whose frozen_at was set without a baseline (any state) is refused the same way
    draft = release_create(product=product, version="2.0", actor=qm)
    Release.objects.filter(pk=draft.pk).update(frozen_at=release.frozen_at)
    draft.refresh_from_db()
    with pytest.raises(Conflict, match=r"DEMO 2\.0 was frozen at .* but its baseline is missing"):
        graph_load(product=product, release=draft)


def test_release_status(clean, product, qm):
    release = release_create(product=product, version="1.0", actor=qm)
    status = release_status(release=release)
    assert status == {
        "product": "DEMO",
        "version": "1.0",
        "state": "draft",
        "frozen": False,
        "ready": True,
        "approved": False,
        "errors": 0,
        "warnings": 0,
        "baseline_sha256": None,
        "commit_sha": "",
        "git_tag": "",
        "signatures": 0,
    }
    frozen = release_freeze(product=product, version="1.0", actor=qm)
    status = release_status(release=frozen)
    assert status["frozen"] is True and status["baseline_sha256"] == Baseline.objects.get().sha256
    # no result for TC-1 in 2.0: SRS-1 is not verified there (error), TC-1 has no result (warning)
    untested = release_freeze(product=product, version="2.0", actor=qm)
    status = release_status(release=untested)
    assert (status["ready"], status["errors"], status["warnings"]) == (False, 1, 1)


def test_approval_signs_the_baseline(clean, product, qm):
    qm.first_name, qm.last_name = "Quinn", "Manager"
    qm.save()
    release = release_freeze(product=product, version="1.0", actor=qm)
    approved = release_approve(release=release, signer=qm, password="quinn-pw", comment="Ready for production")
    assert approved.state == "approved"
    signature = Signature.objects.get()
    baseline = Baseline.objects.get()
    assert (signature.printed_name, signature.meaning, signature.record_hash, signature.record_repr) == (
        "Quinn Manager",
        "approval",
        baseline.sha256,
        "DEMO 1.0",
    )
    assert signature.signed_at.utcoffset().total_seconds() == 0
    assert list(release_signatures(release)) == [signature]
    assert list(AuditEvent.objects.values_list("action", flat=True))[-2:] == ["signature.applied", "release.approved"]
    with pytest.raises(RuntimeError, match="never changes"):
        signature.save()
    with pytest.raises(RuntimeError, match="never deleted"):
        signature.delete()
    with pytest.raises(IntegrityError, match="a signature never changes once applied"), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).update(comment="changed")


def test_a_wrong_password_signs_nothing(clean, product, qm):
    release = release_freeze(product=product, version="1.0", actor=qm)
    release_count, baseline_count, signature_count, event_count = state()
    with pytest.raises(Forbidden, match="the password of quinn does not match; nothing was signed"):
        release_approve(release=release, signer=qm, password="guess", client_address="192.0.2.7")
    with pytest.raises(Forbidden):
        release_approve(release=release, signer=qm, password="")
    # no signature, no approval: only the refusals, audited after the rollback (tests/qms/test_accounts.py)
    assert state() == (release_count, baseline_count, signature_count, event_count + 2)
    refusals = AuditEvent.objects.filter(action="signature.refused").order_by("id")
    assert [(e.actor_username, e.scope, e.after["client_address"], e.after["failures"]) for e in refusals] == [
        ("quinn", "DEMO", "192.0.2.7", 1),
        ("quinn", "DEMO", None, 2),
    ]
    assert Release.objects.get(pk=release.pk).state == "frozen"


def test_only_the_approvals_scope_signs(clean, product, qm, developer):
    release = release_freeze(product=product, version="1.0", actor=qm)
    before = state()
    with pytest.raises(Forbidden, match="dana may not sign releases"):
        release_approve(release=release, signer=developer, password="dana-pw")
    assert state() == before


def test_only_a_frozen_release_is_approved(clean, product, qm):
    draft = release_create(product=product, version="1.0", actor=qm)
    before = state()
    with pytest.raises(Conflict, match=r"DEMO 1\.0 is draft; only a frozen release can be approved"):
        release_approve(release=draft, signer=qm, password="quinn-pw")
    assert state() == before


def test_error_level_gaps_block_the_approval(product, make_item, qm):
    make_item("SRS-1", "software_requirement")
    release = release_freeze(product=product, version="1.0", actor=qm)
    before = state()
    with pytest.raises(Conflict) as raised:
        release_approve(release=release, signer=qm, password="quinn-pw")
    assert raised.value.code == "release_not_ready"
    assert str(raised.value).startswith("DEMO 1.0 has 3 error-level gaps: requirement_without_parent: SRS-1")
    assert [gap["rule"] for gap in raised.value.context["gaps"]] == [
        "requirement_without_parent",
        "requirement_without_verification",
        "requirement_without_architecture",
    ]
    assert state() == before


def test_a_class_c_release_without_test_results_is_not_approved(product, make_item, qm):
    """Traced but never run: every requirement and risk control lacks a passing result."""
    product_update(product=product, actor=qm, safety_class="C")
    approved = {"status": "approved"}
    srs = make_item("SRS-1", "software_requirement", attributes={"derived_rationale": "choice"}, **approved)
    swi = make_item("SWI-1", "software_item", text="design", **approved)
    risk = make_item(
        "RISK-1",
        "risk",
        attributes={"hazard": "h", "hazardous_situation": "s", "harm": "x", "severity": 1, "probability": 1},
        **approved,
    )
    control = make_item("RC-1", "risk_control", attributes={"control_type": "protective_measure"}, **approved)
    test = make_item("TC-1", "test_case", **approved)
    for source, link_type, target in (
        (test, "verifies", srs),
        (swi, "implements", srs),
        (srs, "implements", control),
        (control, "mitigates", risk),
    ):
        link_create(source=source, target=target, link_type=link_type, actor=qm)
    make_run(product, {"TC-1": "passed"}, version="0.9")  # another release's evidence does not count
    release = release_freeze(product=product, version="1.0", actor=qm)
    before = state()
    with pytest.raises(Conflict) as raised:
        release_approve(release=release, signer=qm, password="quinn-pw")
    assert raised.value.code == "release_not_ready"
    assert [(gap["rule"], gap["items"]) for gap in raised.value.context["gaps"]] == [
        ("requirement_without_verification", ["SRS-1", "TC-1"]),
        ("risk_control_not_verified", ["RC-1"]),
    ]
    assert "SRS-1 has no passing result in release 1.0: TC-1 (no result)" in str(raised.value)
    assert state() == before and Release.objects.get(pk=release.pk).state == "frozen"
    # the same release with its evidence is approved
    make_run(product, {"TC-1": "passed"}, version="1.1")
    ready = release_freeze(product=product, version="1.1", actor=qm)
    assert release_approve(release=ready, signer=qm, password="quinn-pw").state == "approved"


def test_approval_meanings(clean, product, qm):
    release = release_freeze(product=product, version="1.0", actor=qm)
    with pytest.raises(InvalidInput, match="an approval signature means approval or responsibility, not 'review'"):
        release_approve(release=release, signer=qm, password="quinn-pw", meaning="review")
    review = release_sign(release=release, signer=qm, password="quinn-pw", meaning="review", comment="Checked")
    assert (review.meaning, Release.objects.get(pk=release.pk).state) == ("review", "frozen")
    with pytest.raises(InvalidInput, match="unknown signature meaning 'blessing'"):
        release_sign(release=release, signer=qm, password="quinn-pw", meaning="blessing")
    draft = release_create(product=product, version="2.0", actor=qm)
    with pytest.raises(Conflict, match="only a frozen or approved or released release can be signed"):
        release_sign(release=draft, signer=qm, password="quinn-pw", meaning="review")


def test_release_and_withdraw(clean, product, qm):
    release = release_freeze(product=product, version="1.0", actor=qm)
    with pytest.raises(Conflict, match="only an approved release can be released"):
        release_mark_released(release=release, actor=qm)
    release_approve(release=release, signer=qm, password="quinn-pw")
    released = release_mark_released(release=release, actor=qm)
    assert released.state == "released"
    before = state()
    with pytest.raises(InvalidInput, match="withdrawing a release needs a reason"):
        release_withdraw(release=release, actor=qm, reason="  ")
    assert state() == before
    withdrawn = release_withdraw(release=release, actor=qm, reason="Field safety notice FSN-7")
    assert (withdrawn.state, withdrawn.withdrawn_reason) == ("withdrawn", "Field safety notice FSN-7")
    assert AuditEvent.objects.filter(action="release.withdrawn", note="Field safety notice FSN-7").count() == 1
    with pytest.raises(Conflict, match="already withdrawn"):
        release_withdraw(release=release, actor=qm, reason="again")
    assert Baseline.objects.filter(release=release).count() == 1


def test_selectors(clean, product, qm):
    first = release_freeze(product=product, version="1.0", actor=qm)
    second = release_create(product=product, version="1.1", actor=qm)
    assert [r.version for r in release_list(product=product)] == ["1.1", "1.0"]
    assert release_get(product=product, version="1.0").baseline_sha256 == Baseline.objects.get().sha256
    assert release_get(product=product, version="1.1").baseline_sha256 is None
    assert release_previous(second).pk == first.pk and release_previous(first) is None
    with pytest.raises(NotFound, match=r"DEMO has no release '9\.9'"):
        release_get(product=product, version="9.9")


def test_the_change_record_between_releases(clean, product, make_item, qm, catalogue):
    make_run(product, {"TC-1": "passed"}, version="1.0")
    first = release_freeze(product=product, version="1.0", actor=qm)
    item_update(item=clean["SRS-1"], actor=qm, text="The dose shall be rounded down.\nTo 0.5 U.")
    item_update(item=clean["SWI-1"], actor=qm, status="in_review")
    new = make_item("SRS-2", "software_requirement")
    link_create(source=clean["TC-1"], target=new, link_type="verifies", actor=qm)
    make_run(product, {"TC-1": "failed"}, version="1.1")
    second = release_freeze(product=product, version="1.1", actor=qm)

    diff = baseline_diff(release_a=first, release_b=second)
    assert (diff.before, diff.after) == ("1.0", "1.1")
    assert [item.key for item in diff.items_added] == ["SRS-2"]
    assert diff.items_removed == []
    assert [(c.key, c.fields, c.revision_before, c.revision_after) for c in diff.items_changed] == [
        ("SRS-1", ["text"], 1, 2),
        ("SWI-1", ["status"], 1, 2),
    ]
    assert diff.items_changed[0].diff.splitlines()[:6] == [
        "--- SRS-1@1",
        "+++ SRS-1@2",
        "@@ -1,5 +1,7 @@",
        " title: SRS-1 title",
        " text:",
        "+The dose shall be rounded down.",
    ]
    assert diff.items_changed[1].diff == ""  # a status change has no text to diff
    assert diff.links_added == ["TC-1 verifies SRS-2"] and diff.links_removed == []
    assert [change.as_dict() for change in diff.results_changed] == [
        {"test_case": "TC-1", "before": "passed", "after": "failed"}
    ]
    text = diff.as_text()
    assert text.startswith("Changes from 1.0 to 1.1\n")
    assert "+ SRS-2 (software_requirement) SRS-2 title" in text
    assert "~ TC-1: passed → failed" in text
    assert "~ SRS-1 revision 1 → 2 (text)" in text

    assert baseline_diff(release_a=second, release_b=None).is_empty  # nothing changed since 1.1
    item_update(item=new, actor=qm, title="Two-hour limit")
    to_live = baseline_diff(release_a=second, release_b=None)
    assert (to_live.after, to_live.after_sha256, [c.key for c in to_live.items_changed]) == ("live", "", ["SRS-2"])
    assert baseline_diff(release_a=second, release_b=second).is_empty


def test_the_approval_is_a_sealed_record_and_a_checkpoint_follows_it(
    clean, product, qm, audit_checkpoints, django_capture_on_commit_callbacks
):
    from qms.integrity.checkpoints import checkpoint_newest
    from traceability.models import ReleaseApproval

    release = release_freeze(product=product, version="1.0", actor=qm)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        release_approve(release=release, signer=qm, password="quinn-pw")
    approval = ReleaseApproval.objects.get()
    signature = Signature.objects.get()
    assert (approval.release_id, approval.signature_id, approval.baseline_sha256, approval.approved_by_id) == (
        release.pk,
        signature.pk,
        Baseline.objects.get().sha256,
        qm.pk,
    )
    assert len(callbacks) == 1
    checkpoint = checkpoint_newest()
    assert checkpoint is not None and checkpoint.head == AuditEvent.objects.order_by("-id").first().digest
    assert release_status(release=release)["approved"] is True
    with pytest.raises(RuntimeError, match="never changes"):
        approval.save()
    with pytest.raises(IntegrityError, match="a release approval never changes once given"), transaction.atomic():
        ReleaseApproval.objects.filter(pk=approval.pk).update(baseline_sha256="0" * 64)


def test_signing_the_same_again_gives_the_same_signature(clean, product, qm, api_client):
    release_freeze(product=product, version="1.0", actor=qm)
    client = api_client(qm)
    path = "/api/v1/products/DEMO/releases/1.0/signatures/"
    body = {"password": "quinn-pw", "meaning": "review", "comment": "read it"}
    first = client.post(path, body, format="json")
    events = AuditEvent.objects.count()
    again = client.post(path, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (Signature.objects.count(), AuditEvent.objects.count()) == (1, events)
    other = client.post(path, {**body, "comment": "read it twice"}, format="json")
    assert other.status_code == 201 and Signature.objects.count() == 2
    wrong = client.post(path, {**body, "password": "guess"}, format="json")
    assert wrong.status_code == 403 and Signature.objects.count() == 2
