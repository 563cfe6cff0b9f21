"""Storing test runs: matching results to test cases, linking requirements, idempotency, audit."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qms.errors import InvalidInput
from qms.models import AuditEvent
from traceability.graph.load import bound_results
from traceability.graph.model import result_verdict
from traceability.models import Item, Link, Release, TestResult, TestRun
from traceability.services.evidence import (
    junit_ingest,
    manual_executions_record,
    results_record,
    run_input_clean,
)
from traceability.services.items import item_update

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


def junit_file(name: str) -> list[tuple[str, bytes]]:
    return [(name, (FIXTURES / name).read_bytes())]


def counts() -> tuple[int, int, int, int, int]:
    return (
        TestRun.objects.count(),
        TestResult.objects.count(),
        Item.objects.count(),
        Link.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.requirement("QI-401", "QI-403")
def test_pytest_results_are_matched_created_and_linked(small_graph, developer):
    events_before = AuditEvent.objects.count()
    report = junit_ingest(
        product=small_graph["SRS-1"].product,
        files=junit_file("pytest.xml"),
        run=run_input_clean(version="1.0.0", commit_sha="A" * 40, environment="ci"),
        actor=developer,
    )
    summary = report.summary()
    assert {key: summary[key] for key in ("results", "passed", "failed", "errors", "skipped", "linked")} == {
        "results": 6,
        "passed": 3,
        "failed": 1,
        "errors": 1,
        "skipped": 1,
        "linked": 3,
    }
    assert summary["created"] is True
    assert summary["flavours"] == ["pytest"]
    assert summary["commit"] == "a" * 40  # SHA in lower case
    assert (summary["test_cases_created"], summary["links_created"]) == (5, 3)
    assert summary["unresolved"] == [
        {"test": "tests/test_dose.py::test_negative_dose", "key": "SRS-404", "problem": "no such item"},
        {
            "test": "tests/test_dose.py::test_negative_dose",
            "key": "RISK-1",
            "problem": "a test case cannot verify a risk",
        },
    ]
    results = {r.test_identifier: r for r in TestResult.objects.select_related("test_case")}
    assert results["tests/test_dose.py::test_round"].test_case.key == "TC-1"
    new = Item.objects.get(key="TC-2")
    assert (new.kind, new.status, new.title) == ("test_case", "draft", "test_meal_bolus[carbs-60]")
    assert new.attributes == {"test_id": "tests/test_dose.py::TestBolus::test_meal_bolus[carbs-60]", "unlinked": True}
    assert new.created_by == developer
    assert sorted(Link.objects.filter(source=new).values_list("link_type", "target__key")) == [
        ("verifies", "SRS-1"),
        ("verifies", "SYS-1"),
    ]
    assert list(Link.objects.filter(source__key="TC-3").values_list("target__key", flat=True)) == ["RC-1"]
    assert [
        Item.objects.get(attributes__test_id=identifier).key
        for identifier in (
            "tests/test_dose.py::test_negative_dose",
            "tests/test_alarm.py::test_alarm_sound",
            "tests/test_store.py::test_history_is_kept",
        )
    ] == ["TC-4", "TC-5", "TC-6"]
    assert results["tests/test_dose.py::test_negative_dose"].requirement_keys == ["SRS-404", "RISK-1"]
    run = report.run
    assert (run.version, run.source, run.environment, run.created_by) == ("1.0.0", "junit", "ci", developer)
    assert run.started_at == datetime(2026, 3, 3, 9, 15, 2, 123456, tzinfo=UTC)
    actions = list(AuditEvent.objects.filter(id__gt=0).order_by("id").values_list("action", flat=True))
    new_actions = actions[events_before:]
    assert sorted(set(new_actions)) == ["item.created", "link.created", "test_run.created"]
    assert (new_actions.count("item.created"), new_actions.count("link.created")) == (5, 3)
    assert new_actions[-1] == "test_run.created"
    event = AuditEvent.objects.get(action="test_run.created")
    assert (event.actor, event.scope, event.object_repr) == (developer, "DEMO", f"DEMO/run #{run.pk}")
    assert event.after["results"] == 6 and event.after["flavours"] == ["pytest"]


@pytest.mark.requirement("QI-404")
def test_the_same_run_twice_changes_nothing(small_graph, developer):
    product = small_graph["SRS-1"].product
    run = run_input_clean(version="1.0.0")
    first = junit_ingest(product=product, files=junit_file("pytest.xml"), run=run, actor=developer)
    before = counts()
    again = junit_ingest(product=product, files=junit_file("pytest.xml"), run=run, actor=developer)
    assert counts() == before
    assert again.created is False
    assert again.run.pk == first.run.pk
    assert again.summary()["results"] == 6 and again.summary()["linked"] == 3
    # The same file for another version is another run, reusing the test cases made the first time.
    other = junit_ingest(
        product=product, files=junit_file("pytest.xml"), run=run_input_clean(version="1.0.1"), actor=developer
    )
    assert other.created is True and other.test_cases_created == 0 and other.links_created == 0
    assert TestRun.objects.count() == 2


def test_known_test_ids_match_across_flavours(product, make_item, developer):
    make_item(
        "TC-010",
        "test_case",
        attributes={"test_id": "com.boluscalc.dose.MealComponentTest.dividesCarbsByActiveRatio"},
    )
    make_item("SRS-001", "software_requirement")
    report = junit_ingest(
        product=product,
        files=junit_file("surefire-TEST-com.boluscalc.dose.MealComponentTest.xml"),
        run=run_input_clean(commit_sha="abcdef1"),
        actor=developer,
    )
    by_id = dict(TestResult.objects.values_list("test_identifier", "test_case__key"))
    assert by_id["com.boluscalc.dose.MealComponentTest.dividesCarbsByActiveRatio"] == "TC-010"
    # New keys continue the product's own scheme (prefix and width).
    assert sorted(Item.objects.filter(kind="test_case").values_list("key", flat=True)) == [
        "TC-010",
        "TC-011",
        "TC-012",
        "TC-013",
        "TC-014",
    ]
    # "SRS-1 rounds …" does not name SRS-001; nothing is linked, nothing is reported for implicit keys.
    assert report.links_created == 0 and report.unresolved == []


def test_keys_in_test_names_link_requirements(small_graph, developer):
    product = small_graph["SRS-1"].product
    report = junit_ingest(
        product=product, files=junit_file("go-junit-report.xml"), run=run_input_clean(version="2.0"), actor=developer
    )
    assert report.links_created == 1
    link = Link.objects.get(
        target__key="SRS-1",
        source__attributes__test_id="github.com/acme/bolus/dose.TestRound/SRS-1_rounds_down_to_0.05",
    )
    assert link.link_type == "verifies"


def test_a_key_naming_a_user_need_makes_a_validates_link(small_graph, developer):
    product = small_graph["SRS-1"].product
    results_record(
        product=product,
        run=run_input_clean(version="1.0.0"),
        results=[{"test_id": "usability::bolus_flow", "status": "passed", "requirements": ["UN-1"]}],
        actor=developer,
    )
    link = Link.objects.get(target__key="UN-1", source__kind="test_case")
    assert link.link_type == "validates"


def test_a_new_key_that_breaks_the_key_pattern_is_refused_and_nothing_is_written(qm, developer):
    from traceability.services.products import product_create

    product = product_create(key="STRICT", name="Strict", key_pattern=r"(SRS|TC)-\d{3}", actor=qm)
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        results_record(
            product=product,
            run=run_input_clean(version="1.0.0"),
            results=[{"test_id": f"t{i}", "status": "passed"} for i in range(1000)],
            actor=developer,
        )
    assert caught.value.code == "test_case_key"
    assert "the next test-case key TC-1000 does not match the key pattern of STRICT" in caught.value.message
    assert counts() == before


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ([], "results: must be a non-empty list"),
        ([{"status": "passed"}], "results[0].test_id: is required"),
        ([{"test_id": "a", "status": "ok"}], "results[0].status: unknown status 'ok'"),
        ([{"test_id": "a", "status": "passed", "duration": -1}], "results[0].duration: must be a number of seconds"),
        ([{"test_id": "a", "status": "passed", "requirements": "SRS-1"}], "results[0].requirements: must be a list"),
        ([{"test_id": "a", "status": "passed", "colour": "red"}], "results[0]: unknown field 'colour'"),
        (
            [{"test_id": "a", "status": "failed_accepted"}],
            "results[0].rationale: status failed_accepted needs a rationale",
        ),
    ],
)
def test_bad_json_results_are_refused_naming_the_entry(small_graph, developer, results, message):
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        results_record(
            product=small_graph["SRS-1"].product,
            run=run_input_clean(version="1.0.0"),
            results=results,
            actor=developer,
        )
    assert message in caught.value.message
    assert counts() == before


@pytest.mark.parametrize(
    ("binding", "message"),
    [
        ({}, "a test run needs a version or a commit SHA (or both)"),
        ({"version": "1.0 beta"}, "version: '1.0 beta' is not valid"),
        ({"commit_sha": "xyz"}, "commit: 'xyz' is not valid"),
        ({"version": "1.0", "ci_job_url": "ftp://ci"}, "ci_job_url: 'ftp://ci' is not an http(s) URL"),
    ],
)
def test_run_binding_is_validated(binding, message):
    with pytest.raises(InvalidInput) as caught:
        run_input_clean(**binding)
    assert message in caught.value.message


def test_manual_executions_need_a_rationale_for_reviewed_results(small_graph, qm):
    product = small_graph["SRS-1"].product
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        manual_executions_record(
            product=product,
            run=run_input_clean(version="1.0.0"),
            executions=[{"test_case": "TC-1", "status": "passed_with_exception", "executed_at": "2026-03-03"}],
            actor=qm,
        )
    assert "needs a rationale" in caught.value.message
    assert counts() == before
    report = manual_executions_record(
        product=product,
        run=run_input_clean(version="1.0.0", environment="QA lab"),
        executions=[
            {
                "test_case": "TC-1",
                "status": "passed_with_exception",
                "executed_at": "2026-03-03T14:00:00+01:00",
                "notes": "Display flickers once on start.",
                "rationale": "Cosmetic; tracked as ANOM-7.",
            }
        ],
        actor=qm,
    )
    result = report.run.results.get()
    assert (result.test_case.key, result.status, result.executed_by) == (
        "TC-1",
        "passed_with_exception",
        "Quinn Manager",
    )
    assert result.executed_at == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    assert (result.message, result.rationale) == ("Display flickers once on start.", "Cosmetic; tracked as ANOM-7.")
    assert report.run.source == "manual" and report.run.started_at == result.executed_at


@pytest.mark.parametrize(
    ("execution", "message"),
    [
        ({"test_case": "TC-404", "status": "passed", "executed_at": "2026-03-03"}, "DEMO has no item 'TC-404'"),
        ({"test_case": "SRS-1", "status": "passed", "executed_at": "2026-03-03"}, "is a software_requirement"),
        ({"test_case": "TC-1", "status": "passed"}, "executions[0].executed_at: is required"),
        ({"test_case": "TC-1", "status": "passed", "executed_at": "2026-03-03T10:00"}, "needs a time zone"),
    ],
)
def test_bad_manual_executions_are_refused(small_graph, qm, execution, message):
    before = counts()
    with pytest.raises(InvalidInput) as caught:
        manual_executions_record(
            product=small_graph["SRS-1"].product,
            run=run_input_clean(version="1.0.0"),
            executions=[execution],
            actor=qm,
        )
    assert message in caught.value.message
    assert counts() == before


def test_a_curator_clears_the_unlinked_flag(small_graph, developer, qm):
    product = small_graph["SRS-1"].product
    results_record(
        product=product,
        run=run_input_clean(version="1.0.0"),
        results=[{"test_id": "tests/test_new.py::test_x", "status": "passed"}],
        actor=developer,
    )
    item = Item.objects.get(attributes__test_id="tests/test_new.py::test_x")
    assert item.attributes["unlinked"] is True
    item = item_update(item=item, attributes={"test_id": "tests/test_new.py::test_x", "unlinked": "false"}, actor=qm)
    assert item.attributes == {"test_id": "tests/test_new.py::test_x"}


def test_ingestion_costs_the_same_queries_for_one_and_many_results(product, make_item, developer):
    for number in range(1, 31):
        make_item(f"TC-{number}", "test_case", attributes={"test_id": f"t{number}"})

    def ingest(count: int, version: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            results_record(
                product=product,
                run=run_input_clean(version=version),
                results=[{"test_id": f"t{n}", "status": "passed"} for n in range(1, count + 1)],
                actor=developer,
            )
        return len(queries)

    one, many = ingest(1, "1.0.0"), ingest(30, "1.0.1")
    assert one == many
    assert many < 30


def test_a_release_binds_the_latest_result_per_test_case(small_graph, developer):
    product = small_graph["SRS-1"].product

    def post(binding: dict, status: str, started: str) -> None:
        results_record(
            product=product,
            run=run_input_clean(**binding, started_at=datetime.fromisoformat(started)),
            results=[{"test_id": "tests/test_dose.py::test_round", "status": status}],
            actor=developer,
        )

    post({"version": "1.0.0"}, "failed", "2026-03-02T10:00:00+00:00")
    post({"commit_sha": "b" * 40}, "passed", "2026-03-03T10:00:00+00:00")
    post({"version": "1.0.0"}, "error", "2026-03-01T10:00:00+00:00")  # arrives last, ran first
    post({"version": "0.9.0"}, "skipped", "2026-03-04T10:00:00+00:00")  # another release

    def latest(version: str, commit_sha: str = "") -> list[str]:
        release = Release(product=product, version=version, commit_sha=commit_sha)
        return [result.status for result in bound_results(product=product, release=release)]

    assert latest("1.0.0") == ["failed"]
    assert latest("1.0.0", commit_sha="b" * 40) == ["passed"]
    assert result_verdict("passed") == "pass"
    assert result_verdict("failed_accepted") == "pass"
    assert result_verdict("error") == "fail"
    assert result_verdict("skipped") is None
    assert latest("2.0.0") == []


def test_bound_results_cost_one_query_for_one_and_many_results(
    small_graph, make_item, developer, django_assert_num_queries
):
    product = small_graph["SRS-1"].product
    for number in range(2, 12):
        make_item(f"TC-{number}", "test_case", attributes={"test_id": f"t{number}"})

    def post(count: int, version: str) -> None:
        results_record(
            product=product,
            run=run_input_clean(version=version),
            results=[{"test_id": f"t{n}", "status": "passed"} for n in range(2, 2 + count)],
            actor=developer,
        )

    post(1, "1.0.0")
    post(10, "2.0.0")
    post(10, "2.0.0-rc1")
    with django_assert_num_queries(1):
        assert len(list(bound_results(product=product, release=Release(product=product, version="1.0.0")))) == 1
    with django_assert_num_queries(1):
        assert len(list(bound_results(product=product, release=Release(product=product, version="2.0.0")))) == 10


FULL_SHA = "3f2c9e1" + "a" * 33


@pytest.mark.parametrize(
    ("run_sha", "release_sha", "bound"),
    [
        ("3f2c9e1", FULL_SHA, True),  # CI posted a short SHA (git rev-parse --short)
        (FULL_SHA, "3f2c9e1", True),  # the release was given a short SHA
        (FULL_SHA[:12], FULL_SHA[:9], True),
        (FULL_SHA, FULL_SHA, True),
        ("3f2c9e2", FULL_SHA, False),  # another commit
        ("3f2c9e1" + "b" * 33, FULL_SHA, False),  # same short prefix, another full SHA
    ],
)
def test_a_run_binds_to_a_release_by_a_short_or_full_sha(small_graph, developer, run_sha, release_sha, bound):
    product = small_graph["SRS-1"].product
    results_record(
        product=product,
        run=run_input_clean(commit_sha=run_sha),
        results=[{"test_id": "tests/test_dose.py::test_round", "status": "passed"}],
        actor=developer,
    )
    release = Release(product=product, version="9.9.9", commit_sha=release_sha)
    assert [r.status for r in bound_results(product=product, release=release)] == (["passed"] if bound else [])


def test_short_sha_binding_costs_one_query(small_graph, make_item, developer, django_assert_num_queries):
    product = small_graph["SRS-1"].product
    for number in range(2, 12):
        make_item(f"TC-{number}", "test_case", attributes={"test_id": f"t{number}"})
    results_record(
        product=product,
        run=run_input_clean(commit_sha="3f2c9e1"),
        results=[{"test_id": f"t{n}", "status": "passed"} for n in range(2, 12)],
        actor=developer,
    )
    for release_sha in ("3f2c9e1", FULL_SHA):
        release = Release(product=product, version="9.9.9", commit_sha=release_sha)
        with django_assert_num_queries(1):
            assert len(list(bound_results(product=product, release=release))) == 10


JEST_DUPLICATES = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="2" failures="1">
  <testsuite name="a" tests="1" failures="1" timestamp="2026-03-03T09:21:04">
    <testcase classname="rounds down" name="rounds down" file="src/a.test.js" time="0.004">
      <failure>Error: expected 0.05, got 0.1</failure>
    </testcase>
  </testsuite>
  <testsuite name="b" tests="1" failures="0" timestamp="2026-03-03T09:21:05">
    <testcase classname="rounds down" name="rounds down" file="src/b.test.js" time="0.002"/>
  </testsuite>
</testsuites>"""


def test_within_one_run_the_worst_result_of_a_duplicate_test_id_wins(small_graph, developer):
    """jest-junit identifiers are test names: the same name in a.test.js (fails) and b.test.js (passes)."""
    product = small_graph["SRS-1"].product
    xml = JEST_DUPLICATES.replace(b' file="src/a.test.js"', b"").replace(b' file="src/b.test.js"', b"")
    report = junit_ingest(
        product=product, files=[("jest.xml", xml)], run=run_input_clean(version="1.0.0"), actor=developer
    )
    results = list(report.run.results.order_by("id").values_list("test_identifier", "status"))
    assert results == [("rounds down", "failed"), ("rounds down", "passed")]  # both kept as evidence
    release = Release(product=product, version="1.0.0")
    assert [r.status for r in bound_results(product=product, release=release)] == ["failed"]

    # A later run of the test case wins, whatever the earlier run said.
    results_record(
        product=product,
        run=run_input_clean(version="1.0.0", started_at=datetime(2026, 3, 4, tzinfo=UTC)),
        results=[{"test_id": "rounds down", "status": "passed"}],
        actor=developer,
    )
    assert [r.status for r in bound_results(product=product, release=release)] == ["passed"]


@pytest.mark.parametrize(
    ("statuses", "winner"),
    [
        (["passed", "skipped"], "skipped"),
        (["skipped", "failed"], "failed"),
        (["error", "failed"], "error"),
        (["failed", "error", "passed"], "error"),
        (["passed", "passed"], "passed"),
    ],
)
def test_the_explicit_severity_order_within_a_run(small_graph, developer, statuses, winner):
    product = small_graph["SRS-1"].product
    results_record(
        product=product,
        run=run_input_clean(version="1.0.0"),
        results=[{"test_id": "tests/test_dose.py::test_round", "status": status} for status in statuses],
        actor=developer,
    )
    release = Release(product=product, version="1.0.0")
    assert [r.status for r in bound_results(product=product, release=release)] == [winner]


def test_jest_identifiers_include_the_file_when_jest_junit_writes_it(small_graph, developer):
    product = small_graph["SRS-1"].product
    report = junit_ingest(
        product=product, files=[("jest.xml", JEST_DUPLICATES)], run=run_input_clean(version="1.0.0"), actor=developer
    )
    assert sorted(report.run.results.values_list("test_identifier", "status")) == [
        ("src/a.test.js::rounds down", "failed"),
        ("src/b.test.js::rounds down", "passed"),
    ]
    statuses = {r.test_identifier: r.status for r in bound_results(product=product, release=None)}
    assert statuses == {"src/a.test.js::rounds down": "failed", "src/b.test.js::rounds down": "passed"}


def test_a_key_in_a_go_failure_body_links_the_requirement(small_graph, developer):
    xml = b"""<testsuites><testsuite name="github.com/acme/dose" tests="1">
    <properties><property name="go.version" value="go1.22"/></properties>
    <testcase name="TestMax" classname="github.com/acme/dose"><failure message="Failed"><![CDATA[
    dose_test.go:42: SRS-1 bolus 30.00 U exceeds the maximum]]></failure></testcase></testsuite></testsuites>"""
    report = junit_ingest(
        product=small_graph["SRS-1"].product,
        files=[("go.xml", xml)],
        run=run_input_clean(version="1.0.0"),
        actor=developer,
    )
    result = report.run.results.get()
    assert (result.test_identifier, result.status, result.requirement_keys) == (
        "github.com/acme/dose.TestMax",
        "failed",
        ["SRS-1"],
    )
    assert Link.objects.filter(source=result.test_case, target=small_graph["SRS-1"], link_type="verifies").exists()


@pytest.mark.parametrize(
    "value", [[], ["SRS-1"], ["SRS-1", "SRS-2"], ['a"b', "é", "x\\y", "\n"], [1, "a"], {"a": [1]}, "text"]
)
def test_bulk_json_text_is_what_json_dumps_writes(value):
    import json

    from qms.bulk import _json_text

    assert _json_text(value, None) == json.dumps(value)


def test_bulk_inserts_are_counted_and_checked_by_the_database(small_graph, developer):
    from django.db import IntegrityError, transaction

    from qms.bulk import insert_many

    run = TestRun.objects.create(product=small_graph["SRS-1"].product, version="1.0.0")
    row = [run.pk, small_graph["TC-1"].pk, "t", "passed", None, "", "", "", "", None, ["SRS-1"]]
    names = ["run_id", "test_case_id", "test_identifier", "status", "duration", "message", "output", "rationale"]
    names += ["executed_by", "executed_at", "requirement_keys"]
    with CaptureQueriesContext(connection) as queries:
        assert insert_many(TestResult, [row, row], names=names) == 2
    assert len(queries) == 1 and '"traceability_testresult"' in queries[0]["sql"]  # INSERT, or COPY
    assert list(TestResult.objects.values_list("status", "requirement_keys")) == [("passed", ["SRS-1"])] * 2
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many(TestResult, [[*row[:3], "green", *row[4:]]], names=names)
    assert TestResult.objects.count() == 2
