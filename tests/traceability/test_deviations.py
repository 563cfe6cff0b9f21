"""Protected gap rules and signed deviations: a plain override never lowers a rule that protects
patients on a class B or C product; a quality manager's signed deviation does, and it becomes
part of the release's baseline."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from qms.canonical import digest_of
from qms.dbtriggers import immutable_rows_dropped
from qms.errors import Conflict, Forbidden, InvalidInput
from qms.models import AuditEvent, Signature
from tests.traceability.engine import make_run
from traceability.gap_rules import PROTECTED_RULES, RISK_FILE_RULES
from traceability.graph.gaps import gaps_find
from traceability.graph.selectors import gaps_for_release, graph_load, release_status
from traceability.models import Baseline, Deviation, DeviationRevocation, Product
from traceability.models.deviations import deviation_content
from traceability.models.releases import baseline_seal
from traceability.services.deviations import deviation_revoke, deviation_sign
from traceability.services.links import link_create
from traceability.services.products import product_create, product_update
from traceability.services.releases import release_approve, release_freeze

pytestmark = pytest.mark.django_db

BASE = "/api/v1/products/DEMO"
PASSWORD = "quinn-pw"  # the qm fixture's password (tests/conftest.py)
RATIONALE = (
    "TC-1 fails on the emulator's clock drift only; the dose path is verified by TC-9 on hardware, "
    "accepted by the safety board on 2026-03-02."
)


def state() -> tuple[int, ...]:
    return (
        Deviation.objects.count(),
        DeviationRevocation.objects.count(),
        Signature.objects.count(),
        AuditEvent.objects.count(),
    )


def refused_only(before: tuple[int, ...]) -> tuple[int, ...]:
    """The state after a refused signing: nothing signed, only the refusal audited (qms.services.accounts)."""
    assert AuditEvent.objects.order_by("-id").values_list("action", flat=True).first() == "signature.refused"
    return (*before[:-1], before[-1] + 1)


@pytest.fixture
def failing(product, make_item, qm):
    """A class C product whose only error is a failed test: SRS-1 ← TC-1 (fails in 1.0), and TC-2
    verifying SRS-2 (passes); everything approved, implemented and derived."""
    product_update(product=product, actor=qm, safety_class="C")
    items = {}
    for number in (1, 2):
        srs = make_item(
            f"SRS-{number}",
            "software_requirement",
            status="approved",
            attributes={"derived_rationale": "product choice"},
        )
        swi = make_item(f"SWI-{number}", "software_item", status="approved", text="design")
        test = make_item(f"TC-{number}", "test_case", status="approved")
        link_create(source=test, target=srs, link_type="verifies", actor=qm)
        link_create(source=swi, target=srs, link_type="implements", actor=qm)
        items.update({srs.key: srs, swi.key: swi, test.key: test})
    make_run(product, {"TC-1": "failed", "TC-2": "passed"}, version="1.0")
    product.refresh_from_db()
    return items


def errors_of(product, release=None):
    _, report = gaps_for_release(product=product, release=release)
    return [(finding.rule, finding.items[0], finding.severity, finding.deviation) for finding in report.findings]


def sign(product, signer, **fields):
    fields.setdefault("rule", "test_failed")
    fields.setdefault("severity", "warning")
    fields.setdefault("rationale", RATIONALE)
    fields.setdefault("password", PASSWORD)
    return deviation_sign(product=product, signer=signer, **fields)


# --- protected rules: plain overrides ---------------------------------------------------------


@pytest.mark.parametrize("rule", PROTECTED_RULES)
@pytest.mark.parametrize(("safety_class", "severity"), [("C", "warning"), ("B", "off"), ("", "warning")])
def test_an_override_never_lowers_a_protected_rule(product, qm, rule, safety_class, severity):
    product_update(product=product, actor=qm, safety_class=safety_class)
    before = (Product.objects.get(pk=product.pk).gap_rules, AuditEvent.objects.count())
    shown = safety_class or "C"
    with pytest.raises(InvalidInput, match=f"rule '{rule}' protects patients on a class {shown} product") as raised:
        product_update(product=product, actor=qm, gap_rules={rule: severity, "suspect_link": "error"})
    assert raised.value.code == "rule_protected" and raised.value.context == {"field": "gap_rules", "rule": rule}
    assert "only a quality manager's signed deviation can" in raised.value.message
    assert (Product.objects.get(pk=product.pk).gap_rules, AuditEvent.objects.count()) == before


@pytest.mark.parametrize("rule", RISK_FILE_RULES)
def test_the_risk_file_rules_are_protected_for_class_a_too(product, qm, rule):
    """ISO 14971 does not depend on the software safety class."""
    product_update(product=product, actor=qm, safety_class="A")
    before = (Product.objects.get(pk=product.pk).gap_rules, AuditEvent.objects.count())
    with pytest.raises(InvalidInput, match=f"rule '{rule}' protects patients on a class A product"):
        product_update(product=product, actor=qm, gap_rules={rule: "warning"})
    assert (Product.objects.get(pk=product.pk).gap_rules, AuditEvent.objects.count()) == before
    deviation = sign(product, qm, rule=rule)
    assert (deviation.rule, deviation.severity) == (rule, "warning")


def test_raising_and_unprotected_overrides_stay_allowed(product, qm):
    product_update(product=product, actor=qm, safety_class="C")
    overrides = {"test_failed": "error", "suspect_link": "error", "item_not_approved": "off"}
    assert product_update(product=product, actor=qm, gap_rules=overrides).gap_rules == overrides
    a = product_create(key="TOY", name="Class A toy", safety_class="A", actor=qm, gap_rules={"test_failed": "off"})
    assert a.gap_rules == {"test_failed": "off"}  # class A: rules are not protected


def test_a_new_product_or_a_new_class_cannot_carry_a_lowering_override(product, qm):
    with pytest.raises(InvalidInput, match="rule 'soup_without_version' protects patients on a class C product"):
        product_create(key="NEW", name="New", actor=qm, gap_rules={"soup_without_version": "off"})
    assert not Product.objects.filter(key="NEW").exists()
    product_update(product=product, actor=qm, safety_class="A", gap_rules={"anomaly_not_evaluated": "off"})
    with pytest.raises(InvalidInput, match="rule 'anomaly_not_evaluated' protects patients on a class B product"):
        product_update(product=product, actor=qm, safety_class="B")
    assert Product.objects.get(pk=product.pk).safety_class == "A"


def test_a_stored_lowering_override_has_no_effect_and_is_noted(failing, product, qm):
    Product.objects.filter(pk=product.pk).update(gap_rules={"test_failed": "warning"})  # an older database
    product.refresh_from_db()
    _, report = gaps_for_release(product=product)
    assert [(f.rule, f.severity) for f in report.findings if f.rule == "test_failed"] == [("test_failed", "error")]
    assert report.severities["test_failed"] == "error"
    assert report.notes == [
        "gap_rules override test_failed → warning is ignored: on a class C product a protected rule is lowered "
        "only by a signed deviation"
    ]
    assert product_update(product=product, actor=qm, name="Renamed").name == "Renamed"  # other settings still edit


def test_the_api_refuses_a_lowering_override_and_writes_nothing(api_client, qm, product):
    client = api_client(qm)
    before = (Product.objects.get(pk=product.pk).gap_rules, AuditEvent.objects.count())
    response = client.patch(f"{BASE}/", {"gap_rules": {"residual_risk_unacceptable": "warning"}}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["rule"], body["field"]) == (
        "rule_protected",
        "residual_risk_unacceptable",
        "gap_rules",
    )
    assert body["detail"].startswith(
        "gap_rules: rule 'residual_risk_unacceptable' protects patients on a class B product: a gap-rule override "
        "cannot lower it from error to warning"
    )
    created = client.post(
        "/api/v1/products/", {"key": "NEW", "name": "New", "gap_rules": {"test_failed": "off"}}, format="json"
    )
    assert created.status_code == 400 and created.json()["rule"] == "test_failed"
    assert (Product.objects.get(pk=product.pk).gap_rules, AuditEvent.objects.count()) == before
    assert not Product.objects.filter(key="NEW").exists()


def test_the_admin_refuses_a_lowering_override(client, qm, product):
    qm.is_staff = True
    qm.save()
    client.force_login(qm)
    before = AuditEvent.objects.count()
    response = client.post(
        f"/admin/traceability/product/{product.pk}/change/",
        {
            "name": product.name,
            "intended_use": "",
            "safety_class": "C",
            "risk_matrix": json.dumps(product.risk_matrix),
            "key_pattern": product.key_pattern,
            "gap_rules": json.dumps({"risk_not_controlled": "off"}),
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "rule &#x27;risk_not_controlled&#x27; protects patients on a class C product" in response.text
    product.refresh_from_db()
    assert (product.safety_class, product.gap_rules, AuditEvent.objects.count()) == ("B", {}, before)


def test_the_demo_import_refuses_a_lowering_override(tmp_path, qm):
    from traceability.services.demo import demo_load

    (tmp_path / "bolus.yaml").write_text(
        "product: {key: PUMP, name: Pump, safety_class: C, gap_rules: {requirement_without_verification: warning}}\n"
        "items: []\n"
    )
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidInput, match="rule 'requirement_without_verification' protects patients"):
        demo_load(directory=tmp_path, actor=qm)
    assert (Product.objects.filter(key="PUMP").exists(), AuditEvent.objects.count()) == (False, before)


# --- signing a deviation -----------------------------------------------------------------------


def test_a_signed_deviation_lowers_a_failed_test_and_the_baseline_carries_it(api_client, failing, product, qm):
    assert errors_of(product) == [("test_failed", "TC-1", "error", "")]
    client = api_client(qm)
    refused = client.patch(f"{BASE}/", {"gap_rules": {"test_failed": "warning"}}, format="json")
    assert refused.status_code == 400 and refused.json()["error"] == "rule_protected"
    response = client.post(
        f"{BASE}/deviations/",
        {"rule": "test_failed", "severity": "warning", "rationale": RATIONALE, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in ("deviation", "rule", "item", "scope", "severity", "in_force", "signed_by")} == {
        "deviation": "DEV-1",
        "rule": "test_failed",
        "item": "",
        "scope": "whole rule",
        "severity": "warning",
        "in_force": True,
        "signed_by": "quinn",
    }
    assert (body["signature"]["printed_name"], body["signature"]["meaning"]) == ("Quinn Manager", "approval")
    assert body["signature"]["record_hash"] == body["sha256"] and body["revocation"] is None
    assert errors_of(product) == [("test_failed", "TC-1", "warning", "DEV-1")]

    release = release_freeze(product=product, version="1.0", actor=qm)
    content = json.loads(Baseline.objects.get(release=release).content)
    assert content["format"] == "q-interface-baseline/3"
    (row,) = content["deviations"]
    assert {key: row[key] for key in ("number", "rule", "item", "severity", "rationale", "printed_name")} == {
        "number": 1,
        "rule": "test_failed",
        "item": "",
        "severity": "warning",
        "rationale": RATIONALE,
        "printed_name": "Quinn Manager",
    }
    assert row["sha256"] == body["sha256"] and row["signed_at"] == body["signature"]["signed_at"]
    assert errors_of(product, release) == [("test_failed", "TC-1", "warning", "DEV-1")]
    assert release_status(release=release)["ready"] is True
    approved = release_approve(release=release, signer=qm, password=PASSWORD)
    assert approved.state == "approved"


def test_the_signature_is_bound_to_the_deviation_and_audited(failing, product, qm):
    deviation = sign(product, qm, comment="safety board minutes 12")
    signature = Signature.objects.get(record_type="traceability.deviation", record_id=str(deviation.pk))
    expected = digest_of(
        deviation_content(
            product_key="DEMO",
            number=1,
            rule="test_failed",
            item="",
            severity="warning",
            rationale=RATIONALE,
            created_at=deviation.created_at,
            signer="quinn",
        )
    )
    assert deviation.sha256 == expected == signature.record_hash
    assert (signature.meaning, signature.printed_name, signature.scope, signature.comment) == (
        "approval",
        "Quinn Manager",
        "DEMO",
        "safety board minutes 12",
    )
    assert signature.record_repr == "DEMO DEV-1 (test_failed → warning)"
    event = AuditEvent.objects.get(action="deviation.signed")
    assert (event.actor_username, event.scope, event.object_repr, event.object_type) == (
        "quinn",
        "DEMO",
        "DEMO DEV-1",
        "traceability.deviation",
    )
    assert event.after["rationale"] == RATIONALE and event.after["sha256"] == expected
    assert event.note == f"signature #{signature.pk} over {expected}"
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True))[-2:] == [
        "signature.applied",
        "deviation.signed",
    ]


def test_a_deviation_of_one_item_lowers_only_that_finding(failing, product, qm):
    make_run(product, {"TC-1": "failed", "TC-2": "failed"}, version="1.0")
    deviation = sign(product, qm, item_key="TC-1", severity="off")
    _, report = gaps_for_release(product=product)
    assert [(f.rule, f.items[0], f.severity, f.deviation) for f in report.findings] == [
        ("test_failed", "TC-2", "error", "")
    ]
    assert [(f.items, f.severity, f.deviation) for f in report.waived] == [(("TC-1", "SRS-1"), "off", "DEV-1")]
    by_rule = {entry["rule"]: entry for entry in report.by_rule()}
    assert by_rule["test_failed"] | {"title": ""} == {
        "rule": "test_failed",
        "title": "",
        "severity": "error",
        "deviation": None,
        "count": 1,
        "errors": 1,
        "warnings": 0,
        "waived": 1,
        "item_deviations": {"TC-1": "off (deviation DEV-1)"},
    }
    assert report.ready is False and deviation.scope_label == "finding of TC-1"
    make_run(product, {"TC-1": "failed", "TC-2": "failed"}, version="1.0")
    sign(product, qm, item_key="TC-2")
    _, report = gaps_for_release(product=product)
    assert [(f.items[0], f.severity, f.deviation) for f in report.findings] == [("TC-2", "warning", "DEV-2")]
    assert report.marks_of("SRS-2")["test_failed"].label == "warning (deviation DEV-2)"
    assert report.ready is True


def test_a_deviation_of_the_rule_and_of_one_item_the_lower_wins(failing, product, qm):
    make_run(product, {"TC-1": "failed", "TC-2": "failed"}, version="1.0")
    sign(product, qm)
    sign(product, qm, item_key="TC-2", severity="off")
    _, report = gaps_for_release(product=product)
    assert [(f.items[0], f.severity, f.deviation) for f in report.findings] == [("TC-1", "warning", "DEV-1")]
    assert [(f.items[0], f.deviation) for f in report.waived] == [("TC-2", "DEV-2")]
    assert (report.severities["test_failed"], report.rule_deviations) == ("warning", {"test_failed": "DEV-1"})
    assert report.marks_of("SRS-1")["test_failed"].label == "warning (deviation DEV-1)"
    assert [finding.as_dict()["deviation"] for finding in report.findings] == ["DEV-1"]


@pytest.mark.parametrize(
    ("who", "fields", "status", "error", "detail"),
    [
        ("qm", {"password": "wrong"}, 403, "signature_refused", "the password of quinn does not match"),
        ("qm", {"rationale": ""}, 400, "invalid", "rationale: a deviation needs a written rationale of at least 40"),
        ("qm", {"rationale": "   too short, really   "}, 400, "invalid", "(17 given)"),
        ("qm", {"rule": "no_such_rule"}, 400, "invalid", "rule: unknown rule 'no_such_rule'"),
        (
            "qm",
            {"rule": "suspect_link"},
            400,
            "deviation_not_needed",
            "rule: no deviation needed for DEMO: 'suspect_link' is not a protected rule",
        ),
        ("qm", {"severity": "error"}, 400, "invalid", 'severity: "error" is not a valid choice.'),
        ("qm", {"item": "TC-99"}, 400, "unknown_item", "item: DEMO has no item 'TC-99'"),
        ("qm", {"username": "someone"}, 403, "forbidden", "the user name does not match the signed-in user"),
        ("developer", {}, 403, "permission_denied", "Your role may not write approvals."),
        ("auditor", {}, 403, "permission_denied", "Your role may not write approvals."),
    ],
)
def test_bad_deviations_are_refused_and_nothing_is_written(
    api_client, failing, qm, developer, auditor, who, fields, status, error, detail
):
    user = {"qm": qm, "developer": developer, "auditor": auditor}[who]
    payload = {"rule": "test_failed", "severity": "warning", "rationale": RATIONALE, "password": PASSWORD, **fields}
    before = state()
    response = api_client(user).post(f"{BASE}/deviations/", payload, format="json")
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["error"] == error and detail in body["detail"], body
    assert state() == refused_only(before) if error == "signature_refused" else state() == before


def test_a_class_a_product_needs_no_deviation(product, qm):
    product = product_update(product=product, actor=qm, safety_class="A")
    with pytest.raises(
        InvalidInput, match="'test_failed' is protected for class B and C only; DEMO is class A"
    ) as raised:
        sign(product, qm)
    assert raised.value.code == "deviation_not_needed"
    assert Deviation.objects.count() == 0


def test_the_service_refuses_signers_without_the_approvals_scope(failing, product, developer, auditor):
    for user in (developer, auditor):
        before = state()
        with pytest.raises(Forbidden, match=f"{user.username} may not sign deviations"):
            sign(product, user, password=f"{user.username}-pw")
        assert state() == before


def test_one_deviation_per_rule_and_scope_is_in_force(failing, product, qm):
    first = sign(product, qm)
    before = state()
    with pytest.raises(Conflict, match="DEV-1 already lowers 'test_failed' for the whole rule of DEMO") as raised:
        sign(product, qm, severity="off")
    assert raised.value.code == "deviation_exists" and state() == before
    assert sign(product, qm, item_key="TC-1").label == "DEV-2"  # another scope
    deviation_revoke(deviation=first, reason=RATIONALE, signer=qm, password=PASSWORD)
    assert sign(product, qm).label == "DEV-3"


# --- append-only, revocation ------------------------------------------------------------------


def test_deviations_and_revocations_never_change(failing, product, qm):
    deviation = sign(product, qm)
    revocation = deviation_revoke(deviation=deviation, reason=RATIONALE, signer=qm, password=PASSWORD)
    for record in (deviation, revocation):
        with pytest.raises(RuntimeError, match="never changes"):
            record.save()
        with pytest.raises(RuntimeError, match="never deleted"):
            record.delete()
    for model, field in ((Deviation, "rationale"), (DeviationRevocation, "reason")):
        with pytest.raises(DatabaseError, match="never changes once signed"), transaction.atomic():
            model.objects.update(**{field: "edited"})
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="never changes once signed"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM traceability_deviationrevocation")
    assert Deviation.objects.get().rationale == RATIONALE


def test_revoking_is_a_signed_audited_record_and_ends_the_deviation(api_client, failing, product, qm):
    deviation = sign(product, qm)
    client = api_client(qm)
    before = state()
    for payload, status, detail in (
        ({"reason": RATIONALE, "password": "wrong"}, 403, "does not match"),
        ({"reason": "no", "password": PASSWORD}, 400, "reason: a revocation needs a written reason of at least 40"),
    ):
        response = client.post(f"{BASE}/deviations/1/revoke/", payload, format="json")
        assert response.status_code == status and detail in response.json()["detail"]
        assert state() == refused_only(before)  # the wrong password is audited (signature.refused), no more
    response = client.post(f"{BASE}/deviations/1/revoke/", {"reason": RATIONALE, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["in_force"] is False
    assert (body["revocation"]["reason"], body["revocation"]["revoked_by"]) == (RATIONALE, "quinn")
    revocation = DeviationRevocation.objects.get(deviation=deviation)
    signature = Signature.objects.get(record_type="traceability.deviationrevocation", record_id=str(revocation.pk))
    assert body["revocation"]["signature"]["record_hash"] == signature.record_hash == revocation.sha256
    event = AuditEvent.objects.get(action="deviation.revoked")
    assert (event.object_type, event.object_id, event.after["reason"]) == (
        "traceability.deviation",
        str(deviation.pk),
        RATIONALE,
    )
    assert errors_of(product) == [("test_failed", "TC-1", "error", "")]
    again = client.post(f"{BASE}/deviations/1/revoke/", {"reason": RATIONALE, "password": PASSWORD}, format="json")
    assert (again.status_code, again.json()["error"]) == (409, "deviation_revoked")
    assert Deviation.objects.get().rationale == RATIONALE  # the deviation itself is as signed


def test_a_frozen_release_keeps_the_deviations_of_its_moment(failing, product, qm):
    before_deviation = release_freeze(product=product, version="1.0", actor=qm)
    deviation = sign(product, qm)
    assert errors_of(product, before_deviation) == [("test_failed", "TC-1", "error", "")]
    with pytest.raises(Conflict, match="1 error-level gap"):
        release_approve(release=before_deviation, signer=qm, password=PASSWORD)
    make_run(product, {"TC-1": "failed", "TC-2": "passed"}, version="1.1")
    with_deviation = release_freeze(product=product, version="1.1", actor=qm)
    deviation_revoke(deviation=deviation, reason=RATIONALE, signer=qm, password=PASSWORD)
    assert errors_of(product, with_deviation) == [("test_failed", "TC-1", "warning", "DEV-1")]
    assert release_approve(release=with_deviation, signer=qm, password=PASSWORD).state == "approved"
    assert errors_of(product) == [("test_failed", "TC-1", "error", "")]  # live: revoked


def test_a_tampered_deviation_is_never_applied(failing, product, qm):
    sign(product, qm, rationale=RATIONALE)
    immutable_rows_dropped(connection, "traceability_deviation")  # someone with database access
    Deviation.objects.update(severity="off")
    _, report = gaps_for_release(product=product)
    assert [(f.rule, f.severity, f.deviation) for f in report.findings] == [("test_failed", "error", "")]
    assert report.notes == [
        "DEV-1 (test_failed, whole rule) is not applied: its content no longer matches the SHA-256 its signature "
        "was applied over"
    ]
    release = release_freeze(product=product, version="1.0", actor=qm)
    assert json.loads(Baseline.objects.get(release=release).content)["deviations"] == []


# --- baselines ----------------------------------------------------------------------------------


def test_baselines_of_the_first_format_still_load_and_verify(failing, product, qm):
    release = release_freeze(product=product, version="1.0", actor=qm)
    baseline = Baseline.objects.get(release=release)
    content = json.loads(baseline.content)
    del content["deviations"]
    content["format"] = "q-interface-baseline/1"
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = digest_of(content)
    baseline.sha256 = digest
    seal = baseline_seal(release_id=release.pk, product="DEMO", version="1.0", baseline=baseline)
    with connection.cursor() as cursor:  # a baseline taken before deviations existed (sealed by the migration)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS traceability_baseline_immutable")
        cursor.execute(
            "UPDATE traceability_baseline SET content = %s, sha256 = %s, seal = %s WHERE id = %s",
            [text, digest, seal, baseline.pk],
        )
    graph = graph_load(product=product, release=release)
    assert (graph.release.baseline_sha256, graph.deviations) == (digest, [])
    assert gaps_find(graph).errors == 1
    sign(product, qm)  # signed after the (old) baseline: it does not apply to it
    with pytest.raises(Conflict, match="1 error-level gap"):
        release_approve(release=release, signer=qm, password=PASSWORD)


def test_the_live_graph_loads_deviations_in_constant_queries(failing, product, qm, django_assert_num_queries):
    from traceability.graph.load import graph_load_live

    sign(product, qm)
    with django_assert_num_queries(9):
        one = graph_load_live(product=product)
    sign(product, qm, item_key="TC-1")
    sign(product, qm, item_key="TC-2", rule="requirement_without_verification")
    with django_assert_num_queries(9):
        many = graph_load_live(product=product)
    assert [d.label for d in one.deviations] == ["DEV-1"]
    assert [(d.label, d.item, d.bound) for d in many.deviations] == [
        ("DEV-1", "", True),
        ("DEV-2", "TC-1", True),
        ("DEV-3", "TC-2", True),
    ]


# --- the API's reads and the commands --------------------------------------------------------------


def test_the_deviation_list_costs_the_same_queries_for_one_and_many(api_client, failing, product, qm, auditor):
    from django.test.utils import CaptureQueriesContext

    client = api_client(auditor)
    first = sign(product, qm)
    with CaptureQueriesContext(connection) as one:
        assert client.get(f"{BASE}/deviations/").json()["count"] == 1
    deviation_revoke(deviation=first, reason=RATIONALE, signer=qm, password=PASSWORD)
    sign(product, qm, item_key="TC-1")
    with CaptureQueriesContext(connection) as many:
        listing = client.get(f"{BASE}/deviations/").json()
    assert len(one) == len(many)
    assert [(row["deviation"], row["in_force"]) for row in listing["results"]] == [("DEV-1", False), ("DEV-2", True)]
    assert listing["results"][0]["revocation"]["signature"]["printed_name"] == "Quinn Manager"
    assert client.get(f"{BASE}/deviations/2/").json()["scope"] == "finding of TC-1"
    assert client.get(f"{BASE}/deviations/7/").status_code == 404


def test_the_gaps_api_marks_deviated_severities(api_client, failing, product, qm, auditor):
    sign(product, qm)
    body = api_client(auditor).get(f"{BASE}/gaps/").json()
    assert [(row["rule"], row["severity"], row["deviation"]) for row in body["results"]] == [
        ("test_failed", "warning", "DEV-1")
    ]
    test_failed = next(entry for entry in body["by_rule"] if entry["rule"] == "test_failed")
    assert (test_failed["severity"], test_failed["deviation"]) == ("warning", "DEV-1")
    assert [(row["deviation"], row["printed_name"]) for row in body["deviations"]] == [("DEV-1", "Quinn Manager")]
    assert body["ready"] is True and body["notes"] == []


def _password(monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_the_commands_sign_list_and_revoke(failing, product, qm, monkeypatch):
    out = io.StringIO()
    _password(monkeypatch, f"{PASSWORD}\n")
    call_command(
        "deviation_sign", "DEMO", "test_failed", "--item", "TC-1", "--rationale", RATIONALE, "--password-stdin",
        "--as", "quinn", stdout=out,
    )  # fmt: skip
    deviation = Deviation.objects.get()
    assert out.getvalue() == (
        f"Signed DEMO DEV-1: test_failed (finding of TC-1) → warning, sha256 {deviation.sha256}\n"
    )
    out = io.StringIO()
    call_command("deviation_list", "DEMO", "--format", "json", stdout=out)
    (row,) = json.loads(out.getvalue())
    assert (row["deviation"], row["printed_name"], row["in_force"], row["rationale"]) == (
        "DEV-1",
        "Quinn Manager",
        True,
        RATIONALE,
    )
    _password(monkeypatch, f"{PASSWORD}\n")
    out = io.StringIO()
    call_command(
        "deviation_revoke", "DEMO", "DEV-1", "--reason", RATIONALE, "--password-stdin", "--as", "quinn", stdout=out
    )
    assert out.getvalue().startswith("Revoked DEMO DEV-1: sha256 ")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--as", "quinn"], "wrong\n", "the password of quinn does not match"),
        ([], f"{PASSWORD}\n", "--as USERNAME names the signer"),
        (["--as", "dana"], "dana-pw\n", "dana may not sign deviations"),
        (["--as", "quinn"], "\n", "no password given"),
    ],
)
def test_a_refused_command_signs_nothing(failing, product, developer, monkeypatch, args, stdin, message):
    _password(monkeypatch, stdin)
    before = state()
    with pytest.raises(CommandError, match=message):
        call_command("deviation_sign", "DEMO", "test_failed", "--rationale", RATIONALE, "--password-stdin", *args)
    assert state() == (refused_only(before) if stdin == "wrong\n" else before)
