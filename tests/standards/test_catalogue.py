import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from qms.models import AuditEvent
from standards.models import Clause, ClauseMapping, Standard
from standards.selectors import clauses_applicable
from standards.services import catalogue_load
from tests.conftest import FIXTURES
from traceability.models import ClauseLink
from traceability.services.items import clause_link_create

pytestmark = pytest.mark.django_db


def clause(slug: str, number: str) -> Clause:
    return Clause.objects.get(standard__slug=slug, number=number)


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "standards"
    shutil.copytree(FIXTURES / "standards", target)
    return target


def test_every_catalogue_file_loads(catalogue):
    slugs = set(Standard.objects.values_list("slug", flat=True))
    assert slugs == {
        "iec-62304-2015",
        "iso-13485-2016",
        "iso-14971-2019",
        "iec-82304-1-2016",
        "iec-62366-1-2015",
        "21-cfr-11",
        "21-cfr-820-qmsr",
        "eu-mdr-annex-i",
    }
    iec = Standard.objects.get(slug="iec-62304-2015")
    numbers = set(iec.clauses.values_list("number", flat=True))
    expected = {"4.1", "4.4.5", "5.1.1", "5.1.12", "5.8.8", "6.2.1.3", "7.3.3", "8.2.4", "9.8"}
    assert expected <= numbers
    assert clause("iec-62304-2015", "5.1.4").parent == clause("iec-62304-2015", "5.1")


def test_load_standards_is_idempotent():
    first = StringIO()
    call_command("load_standards", stdout=first)
    assert "created" in first.getvalue()
    counts = (
        Standard.objects.count(),
        Clause.objects.count(),
        ClauseMapping.objects.count(),
        AuditEvent.objects.count(),
    )
    second = StringIO()
    call_command("load_standards", stdout=second)
    assert "nothing changed" in second.getvalue()
    assert (
        Standard.objects.count(),
        Clause.objects.count(),
        ClauseMapping.objects.count(),
        AuditEvent.objects.count(),
    ) == counts


@pytest.mark.parametrize(
    ("number", "classes"),
    [
        ("5.1.4", ["C"]),
        ("5.3.1", ["B", "C"]),
        ("5.3.2", ["B", "C"]),
        ("5.3.6", ["B", "C"]),
        ("5.3.5", ["C"]),
        ("5.8.4", ["A", "B", "C"]),
        ("5.8.3", ["B", "C"]),
        ("5.7.1", ["A", "B", "C"]),
        ("5.4.2", ["C"]),
        ("7.4.2", ["B", "C"]),
    ],
)
def test_iec_62304_applicability(catalogue, number, classes):
    assert clause("iec-62304-2015", number).classes == classes


def test_applicable_clauses_for_a_class_b_product(catalogue):
    iec = Standard.objects.filter(slug="iec-62304-2015")
    numbers = set(clauses_applicable(safety_class="B", standards=iec).values_list("number", flat=True))
    assert {"5.3.1", "5.3.6", "5.8.4", "5.1.5"} <= numbers
    assert "5.1.4" not in numbers and "5.4.2" not in numbers
    class_c = set(clauses_applicable(safety_class=None, standards=iec).values_list("number", flat=True))
    assert "5.1.4" in class_c  # unassigned class: class C applies
    class_a = set(clauses_applicable(safety_class="A", standards=iec).values_list("number", flat=True))
    assert "5.3.1" not in class_a and "5.8.4" in class_a
    # other standards apply whatever the class
    iso = Standard.objects.filter(slug="iso-13485-2016")
    assert (
        clauses_applicable(safety_class="A", standards=iso).count() == Clause.objects.filter(standard__in=iso).count()
    )


def test_cross_standard_mappings(catalogue):
    targets = set(
        ClauseMapping.objects.filter(source=clause("iec-82304-1-2016", "5")).values_list("target__number", flat=True)
    )
    assert {"4.2", "4.3", "5", "6", "7", "8", "9"} <= targets
    assert "4.1" not in targets
    qmsr = set(
        ClauseMapping.objects.filter(source=clause("21-cfr-820-qmsr", "820.10")).values_list(
            "target__standard__slug", flat=True
        )
    )
    assert qmsr == {"iso-13485-2016"}


def test_an_edited_title_updates_in_place_and_keeps_links(catalogue_copy, make_item, qm):
    catalogue_load(directory=catalogue_copy, actor=None)
    target = clause("iec-62304-2015", "5.2.1")
    item = make_item("SRS-1", "software_requirement")
    clause_link_create(item=item, clause=target, actor=qm)

    path = catalogue_copy / "iec-62304.yaml"
    text = path.read_text()
    old_title = target.title
    assert old_title in text
    path.write_text(text.replace(old_title, "Software requirements from system requirements (edited)", 1))
    report = catalogue_load(directory=catalogue_copy, actor=qm)

    assert report.clauses_updated == 1 and report.clauses_created == 0
    updated = clause("iec-62304-2015", "5.2.1")
    assert updated.pk == target.pk
    assert updated.title == "Software requirements from system requirements (edited)"
    assert ClauseLink.objects.get().clause_id == target.pk
    assert AuditEvent.objects.filter(action="standard.updated").count() == 1


def test_a_malformed_file_names_file_and_entry_and_loads_nothing(catalogue_copy):
    path = catalogue_copy / "iso-14971.yaml"
    path.write_text(path.read_text().replace('number: "7.1"', "number: 7.1", 1))
    with pytest.raises(CommandError) as excinfo:
        call_command("load_standards", "--dir", str(catalogue_copy))
    message = str(excinfo.value)
    assert "iso-14971.yaml" in message and "must be a string" in message
    assert Standard.objects.count() == 0
    assert Clause.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("filename", "old", "new", "expected"),
    [
        ("iec-62304.yaml", "classes: [C]", "classes: [D]", "'classes' must be a list of A, B, C"),
        ("iec-62304.yaml", "slug: iec-62304-2015", "slug: iec-62304-2015\nbogus: 1", "unknown key 'bogus'"),
        ("mappings.yaml", "iec-62304-2015:4.2", "iec-62304-2015:99.9", "has no clause '99.9'"),
        ("21-cfr-11.yaml", "clauses:", "clauses: oops\nold_clauses:", "unknown key 'old_clauses'"),
        ("iso-13485.yaml", "slug: iso-13485-2016", "slug: [", "not valid YAML"),
        (
            "iec-62304.yaml",
            "title: Quality management system",
            'title: "Quality\\0system"',
            r"clause 4.1: 'title' contains a NUL character \(U\+0000\), which cannot be stored",
        ),
        (
            "iec-62304.yaml",
            "title: Quality management system",
            'title: "Quality\\uD800system"',
            r"clause 4.1: 'title' contains a lone surrogate \(U\+D800\), which is not text",
        ),
    ],
)
def test_catalogue_errors(catalogue_copy, filename, old, new, expected):
    path = catalogue_copy / filename
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(CommandError, match=expected):
        call_command("load_standards", "--dir", str(catalogue_copy))
    assert Standard.objects.count() == 0


def test_a_removed_clause_is_retired_not_deleted(catalogue_copy, make_item, qm):
    catalogue_load(directory=catalogue_copy, actor=None)
    path = catalogue_copy / "21-cfr-820.yaml"
    text = path.read_text()
    start = text.index('  - number: "820.45"')
    path.write_text(text[:start])
    report = catalogue_load(directory=catalogue_copy, actor=qm)
    assert report.clauses_retired == 1
    retired = clause("21-cfr-820-qmsr", "820.45")
    assert retired.is_active is False
    assert "820.45" not in set(
        clauses_applicable(safety_class="C", standards=[retired.standard]).values_list("number", flat=True)
    )
