import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.traceability.engine import at, bulk_requirements, make_run
from traceability.graph.load import graph_load_live
from traceability.graph.matrix import reverse_rows
from traceability.graph.risk import risk_trace_rows
from traceability.graph.selectors import matrix_for_release
from traceability.graph.summary import matrix_build
from traceability.services.items import item_update
from traceability.services.links import link_create
from traceability.services.releases import release_create

pytestmark = pytest.mark.django_db


def build(product, release=None, **kwargs):
    return matrix_build(graph_load_live(product=product, release=release), **kwargs)


def row_of(matrix, key):
    return next(row for row in matrix.rows if row.key == key)


def test_a_row_has_every_column(small_graph, product, make_item, qm):
    swi = make_item("SWI-1", "software_item")
    link_create(source=swi, target=small_graph["SRS-1"], link_type="implements", actor=qm)
    row = row_of(build(product), "SRS-1")
    assert row.as_dict() == {
        "key": "SRS-1",
        "kind": "software_requirement",
        "title": "SRS-1 title",
        "item_status": "draft",
        "revision": 1,
        "status": "not_verified",
        "justification": "",
        "reason": "no result in this release: TC-1",
        "user_needs": ["UN-1"],
        "system_requirements": ["SYS-1"],
        "parents": ["SYS-1"],
        "risks": ["RISK-1"],
        "risk_controls": ["RC-1"],
        "software_items": ["SWI-1"],
        "tests": ["TC-1"],
        "test_results": {"TC-1": None},
        "commits": [],
        "clauses": [],
        "suspect_links": [],
        # not verified: its test has no result (test_without_result names TC-1 itself)
        "gaps": ["item_not_approved", "requirement_without_verification"],
    }


def test_upstream_is_transitive(small_graph, product, make_item, qm):
    child = make_item("SRS-2", "software_requirement")
    link_create(source=child, target=small_graph["SRS-1"], link_type="derives_from", actor=qm)
    row = row_of(build(product), "SRS-2")
    assert (row.parents, row.system_requirements, row.user_needs) == (["SRS-1"], ["SYS-1"], ["UN-1"])


@pytest.mark.parametrize(
    ("result", "status", "reason"),
    [
        ("passed", "verified", "passed: TC-1"),
        ("failed_accepted", "verified", "passed: TC-1"),
        ("failed", "failed", "failed: TC-1"),
        ("error", "failed", "failed: TC-1"),
        ("skipped", "not_verified", "no result in this release: TC-1"),
    ],
)
def test_row_status_follows_the_result_of_this_release(small_graph, product, qm, result, status, reason):
    release = release_create(product=product, version="1.0", actor=qm)
    make_run(product, {"TC-1": result}, version="1.0")
    make_run(product, {"TC-1": "failed"}, version="0.9", started_at=at(28))  # another release's run
    row = row_of(build(product, release), "SRS-1")
    assert (row.status, row.reason) == (status, reason)
    assert row.tests[0].result == result


def test_every_test_must_pass(small_graph, product, make_item, qm):
    second = make_item("TC-2", "test_case")
    link_create(source=second, target=small_graph["SRS-1"], link_type="verifies", actor=qm)
    make_run(product, {"TC-1": "passed"}, version="1.0")
    row = row_of(build(product), "SRS-1")
    assert (row.status, row.reason) == ("not_verified", "no result in this release: TC-2")
    assert row.as_dict()["test_results"] == {"TC-1": "passed", "TC-2": None}


def test_a_changed_parent_makes_the_row_suspect_but_a_failure_wins(small_graph, product, qm):
    make_run(product, {"TC-1": "passed"}, version="1.0")
    item_update(item=small_graph["SYS-1"], actor=qm, text="changed")
    row = row_of(build(product), "SRS-1")
    assert row.status == "suspect"
    assert row.suspect_links == ["SRS-1 derives_from SYS-1"]
    assert row.reason == "suspect: SRS-1 derives_from SYS-1"

    make_run(product, {"TC-1": "failed"}, version="1.0")
    assert row_of(build(product), "SRS-1").status == "failed"


def test_a_changed_requirement_makes_its_test_link_suspect(small_graph, product, qm):
    item_update(item=small_graph["SRS-1"], actor=qm, text="changed")
    row = row_of(build(product), "SRS-1")
    assert (row.status, row.suspect_links) == ("suspect", ["TC-1 verifies SRS-1"])
    assert row.tests[0].suspect is True


def test_not_applicable_needs_a_rationale_and_obsolete_items_drop_out(small_graph, product, make_item, qm):
    make_item(
        "SRS-2",
        "software_requirement",
        attributes={"verification_rationale": "Verified by inspection of the build configuration"},
    )
    make_item("SRS-3", "software_requirement", status="obsolete")
    obsolete_test = make_item("TC-9", "test_case", status="obsolete")
    link_create(source=obsolete_test, target=small_graph["SRS-1"], link_type="verifies", actor=qm)
    matrix = build(product)
    assert [row.key for row in matrix.rows] == ["SRS-1", "SRS-2"]
    row = row_of(matrix, "SRS-2")
    assert (row.status, row.justification) == ("not_applicable", "Verified by inspection of the build configuration")
    assert [test.key for test in row_of(matrix, "SRS-1").tests] == ["TC-1"]


def test_root_kind_is_configurable(small_graph, product):
    matrix = build(product, root_kind="system_requirement")
    assert [row.key for row in matrix.rows] == ["SYS-1"]
    assert (matrix.rows[0].user_needs, matrix.rows[0].status) == (["UN-1"], "not_verified")


def test_rows_are_in_natural_key_order(product, make_item):
    for key in ("SRS-10", "SRS-2", "SRS-1"):
        make_item(key, "software_requirement")
    assert [row.key for row in build(product).rows] == ["SRS-1", "SRS-2", "SRS-10"]


def test_the_reverse_matrix(small_graph, product, make_item, qm):
    validation = make_item("TC-2", "test_case", attributes={"level": "acceptance"})
    link_create(source=validation, target=small_graph["UN-1"], link_type="validates", actor=qm)
    make_run(product, {"TC-1": "error"}, version="1.0")
    rows = reverse_rows(graph_load_live(product=product))
    assert [row.as_dict() for row in rows] == [
        {
            "key": "TC-1",
            "title": "TC-1 title",
            "item_status": "draft",
            "level": "",
            "test_id": "tests/test_dose.py::test_round",
            "status": "failed",
            "result": "error",
            "run_version": "1.0",
            "run_at": rows[0].run_at,
            "verifies": ["SRS-1"],
            "validates": [],
            "suspect_links": [],
        },
        {
            "key": "TC-2",
            "title": "TC-2 title",
            "item_status": "draft",
            "level": "acceptance",
            "test_id": "",
            "status": "no_result",
            "result": None,
            "run_version": "",
            "run_at": "",
            "verifies": [],
            "validates": ["UN-1"],
            "suspect_links": [],
        },
    ]


def test_the_risk_trace(small_graph, product, qm):
    (row,) = risk_trace_rows(graph_load_live(product=product))
    assert (row.key, row.hazard, row.hazardous_situation, row.harm) == (
        "RISK-1",
        "Overdose",
        "Too much insulin",
        "Hypoglycaemia",
    )
    assert row.initial.as_dict() == {
        "severity": 4,
        "probability": 3,
        "severity_name": "Critical",
        "probability_name": "Occasional",
        "acceptable": False,
    }
    assert row.residual.as_dict() == row.initial.as_dict()  # no residual values: the initial ones
    assert row.status == "residual_unacceptable"
    (control,) = row.controls
    assert (control.key, control.implemented_by, control.status, control.control_type) == (
        "RC-1",
        ["SRS-1"],
        "not_verified",
        "protective_measure",
    )

    risk = small_graph["RISK-1"]
    item_update(item=risk, actor=qm, attributes={**risk.attributes, "residual_severity": 4, "residual_probability": 1})
    (row,) = risk_trace_rows(graph_load_live(product=product))
    assert (row.residual.acceptable, row.residual.probability_name, row.status) == (
        True,
        "Improbable",
        "control_not_verified",
    )

    make_run(product, {"TC-1": "passed"}, version="1.0")
    (row,) = risk_trace_rows(graph_load_live(product=product))
    assert (row.controls[0].status, row.controls[0].reason, row.status) == (
        "verified",
        "verified through SRS-1",
        "controlled",
    )


def test_an_uncontrolled_risk(product, make_item):
    attributes = {"hazard": "h", "hazardous_situation": "s", "harm": "x", "severity": 1, "probability": 1}
    make_item("RISK-1", "risk", attributes=attributes)
    make_item("RISK-2", "risk", attributes={**attributes, "severity": 5})
    rows = risk_trace_rows(graph_load_live(product=product))
    assert [(row.key, row.status) for row in rows] == [("RISK-1", "acceptable"), ("RISK-2", "not_controlled")]


def test_coverage_figures(small_graph, product, make_item, qm):
    make_item("SRS-2", "software_requirement", attributes={"verification_rationale": "inspection"})
    make_item("SRS-3", "software_requirement")
    make_item("TC-2", "test_case")
    make_run(product, {"TC-1": "passed", "TC-2": "failed"}, version="1.0")
    coverage = build(product).coverage
    assert coverage.as_dict() == {
        "requirements": 3,
        "requirements_verified": 2,
        "requirements_not_applicable": 1,
        "requirements_failed": 0,
        "requirements_suspect": 0,
        "requirements_not_verified": 1,
        "requirements_traced": 2,
        "risks": 1,
        "risks_controlled": 1,
        "risks_controlled_and_verified": 0,  # residual risk still unacceptable
        "tests": 2,
        "tests_passed": 1,
        "tests_failed": 1,
        "tests_without_result": 0,
        "share_requirements_verified": 0.6667,
        "share_risks_controlled": 1.0,
        "share_risks_controlled_and_verified": 0.0,
        "share_tests_passed": 0.5,
        "trace_score": 0.3889,
    }


def test_an_empty_product_has_no_score(product):
    coverage = build(product).coverage
    assert (coverage.requirements, coverage.share_requirements_verified, coverage.trace_score) == (0, None, None)


def _matrix_queries(product, release):
    with CaptureQueriesContext(connection) as context:
        matrix = matrix_for_release(product=product, release=release)
    return len(context), len(matrix.rows)


def test_the_matrix_costs_the_same_queries_for_one_row_and_many(product, make_item, qm):
    make_item("SRS-1", "software_requirement")
    release = release_create(product=product, version="1.0", actor=qm)
    one = _matrix_queries(product, release)
    bulk_requirements(product, 30)
    make_run(product, {f"TC-{100 + index}": "passed" for index in range(1, 31)}, version="1.0")
    many = _matrix_queries(product, release)
    assert one == (11, 1)  # the baseline lookup, then the ten queries of a live load for a release
    assert many == (11, 31)
