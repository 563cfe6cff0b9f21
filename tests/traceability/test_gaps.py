import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from standards.models import Clause
from tests.traceability.engine import bulk_requirements, make_run
from traceability.gap_rules import GAP_RULES
from traceability.graph.gaps import gaps_find
from traceability.graph.load import graph_load_live
from traceability.graph.risk import risk_trace_rows
from traceability.graph.selectors import gaps_for_release
from traceability.graph.summary import matrix_build
from traceability.services.items import clause_link_create, item_update
from traceability.services.links import link_create
from traceability.services.products import product_update

pytestmark = pytest.mark.django_db

RISK = {"hazard": "h", "hazardous_situation": "s", "harm": "x"}


@pytest.fixture
def approved(make_item):
    def make(key, kind, **fields):
        fields.setdefault("status", "approved")
        return make_item(key, kind, **fields)

    return make


@pytest.fixture
def link(qm):
    def make(source, link_type, target):
        return link_create(source=source, target=target, link_type=link_type, actor=qm)

    return make


def report_of(product):
    product.refresh_from_db()  # product_update works on its own copy
    return gaps_find(graph_load_live(product=product))


def found(product, rule):
    report = report_of(product)
    return [(finding.items, finding.severity) for finding in report.findings if finding.rule == rule]


def test_every_catalogue_rule_has_a_check():
    from traceability.graph.gaps import _Checks

    assert all(callable(getattr(_Checks, rule.slug, None)) for rule in GAP_RULES)


def test_requirement_without_parent(product, approved, link):
    sys_1 = approved("SYS-1", "system_requirement")
    approved("SYS-2", "system_requirement", attributes={"derived_rationale": "regulatory constraint"})
    orphan = approved("SRS-1", "software_requirement")
    approved("SRS-2", "software_requirement", attributes={"derived_rationale": "diagnostics"})
    link(approved("SRS-3", "software_requirement"), "derives_from", sys_1)
    control = approved("RC-1", "risk_control", attributes={"control_type": "inherent_safety"})
    link(approved("SRS-4", "software_requirement"), "implements", control)
    gone = approved("SYS-9", "system_requirement", status="obsolete")
    link(approved("SRS-5", "software_requirement"), "derives_from", gone)
    approved("SRS-6", "software_requirement", status="obsolete")
    assert found(product, "requirement_without_parent") == [
        (("SYS-1",), "error"),
        (("SRS-1",), "error"),
        (("SRS-5",), "error"),  # its parent is obsolete
    ]
    assert orphan.key == "SRS-1"


def test_requirement_without_verification(product, approved, link):
    sys_1 = approved("SYS-1", "system_requirement")
    sys_2 = approved("SYS-2", "system_requirement")
    srs_1 = approved("SRS-1", "software_requirement")
    link(srs_1, "derives_from", sys_1)  # SYS-1 is verified through SRS-1
    approved("SRS-2", "software_requirement", attributes={"verification_rationale": "by inspection"})
    link(approved("TC-1", "test_case"), "verifies", sys_2)
    make_run(product, {"TC-1": "passed"}, version="1.0")
    assert found(product, "requirement_without_verification") == [(("SRS-1",), "error")]


def test_a_requirement_whose_tests_have_no_passing_result_is_not_verified(product, approved, link, qm):
    """The rule agrees with the matrix: a requirement is verified only by a passing result."""
    srs = {key: approved(key, "software_requirement") for key in ("SRS-1", "SRS-2", "SRS-3", "SRS-4")}
    # a rationale does not replace the result of a test the requirement has
    srs["SRS-5"] = approved("SRS-5", "software_requirement", attributes={"verification_rationale": "inspection"})
    for test, target in (
        ("TC-1", "SRS-1"),
        ("TC-2", "SRS-2"),
        ("TC-3", "SRS-2"),
        ("TC-4", "SRS-3"),
        ("TC-5", "SRS-4"),
        ("TC-6", "SRS-5"),
    ):
        link(approved(test, "test_case"), "verifies", srs[target])
    make_run(product, {"TC-1": "skipped", "TC-2": "passed", "TC-4": "failed", "TC-5": "passed"}, version="1.0")
    assert found(product, "requirement_without_verification") == [
        (("SRS-1", "TC-1"), "error"),
        (("SRS-2", "TC-3"), "error"),  # one of its two tests has no result
        (("SRS-5", "TC-6"), "error"),
    ]  # SRS-3 failed (test_failed), SRS-4 passed
    report = report_of(product)
    messages = {f.items[0]: f.message for f in report.findings if f.rule == "requirement_without_verification"}
    assert messages == {
        "SRS-1": "SRS-1 has no passing result in the latest runs: TC-1 (skipped)",
        "SRS-2": "SRS-2 has no passing result in the latest runs: TC-3 (no result)",
        "SRS-5": "SRS-5 has no passing result in the latest runs: TC-6 (no result)",
    }
    matrix = {row.key: row.status for row in matrix_build(graph_load_live(product=product)).rows}
    flagged = {items[0] for items, _ in found(product, "requirement_without_verification")}
    assert flagged == {key for key, status in matrix.items() if status == "not_verified"}
    # the same class-independent severity: IEC 62304 5.7.4 and 5.8.1 apply to class A too
    product_update(product=product, actor=qm, safety_class="A")
    assert {severity for _, severity in found(product, "requirement_without_verification")} == {"error"}


def test_architecture_rule_depends_on_the_class(product, approved, link, qm):
    approved("SRS-1", "software_requirement")
    link(approved("SWI-1", "software_item", text="design"), "implements", approved("SRS-2", "software_requirement"))
    assert found(product, "requirement_without_architecture") == [(("SRS-1",), "error")]  # class B
    product_update(product=product, actor=qm, safety_class="A")
    assert found(product, "requirement_without_architecture") == []


def test_software_units_need_a_design_in_class_c(product, approved, link, qm):
    parent = approved("SWI-1", "software_item")  # not a unit: it has parts
    link(approved("SWI-2", "software_item"), "part_of", parent)
    approved("SWI-3", "software_item", text="Detailed design: ...")
    assert found(product, "software_item_without_design") == []  # class B: off
    product_update(product=product, actor=qm, safety_class="C")
    assert found(product, "software_item_without_design") == [(("SWI-2",), "error")]


def test_test_rules(product, approved, link):
    srs = approved("SRS-1", "software_requirement")
    need = approved("UN-1", "user_need")
    for key in ("TC-1", "TC-2", "TC-3"):
        link(approved(key, "test_case"), "verifies", srs)
    link(approved("TC-4", "test_case"), "validates", need)
    approved("TC-5", "test_case")
    make_run(product, {"TC-1": "failed", "TC-2": "skipped", "TC-4": "passed"}, version="1.0")
    assert found(product, "test_without_requirement") == [(("TC-5",), "warning")]
    assert found(product, "test_without_result") == [
        (("TC-2",), "warning"),
        (("TC-3",), "warning"),
        (("TC-5",), "warning"),
    ]
    assert found(product, "test_failed") == [(("TC-1", "SRS-1"), "error")]
    report = report_of(product)
    messages = {finding.items[0]: finding.message for finding in report.findings if finding.rule.startswith("test_")}
    assert messages["TC-2"] == "TC-2 was skipped in the latest runs"
    assert messages["TC-1"] == "TC-1 failed in the latest runs (run ci, 1.0)"


def test_risk_rules(product, approved, link, qm):
    approved("RISK-1", "risk", attributes={**RISK, "severity": 1, "probability": 1})
    approved("RISK-2", "risk", attributes={**RISK, "severity": 5, "probability": 1})
    risk_3 = approved(
        "RISK-3",
        "risk",
        attributes={**RISK, "severity": 5, "probability": 1, "residual_severity": 4, "residual_probability": 1},
    )
    risk_4 = approved("RISK-4", "risk", attributes={**RISK, "severity": 3, "probability": 3})
    control = approved("RC-1", "risk_control", attributes={"control_type": "protective_measure"})
    link(control, "mitigates", risk_3)
    untested = approved("RC-2", "risk_control", attributes={"control_type": "information_for_safety"})
    link(untested, "mitigates", risk_4)
    link(approved("TC-1", "test_case"), "verifies", control)
    make_run(product, {"TC-1": "passed"}, version="1.0")
    assert found(product, "risk_not_controlled") == [(("RISK-2",), "error")]
    assert found(product, "residual_risk_unacceptable") == [(("RISK-2",), "error"), (("RISK-4",), "error")]
    assert found(product, "risk_control_not_verified") == [(("RC-2",), "error")]

    product_update(product=product, actor=qm, safety_class="A")  # ISO 14971 does not depend on the class
    assert found(product, "risk_not_controlled") == [(("RISK-2",), "error")]
    assert found(product, "residual_risk_unacceptable") == [(("RISK-2",), "error"), (("RISK-4",), "error")]
    assert found(product, "risk_control_not_verified") == [(("RC-2",), "error")]


def test_a_control_is_verified_through_its_implementing_requirement_or_a_rationale(product, approved, link):
    control = approved("RC-1", "risk_control", attributes={"control_type": "protective_measure"})
    srs = approved("SRS-1", "software_requirement")
    link(srs, "implements", control)
    approved(
        "RC-2", "risk_control", attributes={"control_type": "information_for_safety", "verification_rationale": "IFU"}
    )
    assert found(product, "risk_control_not_verified") == [(("RC-1",), "error")]
    link(approved("TC-1", "test_case"), "verifies", srs)
    assert found(product, "risk_control_not_verified") == [(("RC-1",), "error")]  # a test, but no result
    make_run(product, {"TC-1": "passed"}, version="1.0")
    assert found(product, "risk_control_not_verified") == []


def test_a_risk_control_is_verified_only_by_a_passing_result(product, approved, link, qm):
    """The rule agrees with the risk trace (IEC 62304 7.3.1): the same statuses, the same controls."""
    risk = approved("RISK-1", "risk", attributes={**RISK, "severity": 3, "probability": 1})
    controls = {}
    for key in ("RC-1", "RC-2", "RC-3", "RC-4"):
        controls[key] = approved(key, "risk_control", attributes={"control_type": "protective_measure"})
        link(controls[key], "mitigates", risk)
    link(approved("TC-1", "test_case"), "verifies", controls["RC-1"])  # own test, passes
    link(approved("TC-2", "test_case"), "verifies", controls["RC-2"])  # own test, no result
    srs_3 = approved("SRS-3", "software_requirement")
    link(srs_3, "implements", controls["RC-3"])
    link(approved("TC-3", "test_case"), "verifies", srs_3)  # through a requirement, skipped
    srs_4 = approved("SRS-4", "software_requirement")
    link(srs_4, "implements", controls["RC-4"])
    link(approved("TC-4", "test_case"), "verifies", srs_4)  # through a requirement, fails
    make_run(product, {"TC-1": "passed", "TC-3": "skipped", "TC-4": "failed"}, version="1.0")
    assert found(product, "risk_control_not_verified") == [
        (("RC-2",), "error"),
        (("RC-3",), "error"),
        (("RC-4",), "error"),
    ]
    report = report_of(product)
    messages = {f.items[0]: f.message for f in report.findings if f.rule == "risk_control_not_verified"}
    assert messages == {
        "RC-2": "risk control RC-2 is not verified in the latest runs: no result in this release: TC-2",
        "RC-3": "risk control RC-3 is not verified in the latest runs: implementing requirement not_verified: SRS-3",
        "RC-4": "risk control RC-4 is not verified in the latest runs: implementing requirement failed: SRS-4",
    }
    (row,) = risk_trace_rows(graph_load_live(product=product))
    assert row.status == "control_not_verified"
    assert {c.key for c in row.controls if c.status not in ("verified", "not_applicable")} == {"RC-2", "RC-3", "RC-4"}
    product_update(product=product, actor=qm, safety_class="A")  # ISO 14971 7.2 applies to every class
    assert {severity for _, severity in found(product, "risk_control_not_verified")} == {"error"}


def test_suspect_soup_anomaly_and_approval_rules(product, approved, link, make_item, qm):
    sys_1 = approved("SYS-1", "system_requirement")
    link(approved("SRS-1", "software_requirement"), "derives_from", sys_1)
    item_update(item=sys_1, actor=qm, text="changed")
    approved("SOUP-1", "soup", attributes={"version": "1.2"})
    approved("SOUP-2", "soup", attributes={"supplier": "x"})
    approved("ANOM-1", "anomaly", attributes={"state": "open", "evaluation": "harmless"})
    approved("ANOM-2", "anomaly", attributes={"state": "open"})
    make_item("DOC-1", "document")
    make_item("DOC-2", "document", status="in_review")
    make_item("DOC-3", "document", status="obsolete")
    assert found(product, "suspect_link") == [(("SRS-1", "SYS-1"), "warning")]
    assert found(product, "soup_without_version") == [(("SOUP-2",), "error")]
    assert found(product, "anomaly_not_evaluated") == [(("ANOM-2",), "error")]
    assert found(product, "item_not_approved") == [(("DOC-1",), "warning"), (("DOC-2",), "warning")]
    report = report_of(product)
    suspect = next(finding for finding in report.findings if finding.rule == "suspect_link")
    assert suspect.message == (
        "SRS-1 derives_from SYS-1: SYS-1 changed since the link was reviewed (revision 1 reviewed, now 2)"
    )
    product_update(product=product, actor=qm, safety_class="A")  # IEC 62304 9.2 applies to class A
    assert found(product, "anomaly_not_evaluated") == [(("ANOM-2",), "warning")]


def test_clause_without_evidence(product, approved, qm, catalogue):
    product_update(product=product, actor=qm, standards=["iec-62304-2015"])
    evidence = approved("SRS-1", "software_requirement")
    gone = approved("SRS-2", "software_requirement", status="obsolete")
    clause_link_create(
        item=evidence, clause=Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.1"), actor=qm
    )
    clause_link_create(item=gone, clause=Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.2"), actor=qm)
    report = report_of(product)
    missing = [finding.clauses[0] for finding in report.findings if finding.rule == "clause_without_evidence"]
    applicable = list(
        Clause.objects.filter(
            standard__slug="iec-62304-2015", is_heading=False, is_active=True, applies_to_class_b=True
        )
        .order_by("position")
        .values_list("number", flat=True)
    )
    assert missing == [f"iec-62304-2015:{number}" for number in applicable if number != "5.2.1"]
    assert "iec-62304-2015:5.4.2" not in missing  # class C only
    assert "iec-62304-2015:5.2.2" in missing  # evidence from an obsolete item does not count
    finding = next(f for f in report.findings if f.clauses == ("iec-62304-2015:5.2.2",))
    assert (
        finding.items == ()
        and finding.message == "IEC 62304:2006+A1:2015 5.2.2 (Software requirements content) has no evidence"
    )


@pytest.mark.parametrize(("safety_class", "severity"), [("A", None), ("B", None), ("C", "error"), ("", "error")])
def test_an_unassigned_class_is_class_c(product, approved, qm, safety_class, severity):
    product_update(product=product, actor=qm, safety_class=safety_class)
    approved("SWI-1", "software_item")
    assert found(product, "software_item_without_design") == ([(("SWI-1",), severity)] if severity else [])


def test_a_product_overrides_severities(product, approved, make_item, qm):
    make_item("SRS-1", "software_requirement")
    product_update(
        product=product,
        actor=qm,
        gap_rules={"item_not_approved": "error", "requirement_without_architecture": "off"},
    )
    report = report_of(product)
    assert {(finding.rule, finding.severity) for finding in report.findings} == {
        ("item_not_approved", "error"),
        ("requirement_without_parent", "error"),
        ("requirement_without_verification", "error"),
    }
    assert report.severities["requirement_without_architecture"] == "off"


def test_the_report_counts(product, make_item):
    make_item("SRS-1", "software_requirement")
    report = report_of(product)
    assert (report.errors, report.warnings, report.ready) == (3, 1, False)
    by_rule = {entry["rule"]: (entry["severity"], entry["count"]) for entry in report.by_rule()}
    assert by_rule["requirement_without_parent"] == ("error", 1)
    assert by_rule["item_not_approved"] == ("warning", 1)
    assert by_rule["software_item_without_design"] == ("off", 0)
    assert report.by_item() == {
        "SRS-1": [
            "item_not_approved",
            "requirement_without_architecture",
            "requirement_without_parent",
            "requirement_without_verification",
        ]
    }
    assert report.as_dict()["findings"][0] == {
        "rule": "requirement_without_parent",
        "severity": "error",
        "deviation": None,
        "items": ["SRS-1"],
        "clauses": [],
        "message": "SRS-1 derives from no requirement, implements no risk control and has no derived_rationale",
    }


def test_obsolete_items_never_produce_findings(product, make_item):
    for key, kind in (("SRS-1", "software_requirement"), ("SOUP-1", "soup"), ("TC-1", "test_case")):
        make_item(key, kind, status="obsolete")
    assert report_of(product).findings == []


def _queries(product):
    with CaptureQueriesContext(connection) as context:
        _, report = gaps_for_release(product=product)
    return len(context), len(report.findings)


def test_gaps_cost_the_same_queries_for_one_item_and_many(product, make_item):
    make_item("SRS-1", "software_requirement")
    one = _queries(product)
    bulk_requirements(product, 25, tested=False)
    many = _queries(product)
    assert one[0] == many[0] == 9
    assert many[1] > one[1]
