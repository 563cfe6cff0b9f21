import pytest

from qms.models import AuditEvent
from traceability.models import ClauseLink, Item, Link
from traceability.services.imports import ItemRow, RowError, items_import

pytestmark = pytest.mark.django_db


def rows() -> list[ItemRow]:
    return [
        ItemRow(row=1, key="SYS-1", kind="system_requirement", title="Dose limits"),
        ItemRow(
            row=2,
            key="SRS-1",
            kind="software_requirement",
            title="Max bolus",
            links={"derives_from": ["SYS-1"]},
            clauses=["iec-62304-2015:5.2.1"],
        ),
        ItemRow(row=3, key="TC-1", kind="test_case", title="Max bolus test", links={"verifies": ["SRS-1"]}),
    ]


def test_import_creates_items_links_and_clauses_then_is_idempotent(product, qm, catalogue):
    report = items_import(product=product, rows=rows(), actor=qm)
    assert (report.items_created, report.links_created, report.clause_links_created) == (3, 2, 1)
    assert AuditEvent.objects.filter(action="item.created").count() == 3
    assert AuditEvent.objects.filter(action="link.created").count() == 2
    before = AuditEvent.objects.count()
    again = items_import(product=product, rows=rows(), actor=qm)
    assert not again.changed and again.items_unchanged == 3
    assert AuditEvent.objects.count() == before


def test_import_sets_links_of_the_given_types_exactly(product, qm, catalogue):
    items_import(product=product, rows=rows(), actor=qm)
    update = [ItemRow(row=1, key="TC-1", text="steps", links={"verifies": []})]
    report = items_import(product=product, rows=update, actor=qm)
    assert report.items_updated == 1 and report.links_removed == 1
    assert not Link.objects.filter(link_type="verifies").exists()
    assert Item.objects.get(key="TC-1").revision == 2


def test_an_update_makes_dependent_links_suspect(product, qm, catalogue):
    items_import(product=product, rows=rows(), actor=qm)
    items_import(product=product, rows=[ItemRow(row=1, key="SYS-1", text="new limits")], actor=qm)
    link = Link.objects.get(link_type="derives_from")
    assert link.target_fingerprint != link.target.fingerprint


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            ItemRow(row=7, key="SRS-9", kind="software_requirement", title="x", links={"derives_from": ["SYS-404"]}),
            "row 7, column derives_from: unknown item SYS-404",
        ),
        (
            ItemRow(row=7, key="SRS-9", kind="software_requirement", title="x", links={"verifies": ["SYS-1"]}),
            "row 7, column verifies: a software_requirement cannot 'verifies'",
        ),
        (
            ItemRow(row=7, key="SRS-9", kind="software_requirement", title=""),
            "row 7, column title: an item needs a title",
        ),
        (
            ItemRow(row=7, key="SRS-9", kind="software_requirement", title="x", clauses=["iec-62304-2015:99"]),
            "row 7, column clauses: unknown clause",
        ),
        (ItemRow(row=7, key="SRS-1", kind="test_case", title="x"), "row 7, column key: SRS-1 also appears in row 2"),
        (ItemRow(row=7, key="SRS-9", title="x"), "row 7, column kind: SRS-9 is new and needs a kind"),
        (
            ItemRow(row=7, key="SYS-2", kind="system_requirement", title="x", links={"derives_from": ["SYS-2"]}),
            "cannot link to itself",
        ),
    ],
)
def test_a_bad_row_names_row_and_column_and_imports_nothing(product, qm, catalogue, bad, message):
    with pytest.raises(RowError, match=message):
        items_import(product=product, rows=[*rows(), bad], actor=qm)
    assert not Item.objects.exists()
    assert not Link.objects.exists()
    assert not ClauseLink.objects.exists()


def test_a_cycle_in_the_file_is_refused(product, qm):
    cyclic = [
        ItemRow(row=1, key="SRS-1", kind="software_requirement", title="a", links={"derives_from": ["SRS-2"]}),
        ItemRow(row=2, key="SRS-2", kind="software_requirement", title="b", links={"derives_from": ["SRS-1"]}),
    ]
    with pytest.raises(RowError, match="cycle"):
        items_import(product=product, rows=cyclic, actor=qm)
    assert not Item.objects.exists()
