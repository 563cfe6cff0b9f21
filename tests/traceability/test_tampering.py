"""The tampering suite: someone with database access (or with the application's own code, but
without AUDIT_KEY and the checkpoint key) tries to fake or silently alter the records an auditor
relies on. Every case is detected (``audit_verify`` fails naming it, and reads of the release
answer 409 instead of serving it) or refused by the database. docs/part11.md lists them by name.

The attacker lifts the application's triggers where a database owner could (inside the test's
transaction, so nothing outlives the test); the cases that the triggers themselves refuse run
with the triggers in place.
"""

import base64
import hashlib
import hmac
import io
import json
from io import StringIO

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from qms.canonical import canonical_json, digest_of
from qms.dbtriggers import immutable_rows_dropped
from qms.integrity.chain import event_content_of
from qms.integrity.keys import private_key_pem
from qms.models import AuditChainHead, AuditEvent, Signature
from qms.services import audit_checkpoint_write, signature_apply
from traceability.models import Baseline, Release, ReleaseApproval, TraceReport
from traceability.reports.render import report_render
from traceability.reports.selectors import report_content_for_release
from traceability.services.releases import release_freeze, release_sign
from traceability.services.reports import trace_report_ensure

from .reporting import PASSWORD, approve, frozen_release, report_items, report_product

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's triggers refuse it; SQLite has no TRUNCATE or roles"
)

API = "/api/v1/products/RPT/releases"


@pytest.fixture
def released(qm, catalogue):
    """RPT 1.0.0 frozen, reviewed and approved; 1.1.0 frozen and reviewed; a checkpoint written."""
    product = report_product(qm)
    report_items(product, qm)
    first = approve(frozen_release(product, qm, "1.0.0"), qm)
    release_sign(release=first, signer=qm, password=PASSWORD, meaning="review", comment="looked")
    second = frozen_release(product, qm, "1.1.0")
    release_sign(release=second, signer=qm, password=PASSWORD, meaning="review")
    audit_checkpoint_write()
    return {"1.0.0": Release.objects.get(pk=first.pk), "1.1.0": Release.objects.get(pk=second.pk)}


def sql(statement: str, params: tuple[object, ...] = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def lift(*tables: str) -> None:
    """The attacker drops the row triggers that refuse changes (a database owner can)."""
    for table in tables:
        immutable_rows_dropped(connection, table)
    if connection.vendor == "postgresql" and "qms_auditchainhead" in tables:
        sql("DROP TRIGGER IF EXISTS qms_auditchainhead_guard ON qms_auditchainhead")


def audit_verify_problem() -> str:
    """What audit_verify says is wrong ("" when it passes)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except CommandError as exc:
        return f"{exc} {err.getvalue()}"
    return ""


def served(client, version: str) -> tuple[int, dict[str, object]]:
    response = client.get(f"{API}/{version}/status/")
    return response.status_code, response.json()


def refused_everywhere(client, version: str, code: str = "integrity_error") -> str:
    """Status, matrix, gaps, report and page all refuse the release with ``code``; the message."""
    for path in ("status/", "matrix/", "gaps/", "report.pdf", "signatures/"):
        response = client.get(f"{API}/{version}/{path}")
        if path == "signatures/":
            continue  # the manifest is listed as it is stored, for the investigation
        assert response.status_code == 409, (path, response.status_code)
        assert response.json()["error"] == code, path
    page = client.get(f"/p/RPT/releases/{version}/")
    assert page.status_code == 409
    with pytest.raises(CommandError):
        call_command("trace_matrix", "RPT", "--release", version, stdout=StringIO())
    return client.get(f"{API}/{version}/status/").json()["detail"]


def test_the_untouched_records_hold_up(released, api_client, auditor):
    assert audit_verify_problem() == ""
    status, body = served(api_client(auditor), "1.0.0")
    assert (status, body["approved"], body["state"]) == (200, True, "approved")
    assert served(api_client(auditor), "1.1.0")[1]["approved"] is False
    page = api_client(auditor).get("/p/RPT/releases/1.0.0/").content.decode()
    assert '<span class="badge st-verified">approved</span> signed by Quinn Manager (approval)' in page
    assert '<span class="badge st-verified">release approval</span>' in page


# --- approval semantics ------------------------------------------------------------------------


@pytest.mark.parametrize("meaning", ["approval", "responsibility"])
def test_a_plain_signature_with_an_approval_meaning_is_refused(released, api_client, qm, meaning):
    before = (Signature.objects.count(), AuditEvent.objects.count())
    response = api_client(qm).post(
        f"{API}/1.1.0/signatures/", {"password": PASSWORD, "meaning": meaning}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "approval_meaning"
    assert "approve" in response.json()["detail"]
    assert (Signature.objects.count(), AuditEvent.objects.count()) == before
    assert Release.objects.get(version="1.1.0").state == "frozen"


def test_an_old_plain_approval_signature_does_not_make_a_release_approved(released, api_client, auditor, qm):
    """What the signatures endpoint used to accept: an approval-meaning signature on a frozen
    release. Status, page, PDF and XLSX say NOT APPROVED; it is listed as what it is."""
    release = released["1.1.0"]
    sha = Baseline.objects.get(release=release).sha256
    signature_apply(
        signer=qm,
        password=PASSWORD,
        meaning="responsibility",
        record_type="traceability.release",
        record_id=str(release.pk),
        record_repr="RPT 1.1.0",
        record_hash=sha,
    )
    client = api_client(auditor)
    status, body = served(client, "1.1.0")
    assert (status, body["approved"], body["signatures"]) == (200, False, 2)
    content = report_content_for_release(release=Release.objects.get(pk=release.pk))
    assert content.approved is False and content.approvals == []
    workbook = openpyxl.load_workbook(io.BytesIO(report_render(content, "xlsx").data), read_only=True)
    facts = {row[0]: row[1] for row in workbook.worksheets[0].iter_rows(values_only=True) if row and row[0]}
    assert facts["Approval"] == "NOT APPROVED"
    page = client.get("/p/RPT/releases/1.1.0/").content.decode()
    assert "not approved: no release approval has been signed over this baseline" in page
    assert audit_verify_problem() == ""  # old data, not tampering


@pytest.mark.parametrize("state", ["approved", "released"])
def test_a_release_state_set_in_the_database_is_refused(released, api_client, auditor, state):
    sql("UPDATE traceability_release SET state = %s WHERE version = '1.1.0'", (state,))
    detail = refused_everywhere(api_client(auditor), "1.1.0")
    assert f"its state says {state} but no release approval was ever signed" in detail
    assert "release RPT 1.1.0: its state says" in audit_verify_problem()
    listed = api_client(auditor).get(f"{API}/").json()["results"]
    assert [(row["version"], row["approved"]) for row in listed] == [("1.1.0", False), ("1.0.0", True)]


def test_an_approval_rolled_back_to_frozen_is_refused(released, api_client, auditor):
    sql("UPDATE traceability_release SET state = 'frozen' WHERE version = '1.0.0'")
    detail = refused_everywhere(api_client(auditor), "1.0.0")
    assert "it was approved but its state says frozen" in detail
    assert "release RPT 1.0.0" in audit_verify_problem()


def test_a_forged_approval_record_is_refused(released, api_client, auditor, qm):
    release = released["1.1.0"]
    review = Signature.objects.get(record_id=str(release.pk), meaning="review")
    sha = Baseline.objects.get(release=release).sha256
    ReleaseApproval.objects.create(
        release=release, signature=review, baseline_sha256=sha, approved_by=qm, seal=digest_of({"forged": True})
    )
    sql("UPDATE traceability_release SET state = 'approved' WHERE id = %s", (release.pk,))
    detail = refused_everywhere(api_client(auditor), "1.1.0")
    assert "its approval record does not match its seal" in detail
    assert "release RPT 1.1.0" in audit_verify_problem()


# --- baselines ---------------------------------------------------------------------------------


def test_a_baseline_edited_in_place_is_refused(released, api_client, auditor):
    lift("traceability_baseline")
    sql("UPDATE traceability_baseline SET content = replace(content, 'Round down', 'Round up')")
    refused_everywhere(api_client(auditor), "1.0.0", code="baseline_corrupt")
    assert "its baseline's content does not match its SHA-256" in audit_verify_problem()


def edited_baseline(release: Release) -> tuple[str, str]:
    """The baseline's content with a requirement's text changed, and its recomputed SHA-256."""
    content = json.loads(Baseline.objects.get(release=release).content)
    for item in content["items"]:
        if item["key"] == "SRS-1":
            item["text"] = "The dose shall be rounded up."
    data = canonical_json(content)
    return data.decode(), hashlib.sha256(data).hexdigest()


def test_a_baseline_replaced_with_a_recomputed_hash_is_refused(released, api_client, auditor):
    release = released["1.0.0"]
    text, sha = edited_baseline(release)
    lift("traceability_baseline")
    sql("UPDATE traceability_baseline SET content = %s, sha256 = %s WHERE release_id = %s", (text, sha, release.pk))
    detail = refused_everywhere(api_client(auditor), "1.0.0")
    assert "its baseline does not carry this release's seal" in detail
    assert "was applied to baseline" in detail  # the signatures still name the old hash
    assert "release RPT 1.0.0" in audit_verify_problem()


def test_a_baseline_replaced_together_with_its_signatures_hashes_is_refused(released, api_client, auditor):
    release = released["1.0.0"]
    text, sha = edited_baseline(release)
    lift("traceability_baseline", "qms_signature", "traceability_releaseapproval")
    sql("UPDATE traceability_baseline SET content = %s, sha256 = %s WHERE release_id = %s", (text, sha, release.pk))
    sql("UPDATE qms_signature SET record_hash = %s WHERE record_id = %s", (sha, str(release.pk)))
    sql("UPDATE traceability_releaseapproval SET baseline_sha256 = %s WHERE release_id = %s", (sha, release.pk))
    detail = refused_everywhere(api_client(auditor), "1.0.0")
    assert "does not match its seal" in detail
    problem = audit_verify_problem()
    assert "signatures: signature #" in problem and "release RPT 1.0.0" in problem


def test_baselines_swapped_between_releases_are_refused(released, api_client, auditor):
    first, second = released["1.0.0"], released["1.1.0"]
    lift("traceability_baseline")
    sql("UPDATE traceability_baseline SET release_id = -1 WHERE release_id = %s", (first.pk,))
    sql("UPDATE traceability_baseline SET release_id = %s WHERE release_id = %s", (first.pk, second.pk))
    sql("UPDATE traceability_baseline SET release_id = %s WHERE release_id = -1", (second.pk,))
    for version in ("1.0.0", "1.1.0"):
        assert "its baseline does not carry this release's seal" in refused_everywhere(api_client(auditor), version)
    assert "release RPT 1.0.0" in audit_verify_problem()


def test_a_deleted_baseline_is_never_replaced_by_live_data(released, api_client, auditor):
    lift("traceability_baseline", "traceability_releaseapproval")
    sql("DELETE FROM traceability_baseline WHERE release_id = %s", (released["1.1.0"].pk,))
    refused_everywhere(api_client(auditor), "1.1.0", code="baseline_missing")
    assert "the audit trail records its freeze, but its baseline is gone" in audit_verify_problem()


def test_a_renamed_release_is_refused(released, api_client, auditor):
    sql("UPDATE traceability_release SET version = '1.0.1' WHERE version = '1.0.0'")
    detail = refused_everywhere(api_client(auditor), "1.0.1")
    assert "its baseline does not carry this release's seal" in detail
    assert "release RPT 1.0.1" in audit_verify_problem()


# --- signatures --------------------------------------------------------------------------------


def test_a_signature_altered_in_the_database_is_detected(released, api_client, auditor):
    lift("qms_signature")
    sql("UPDATE qms_signature SET printed_name = 'Someone Else' WHERE meaning = 'approval'")
    assert "does not match its seal" in refused_everywhere(api_client(auditor), "1.0.0")
    assert "its seal does not match its content" in audit_verify_problem()


def test_a_signature_inserted_in_the_database_is_detected(released, api_client, auditor, qm):
    release = released["1.1.0"]
    signature = Signature(
        signer=qm,
        signer_username="quinn",
        printed_name="Quinn",
        signed_at=timezone.now(),
        meaning="review",
        record_type="traceability.release",
        record_id=str(release.pk),
        record_repr="RPT 1.1.0",
        record_hash=Baseline.objects.get(release=release).sha256,
    )
    signature.seal = digest_of({"a": "guess"})  # no AUDIT_KEY: any seal is a guess
    signature.save()
    assert "does not match its seal" in refused_everywhere(api_client(auditor), "1.1.0")
    problem = audit_verify_problem()
    assert f"signature #{signature.pk}" in problem and "has no signature.applied event" in problem


def test_a_deleted_signature_is_detected(released):
    lift("qms_signature")
    review = Signature.objects.get(meaning="review", record_repr="RPT 1.1.0")
    sql("DELETE FROM qms_signature WHERE id = %s", (review.pk,))
    assert f"signature #{review.pk}: the audit trail records it, but it is gone" in audit_verify_problem()


# --- the audit trail ---------------------------------------------------------------------------


def test_an_altered_event_is_detected(released):
    event = AuditEvent.objects.filter(action="release.approved").get()
    lift("qms_auditevent")
    sql("UPDATE qms_auditevent SET note = 'approved by nobody' WHERE id = %s", (event.pk,))
    assert f"audit trail broken at event #{event.pk}" in audit_verify_problem()


def test_a_removed_event_is_detected(released):
    event = AuditEvent.objects.filter(action="signature.applied").order_by("id").first()
    lift("qms_auditevent")
    sql("DELETE FROM qms_auditevent WHERE id = %s", (event.pk,))
    assert "removed, inserted or reordered" in audit_verify_problem()


def test_reordered_events_are_detected(released):
    first, second = AuditEvent.objects.filter(action="item.created").order_by("id")[:2]
    lift("qms_auditevent")
    sql("UPDATE qms_auditevent SET object_repr = %s WHERE id = %s", (second.object_repr, first.pk))
    sql("UPDATE qms_auditevent SET object_repr = %s WHERE id = %s", (first.object_repr, second.pk))
    assert f"audit trail broken at event #{first.pk}" in audit_verify_problem()


def test_a_cut_off_tail_with_a_reset_head_contradicts_the_checkpoint(released):
    newest = AuditEvent.objects.order_by("-id")[:3]
    keep = AuditEvent.objects.filter(id__lt=newest[2].pk).order_by("-id").first()
    lift("qms_auditevent", "qms_auditchainhead")
    sql("DELETE FROM qms_auditevent WHERE id >= %s", (newest[2].pk,))
    sql(
        "UPDATE qms_auditchainhead SET digest = %s, count = (SELECT count(*) FROM qms_auditevent)",
        (keep.digest,),
    )
    problem = audit_verify_problem()
    assert "contradicts the checkpoint" in problem and "truncated, or rolled back" in problem


def test_a_wiped_trail_with_a_reset_head_contradicts_the_checkpoint(released):
    """TRUNCATE past the triggers (a replica session, as a superuser can) or DELETE everything."""
    lift("qms_auditevent", "qms_auditchainhead")
    if connection.vendor == "postgresql":
        sql("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own pending foreign-key checks first
        sql("SET session_replication_role = replica")
        sql("TRUNCATE qms_auditevent")
        sql("SET session_replication_role = DEFAULT")
    else:
        sql("DELETE FROM qms_auditevent")
    sql("UPDATE qms_auditchainhead SET digest = '', count = 0")
    problem = audit_verify_problem()
    assert "contradicts the checkpoint" in problem and "it holds 0 events" in problem


def test_a_restored_older_copy_contradicts_the_newer_checkpoint(released, qm):
    """A database rolled back to an earlier backup: the events after it are gone, the head names
    the backup's newest event; a checkpoint written since names more."""
    backup_head = AuditEvent.objects.order_by("-id").first()
    release_freeze(product=released["1.0.0"].product, version="2.0.0", actor=qm)
    audit_checkpoint_write()
    lift("qms_auditevent", "qms_auditchainhead")
    sql("DELETE FROM qms_auditevent WHERE id > %s", (backup_head.pk,))
    sql(
        "UPDATE qms_auditchainhead SET digest = %s, count = (SELECT count(*) FROM qms_auditevent)",
        (backup_head.digest,),
    )
    assert "contradicts the checkpoint" in audit_verify_problem()


def forged_event(action: str, digest_with) -> AuditEvent:
    """An event appended at the end, chained to the head, its digest made by ``digest_with``."""
    release = Release.objects.get(version="1.1.0")
    event = AuditEvent(
        at=timezone.now(),
        actor_username="quinn",
        action=action,
        object_type="traceability.release",
        object_id=str(release.pk),
        object_repr="RPT 1.1.0",
        scope="RPT",
        after={"state": "approved"},
        previous_digest=AuditChainHead.objects.get().digest,
    )
    event.digest = digest_with(event_content_of(event))
    event.save()
    return event


def chain_rewritten(digest_with, *, chain_version: int = 2, first_note: str | None = None) -> None:
    """Every event's digest recomputed in order with ``digest_with`` (the first event's note
    changed when given), and the head moved to the last: what an attacker without the key can do."""
    lift("qms_auditevent", "qms_auditchainhead")
    previous = ""
    for index, event in enumerate(AuditEvent.objects.order_by("id")):
        if index == 0 and first_note is not None:
            event.note = first_note
        digest = digest_with(event_content_of(event, previous=previous))
        sql(
            "UPDATE qms_auditevent SET chain_version = %s, note = %s, previous_digest = %s, digest = %s WHERE id = %s",
            (chain_version, event.note, previous, digest, event.pk),
        )
        previous = digest
    sql("UPDATE qms_auditchainhead SET digest = %s", (previous,))


def test_an_event_appended_with_the_apps_own_unkeyed_digest_is_detected(released):
    event = forged_event("release.approved", digest_of)  # qms.canonical.digest_of: SHA-256, no key
    assert f"audit trail broken at event #{event.pk}" in audit_verify_problem()


def test_an_event_appended_with_a_guessed_key_is_detected(released, settings):
    guessed = settings.SECRET_KEY.encode()
    event = forged_event(
        "release.approved", lambda content: hmac.new(guessed, canonical_json(content), hashlib.sha256).hexdigest()
    )
    assert f"audit trail broken at event #{event.pk}" in audit_verify_problem()


def test_a_recomputed_chain_is_detected(released, settings):
    """Every digest recomputed, the first event altered, with the key the attacker guesses."""
    guessed = settings.SECRET_KEY.encode()
    first = AuditEvent.objects.order_by("id").first()
    chain_rewritten(
        lambda content: hmac.new(guessed, canonical_json(content), hashlib.sha256).hexdigest(), first_note="forged"
    )
    assert f"audit trail broken at event #{first.pk}" in audit_verify_problem()


def test_a_chain_rewritten_as_unkeyed_events_is_detected(released):
    """Relabelled as the unkeyed events of an old database, recomputed with plain SHA-256."""
    chain_rewritten(digest_of, chain_version=1)
    problem = audit_verify_problem()
    assert "contradicts the checkpoint" in problem or "never anchored" in problem


def test_an_event_written_around_the_head_is_detected(released):
    """Appended past the head (its trigger dropped): the chain head no longer names the newest event."""
    if connection.vendor == "postgresql":
        sql("DROP TRIGGER qms_auditevent_head_advance ON qms_auditevent")
    else:
        sql("DROP TRIGGER qms_auditevent_head_advance")
    newest = AuditEvent.objects.order_by("-id").first()
    forged_event("release.approved", digest_of)
    assert f"events after #{newest.pk} are not in the chain (written around the head)" in audit_verify_problem()


@postgresql_only
@pytest.mark.parametrize(
    "table",
    ["qms_auditevent", "qms_signature", "qms_auditchainhead", "traceability_baseline", "traceability_releaseapproval"],
)
def test_the_database_refuses_truncate(released, table):
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own pending foreign-key checks first
    with pytest.raises(DatabaseError, match="TRUNCATE is refused"), transaction.atomic():
        sql(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.exists()


@postgresql_only
def test_the_database_refuses_to_move_the_chain_head(released):
    for statement in ("UPDATE qms_auditchainhead SET count = 0, digest = ''", "DELETE FROM qms_auditchainhead"):
        with pytest.raises(DatabaseError, match="never changed directly"), transaction.atomic():
            sql(statement)
    assert AuditChainHead.objects.get().count == AuditEvent.objects.count()


@postgresql_only
@pytest.mark.parametrize("table", ["qms_signature", "traceability_baseline", "traceability_releaseapproval"])
def test_the_database_refuses_to_change_or_delete_sealed_records(released, table):
    with pytest.raises(DatabaseError, match="never"), transaction.atomic():
        sql(f"UPDATE {table} SET seal = ''")  # noqa: S608 - a table name of the test's own
    with pytest.raises(DatabaseError, match="never"), transaction.atomic():
        sql(f"DELETE FROM {table}")  # noqa: S608 - a table name of the test's own


# --- checkpoints -------------------------------------------------------------------------------


def test_an_edited_checkpoint_is_refused(released, audit_checkpoints):
    path = sorted(audit_checkpoints.glob("checkpoint-*.json"))[-1]
    document = json.loads(path.read_text())
    document["checkpoint"]["events"] -= 5
    path.write_text(json.dumps(document))
    problem = audit_verify_problem()
    assert f"checkpoint {path} is not valid" in problem and "does not verify" in problem


def test_a_checkpoint_forged_with_another_key_is_refused(released, audit_checkpoints):
    from cryptography.hazmat.primitives import serialization

    other = serialization.load_pem_private_key(private_key_pem(), password=None)
    document = json.loads(sorted(audit_checkpoints.glob("checkpoint-*.json"))[-1].read_text())
    document["checkpoint"]["events"] = 1
    document["signature"] = base64.b64encode(other.sign(canonical_json(document["checkpoint"]))).decode()
    (audit_checkpoints / "checkpoint-000000000001-forged.json").write_text(json.dumps(document))
    assert "does not verify" in audit_verify_problem()


# --- stored reports ----------------------------------------------------------------------------


@pytest.fixture
def stored_report(released, qm):
    return trace_report_ensure(release=released["1.0.0"], report_format="pdf", actor=qm)


def test_an_altered_report_file_is_never_served(stored_report, api_client, auditor):
    path = stored_report.file.path
    with open(path, "r+b") as handle:
        handle.seek(200)
        handle.write(b"X")
    events = AuditEvent.objects.count()
    response = api_client(auditor).get(f"{API}/1.0.0/report.pdf")
    assert response.status_code == 409
    assert response.json()["error"] == "integrity_error" and "altered" in response.json()["detail"]
    failed = AuditEvent.objects.filter(id__gt=0).order_by("-id").first()
    assert AuditEvent.objects.count() == events + 1
    assert (failed.action, failed.actor_username) == ("report.integrity_failed", "avery")
    assert api_client(auditor).get("/p/RPT/releases/1.0.0/report.pdf").status_code == 409


def test_a_report_record_rewritten_to_match_an_altered_file_is_never_served(stored_report, api_client, auditor):
    path = stored_report.file.path
    with open(path, "ab") as handle:
        handle.write(b"% appended")
    with open(path, "rb") as handle:
        data = handle.read()
    TraceReport.objects.filter(pk=stored_report.pk).update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    response = api_client(auditor).get(f"{API}/1.0.0/report.pdf")
    assert response.status_code == 409
    assert "does not match its seal" in response.json()["detail"]
    assert "reports: report TR-RPT-1.0.0" in audit_verify_problem()


def test_a_missing_report_file_is_rendered_again_with_the_same_bytes(stored_report, api_client, auditor):
    with open(stored_report.file.path, "rb") as handle:
        original = handle.read()
    stored_report.file.storage.delete(stored_report.file.name)
    response = api_client(auditor).get(f"{API}/1.0.0/report.pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == original
    assert AuditEvent.objects.order_by("-id").first().action == "report.restored"


# --- gap rules and deviations ------------------------------------------------------------------

WHY = "The failure is in the bench rig, not in the device; it does not reach patients in this release."


def test_a_gap_rule_lowered_in_the_database_has_no_effect(released, api_client, auditor):
    from traceability.models import Product

    Product.objects.filter(key="RPT").update(gap_rules={"test_failed": "off", "residual_risk_unacceptable": "warning"})
    body = api_client(auditor).get("/api/v1/products/RPT/gaps/").json()
    assert {entry["rule"]: entry["severity"] for entry in body["by_rule"]}["test_failed"] == "error"
    assert any("test_failed" in note and "ignored" in note for note in body["notes"])


def test_a_deviation_forged_in_the_database_is_never_applied(released, qm):
    from traceability.graph.load import graph_load_live
    from traceability.models import Deviation
    from traceability.models.deviations import deviation_content

    product = released["1.0.0"].product
    created = timezone.now()
    content = deviation_content(
        product_key="RPT",
        number=1,
        rule="test_failed",
        item="",
        severity="off",
        rationale=WHY,
        created_at=created,
        signer="quinn",
    )
    deviation = Deviation.objects.create(
        product=product,
        number=1,
        rule="test_failed",
        severity="off",
        rationale=WHY,
        sha256=digest_of(content),
        created_at=created,
        created_by=qm,
    )
    Signature.objects.create(
        signer=qm,
        signer_username="quinn",
        printed_name="Quinn Manager",
        meaning="approval",
        record_type="traceability.deviation",
        record_id=str(deviation.pk),
        record_repr="RPT DEV-1",
        record_hash=deviation.sha256,
        seal=digest_of({"guess": 1}),
    )
    graph = graph_load_live(product=product)
    assert [(entry.label, entry.bound) for entry in graph.deviations] == [("DEV-1", False)]
    problem = audit_verify_problem()
    assert "deviation RPT DEV-1: its signature #" in problem and "does not match its seal" in problem


def test_a_deleted_revocation_is_detected(released, qm):
    from traceability.services.deviations import deviation_revoke, deviation_sign

    product = released["1.0.0"].product
    deviation = deviation_sign(
        product=product, rule="test_failed", severity="warning", rationale=WHY, signer=qm, password=PASSWORD
    )
    deviation_revoke(deviation=deviation, reason=WHY, signer=qm, password=PASSWORD)
    lift("traceability_deviationrevocation")
    sql("DELETE FROM traceability_deviationrevocation")
    assert "its revocation, but the revocation is gone (in force again)" in audit_verify_problem()
