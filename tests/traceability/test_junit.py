"""Reading JUnit XML in its real flavours, and refusing unsafe XML."""

from pathlib import Path

import pytest

from qms.errors import InvalidInput
from traceability.services.evidence.junit import case_identifier, junit_parse, pytest_node_id

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


def parsed(name: str):
    return junit_parse((FIXTURES / name).read_bytes(), source=name)


def rows(name: str) -> list[tuple[str, str]]:
    return [(case.identifier, case.status) for case in parsed(name).cases]


@pytest.mark.requirement("QI-401")
def test_pytest_flavour_gives_node_ids_properties_and_statuses():
    junit = parsed("pytest.xml")
    assert junit.flavour == "pytest"
    assert rows("pytest.xml") == [
        ("tests/test_dose.py::test_round", "passed"),
        ("tests/test_dose.py::TestBolus::test_meal_bolus[carbs-60]", "passed"),
        ("tests/test_dose.py::test_limits", "passed"),
        ("tests/test_dose.py::test_negative_dose", "failed"),
        ("tests/test_alarm.py::test_alarm_sound", "skipped"),
        ("tests/test_store.py::test_history_is_kept", "error"),
    ]
    cases = junit.cases
    assert cases[1].requirement_keys == ["SRS-1", "SYS-1"]
    assert cases[3].requirement_keys == ["SRS-404", "RISK-1"]
    assert "Verifies RC-1: a bolus above the maximum is refused." in cases[2].texts
    assert cases[3].message == "assert -0.5 == 0"
    assert "tests/test_dose.py:31: AssertionError" in cases[3].output
    assert "meal bolus for 60 g at 1:10 = 6.00 U" in cases[1].output
    assert cases[5].message == 'failed on setup with "RuntimeError: database unavailable"'
    assert cases[0].duration == 0.002
    # 10:15:02+01:00 is 09:15:02 UTC; the suite took 0.412 s
    assert junit.started_at.isoformat() == "2026-03-03T09:15:02.123456+00:00"
    assert junit.finished_at.isoformat() == "2026-03-03T09:15:02.535456+00:00"


@pytest.mark.requirement("QI-401")
def test_surefire_flavour_uses_classname_dot_name_and_reads_flaky_reruns():
    junit = parsed("surefire-TEST-com.boluscalc.dose.MealComponentTest.xml")
    assert junit.flavour == "surefire"
    assert [(c.identifier, c.status, c.message) for c in junit.cases] == [
        ("com.boluscalc.dose.MealComponentTest.dividesCarbsByActiveRatio", "passed", ""),
        ("com.boluscalc.dose.MealComponentTest.SRS-1 rounds the meal bolus down to 0.05 U", "passed", ""),
        (
            "com.boluscalc.dose.MealComponentTest.zeroCarbsAndRatioBounds",
            "failed",
            "expected: <0.0> but was: <0.05>",
        ),
        ("com.boluscalc.dose.MealComponentTest.largeMealWarning", "skipped", "pump simulator not available"),
        (
            "com.boluscalc.dose.MealComponentTest.retriesTransientTimeouts",
            "passed",
            "flaky: passed after 1 failed attempt(s)",
        ),
    ]
    assert "meal component: carbs=0 ratio=10.0" in junit.cases[2].output
    assert junit.started_at is None  # Surefire writes no timestamp


def test_ctest_flavour_uses_the_name_and_status_attribute():
    junit = parsed("ctest.xml")
    assert junit.flavour == "ctest"
    assert rows("ctest.xml") == [
        ("dose_rounding_SRS-1", "passed"),
        ("bolus_limits", "failed"),
        ("pump_link", "skipped"),
        ("legacy_units", "skipped"),
    ]
    assert "Expected equality of these values" in junit.cases[1].output
    assert junit.started_at.isoformat() == "2026-03-03T10:20:11+00:00"  # no zone: taken as UTC


def test_jest_flavour_uses_the_full_title_and_reads_testcase_properties():
    junit = parsed("jest-junit.xml")
    assert junit.flavour == "jest"
    assert rows("jest-junit.xml") == [
        ("bolus calculator SRS-1 rounds the meal bolus down", "passed"),
        ("bolus calculator rejects negative carbohydrates", "failed"),
        ("bolus calculator suggests a correction", "skipped"),
        ("bolus calculator shows the insulin on board", "passed"),
        ("settings screen saves the carbohydrate ratio", "passed"),
    ]
    assert junit.cases[1].message == "Error: expect(received).toThrow(expected)"  # no message attribute
    assert junit.cases[3].requirement_keys == ["SYS-1"]


def test_go_flavour_keeps_subtests_and_build_errors():
    junit = parsed("go-junit-report.xml")
    assert junit.flavour == "go"
    assert rows("go-junit-report.xml") == [
        ("github.com/acme/bolus/dose.TestRound", "passed"),
        ("github.com/acme/bolus/dose.TestRound/SRS-1_rounds_down_to_0.05", "passed"),
        ("github.com/acme/bolus/dose.TestMaxBolus", "failed"),
        ("github.com/acme/bolus/dose.TestPumpLink", "skipped"),
        ("github.com/acme/bolus/store.[build failed]", "error"),
    ]
    assert "exceeds the maximum of 25.00 U" in junit.cases[2].output


def test_nested_suites_are_walked():
    junit = parsed("phpunit-nested.xml")
    assert junit.flavour == "junit"
    assert rows("phpunit-nested.xml") == [
        ("Tests.Unit.DoseTest.testRoundsDown", "passed"),
        ("Tests.Unit.DoseTest.testRatios with data set #0", "passed"),
    ]


def test_bare_testsuite_root_and_suite_level_requirements():
    xml = b"""<testsuite name="smoke"><properties><property name="requirements" value="SYS-1"/></properties>
    <testcase classname="smoke" name="starts"><properties><property name="requirement">SRS-2</property></properties>
    </testcase></testsuite>"""
    junit = junit_parse(xml, source="smoke.xml")
    assert [(c.identifier, c.requirement_keys) for c in junit.cases] == [("smoke.starts", ["SYS-1", "SRS-2"])]


@pytest.mark.parametrize(
    ("classname", "name", "file", "expected"),
    [
        ("tests.test_dose", "test_round", None, "tests/test_dose.py::test_round"),
        ("tests.unit.test_dose.TestBolus", "test_x[1]", None, "tests/unit/test_dose.py::TestBolus::test_x[1]"),
        ("tests.test_dose.TestBolus", "test_x", "tests/test_dose.py", "tests/test_dose.py::TestBolus::test_x"),
        ("test_dose", "test_x", None, "test_dose.py::test_x"),
        ("tests.API.test_x", "test_y", None, "tests/API/test_x.py::test_y"),  # capitalised folders
        ("tests.API.test_x.TestA", "test_y", None, "tests/API/test_x.py::TestA::test_y"),
        ("src.Dose.tests.dose_test.TestA.TestB", "test_y", None, "src/Dose/tests/dose_test.py::TestA::TestB::test_y"),
        ("tests.check_dose.TestA", "test_y", None, "tests/check_dose.py::TestA::test_y"),  # custom python_files
        ("", "tests/test_broken.py", None, "tests/test_broken.py"),
    ],
)
def test_pytest_node_ids(classname, name, file, expected):
    assert pytest_node_id(classname, name, file) == expected


def test_identifier_rule_of_other_flavours():
    assert case_identifier("surefire", "com.acme.DoseTest", "roundsDown") == "com.acme.DoseTest.roundsDown"
    assert case_identifier("ctest", "unit_dose", "unit_dose") == "unit_dose"
    assert case_identifier("junit", "", "lonely") == "lonely"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuite name="x"><testcase classname="a" name="&lol3;"/></testsuite>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite name="x"><testcase classname="a" name="b"><system-out>&secret;</system-out></testcase></testsuite>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite SYSTEM "http://attacker.example/junit.dtd">
<testsuite name="x"><testcase classname="a" name="b"/></testsuite>"""
PLAIN_DTD = b"""<?xml version="1.0"?><!DOCTYPE testsuite [<!ELEMENT testsuite ANY>]><testsuite name="x"/>"""

UNSAFE = [
    (BILLION_LAUGHS, "xml_refused", "entity declaration 'lol' is refused (entity expansion)"),
    (EXTERNAL_ENTITY, "xml_refused", "external entity 'secret' (file:///etc/passwd) is refused"),
    (EXTERNAL_DTD, "xml_refused", "a DTD (<!DOCTYPE testsuite> (http://attacker.example/junit.dtd)) is refused"),
    (PLAIN_DTD, "xml_refused", "a DTD (<!DOCTYPE testsuite>) is refused"),
    (b"<testsuite><testcase></testsuite>", "xml_invalid", "not well-formed XML (mismatched tag"),
    (b"<report><test/></report>", "junit_invalid", "the root element must be <testsuites> or <testsuite>"),
    (b"   ", "invalid", "the file is empty"),
]


@pytest.mark.requirement("QI-402")
@pytest.mark.parametrize(("data", "code", "reason"), UNSAFE)
def test_unsafe_or_broken_xml_is_refused_with_the_reason(data, code, reason):
    with pytest.raises(InvalidInput) as caught:
        junit_parse(data, source="evil.xml")
    assert caught.value.code == code
    assert caught.value.message.startswith("evil.xml: ")
    assert reason in caught.value.message


@pytest.mark.requirement("QI-402")
def test_files_over_the_size_limit_are_refused(settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 100
    data = b"<testsuite>" + b"<testcase classname='a' name='b'/>" * 5 + b"</testsuite>"
    with pytest.raises(InvalidInput) as caught:
        junit_parse(data, source="big.xml")
    assert caught.value.code == "too_large"
    assert caught.value.message == (
        f"big.xml: {len(data)} bytes is over the upload limit of 100 bytes (EVIDENCE_MAX_UPLOAD_MB)"
    )


def test_keys_in_the_failure_text_are_searched_not_only_the_message():
    """go-junit-report writes message="Failed" and the real text in the element's body."""
    xml = (
        b"""<testsuites><testsuite name="github.com/acme/dose" tests="2">
    <properties><property name="go.version" value="go1.22"/></properties>
    <testcase name="TestMax" classname="github.com/acme/dose"><failure message="Failed"><![CDATA[
    dose_test.go:42: SRS-012 bolus 30.00 U exceeds the maximum]]></failure></testcase>
    <testcase name="TestBig" classname="github.com/acme/dose"><error message="Error">"""
        + (b"x" * 5000 + b" SRS-099")
        + b"""</error></testcase></testsuite></testsuites>"""
    )
    first, second = junit_parse(xml, source="go.xml").cases
    assert (first.status, first.message) == ("failed", "Failed")
    assert "SRS-012" in "\n".join(first.texts)
    assert "SRS-099" not in "\n".join(second.texts)  # only the first 4 KB of a body are searched
