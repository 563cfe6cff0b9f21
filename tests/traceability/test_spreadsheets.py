import csv
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from qms.models import AuditEvent
from traceability.kinds import ATTRIBUTES, LINK_RULES, ItemKind, ItemStatus, LinkType
from traceability.models import ClauseLink, Item, Link, Product
from traceability.selectors import ItemRecord, item_records
from traceability.services.imports import ItemRow, items_import
from traceability.spreadsheets.columns import (
    ATTRIBUTE_COLUMNS,
    BASE_COLUMNS,
    CLAUSES_COLUMN,
    LINK_COLUMNS,
    cell_neutralise,
    cell_restore,
)

pytestmark = pytest.mark.django_db

RISK = {
    "hazard": "Overdose",
    "sequence_of_events": "Wrong carb ratio\nthen a large meal",
    "hazardous_situation": "Too much insulin",
    "harm": "Hypoglycaemia",
    "severity": 4,
    "probability": 3,
    "residual_severity": 4,
    "residual_probability": 1,
}

# Every kind, every link type, every status; Unicode, multi-line text (\n and \r\n), empty cells,
# cells a spreadsheet program would run as formulas, control characters, clauses.
ROWS = [
    ItemRow(
        row=1,
        key="UN-1",
        kind="user_need",
        title="Dose advice — für Ärztinnen, 日本語 😀",
        text="First line\nsecond line\r\nthird line",
        status="approved",
        attributes={"user_group": "Adults with type 1 diabetes"},
    ),
    ItemRow(row=2, key="SYS-1", kind="system_requirement", title="=SUM(A1:A2)", text="", status="in_review",
            links={"derives_from": ["UN-1"]}, clauses=["iec-62304-2015:5.2.1", "iso-14971-2019:4.1"]),
    ItemRow(row=3, key="SYS-2", kind="system_requirement", title="Derived limit", text="+1 more",
            attributes={"derived_rationale": "-follows from SYS-1", "verification_rationale": "@review"},
            links={"derives_from": ["SYS-1"]}),
    ItemRow(row=4, key="SRS-1", kind="software_requirement", title="-minus first", text="@mention",
            attributes={"category": "functional"}, links={"derives_from": ["SYS-1"], "implements": ["RC-1"]},
            clauses=["iec-62304-2015:5.2.1"]),
    ItemRow(row=5, key="SRS-2", kind="software_requirement", title="Quoted", text="'=already quoted",
            status="obsolete", links={"derives_from": ["SRS-1", "SYS-2"]}),
    ItemRow(row=6, key="SWI-1", kind="software_item", title="Dose engine", text="''",
            attributes={"safety_class": "C"},
            links={"implements": ["SRS-1"], "uses": ["SOUP-1"], "contributes_to": ["RISK-1"]}),
    ItemRow(row=7, key="SWI-2", kind="software_item", title="Rounding", text="'plain apostrophe",
            links={"part_of": ["SWI-1"]}),
    ItemRow(row=8, key="SOUP-1", kind="soup", title="SQLite", text="\tindented",
            attributes={"version": "3.10", "supplier": "SQLite", "licence": "Public domain", "risk_level": "low"},
            links={"contributes_to": ["RISK-1"]}),
    ItemRow(row=9, key="RISK-1", kind="risk", title="Overdose", text="\rcarriage return first", attributes=RISK),
    ItemRow(row=10, key="RC-1", kind="risk_control", title="Upper dose limit", text="vertical\x0btab and _x000D_",
            attributes={"control_type": "protective_measure"}, links={"mitigates": ["RISK-1"]}),
    ItemRow(row=11, key="TC-1", kind="test_case", title="Limit test", text="",
            attributes={"test_id": "tests/test_dose.py::test_limit", "level": "unit", "steps": "1. =enter\n2. check"},
            links={"verifies": ["SRS-1", "SRS-2", "RC-1"]}),
    ItemRow(row=12, key="TC-2", kind="test_case", title="Usability", links={"validates": ["UN-1"]}),
    ItemRow(row=13, key="ANOM-1", kind="anomaly", title="Crash", text="Stack trace:\n  at x",
            attributes={"state": "open", "evaluation": "=1+1 no safety effect", "found_in": "1.0.0"},
            links={"affects": ["SRS-1", "SOUP-1"]}),
    ItemRow(row=14, key="CR-1", kind="change_request", title="Fix crash",
            attributes={"rationale": "Crash", "significance": "not_significant"},
            links={"affects": ["SWI-1"], "resolves": ["ANOM-1"]}),
    ItemRow(row=15, key="DOC-1", kind="document", title="SDP", attributes={"document_id": "SDP-01", "version": "2"}),
]  # fmt: skip


@pytest.fixture
def full_product(product, qm, catalogue):
    items_import(product=product, rows=ROWS, actor=qm)
    return product


def snapshot(product: Product) -> list[tuple]:
    return [
        (r.key, r.kind, r.title, r.text, r.status, r.attributes, r.links, r.clauses)
        for r in item_records(product=product)
    ]


def counts() -> tuple[int, ...]:
    return (
        Product.objects.count(),
        Item.objects.count(),
        Link.objects.count(),
        ClauseLink.objects.count(),
        AuditEvent.objects.count(),
    )


def test_the_fixture_covers_every_kind_link_type_and_status(full_product):
    records = item_records(product=full_product)
    assert {r.kind for r in records} == set(ItemKind.values)
    assert {lt for r in records for lt in r.links} == set(LinkType.values)
    assert {r.status for r in records} == set(ItemStatus.values)


def test_attribute_columns_never_collide_with_other_columns():
    assert len(set(ATTRIBUTE_COLUMNS)) == len(ATTRIBUTE_COLUMNS)
    assert not set(ATTRIBUTE_COLUMNS) & {*BASE_COLUMNS, *LINK_COLUMNS, CLAUSES_COLUMN}
    assert set(LINK_COLUMNS) == set(LINK_RULES)
    assert set(ATTRIBUTE_COLUMNS) == {attr.name for attrs in ATTRIBUTES.values() for attr in attrs}


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-x", "'-x"),
        ("@me", "'@me"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("''", "'''"),
        ("'a", "'a"),
        ("'", "'"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_formula_neutralisation_is_undone_on_import(value, exported):
    assert cell_neutralise(value) == exported
    assert cell_restore(exported) == value


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_round_trips_without_loss(full_product, qm, tmp_path, suffix):
    path = tmp_path / f"items{suffix}"
    call_command("export_items", "DEMO", str(path), stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_items", "COPY", str(path), "--as", qm.username, stdout=out)
    assert "Product COPY did not exist: created with default settings" in out.getvalue()
    assert "15 items created" in out.getvalue()
    copy = Product.objects.get(key="COPY")
    assert snapshot(copy) == snapshot(full_product)
    # Importing the export back into the source changes nothing.
    before = counts()
    again = io.StringIO()
    call_command("import_items", "DEMO", str(path), stdout=again)
    assert "0 items created, 0 updated, 15 unchanged; 0 links created, 0 removed" in again.getvalue()
    assert counts() == before


def test_csv_export_is_deterministic_and_neutralised(full_product, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    call_command("export_items", "DEMO", str(first), stdout=io.StringIO())
    call_command("export_items", "DEMO", str(second), stdout=io.StringIO())
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfkey,kind,title,text,status,derives_from,")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    by_key = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == sorted(by_key)
    assert by_key["SYS-1"]["title"] == "'=SUM(A1:A2)"
    assert by_key["SRS-2"]["text"] == "''=already quoted"
    assert by_key["SRS-2"]["derives_from"] == "SRS-1; SYS-2"
    assert by_key["SYS-1"]["clauses"] == "iec-62304-2015:5.2.1; iso-14971-2019:4.1"
    assert by_key["UN-1"]["text"] == "First line\nsecond line\r\nthird line"
    assert by_key["RISK-1"]["severity"] == "4"
    assert by_key["TC-1"]["text"] == ""


def test_xlsx_export_is_deterministic_with_frozen_header_filter_and_widths(full_product, tmp_path):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    call_command("export_items", "DEMO", str(first), stdout=io.StringIO())
    call_command("export_items", "DEMO", str(second), stdout=io.StringIO())
    assert first.read_bytes() == second.read_bytes()
    sheet = load_workbook(first).active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}16"
    assert [cell.value for cell in sheet[1]][:5] == ["key", "kind", "title", "text", "status"]
    assert sheet.column_dimensions["A"].width == 8  # "ANOM-1" + 2
    assert (sheet["A16"].value, sheet["C16"].value) == ("UN-1", "Dose advice — für Ärztinnen, 日本語 😀")
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_item_records_cost_three_queries_for_one_or_many_items(product, qm, django_assert_num_queries):
    items_import(product=product, rows=ROWS[:1], actor=qm)
    with django_assert_num_queries(3):
        assert len(item_records(product=product)) == 1
    items_import(product=product, rows=[ItemRow(row=i, key=f"SYS-{i}", kind="system_requirement", title="t",
                                                links={"derives_from": ["UN-1"]}) for i in range(1, 30)],
                 actor=qm)  # fmt: skip
    with django_assert_num_queries(3):
        records = item_records(product=product)
    assert len(records) == 30
    assert records[0] == ItemRecord(
        key="SYS-1",
        kind="system_requirement",
        title="t",
        text="",
        status="draft",
        attributes={},
        links={"derives_from": ["UN-1"]},
        clauses=[],
        updated_at=records[0].updated_at,
    )


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_a_partial_file_changes_only_its_columns(full_product, qm, tmp_path):
    path = write_csv(tmp_path / "titles.csv", [["key", "title", "steps"], ["TC-1", "Limit test v2", "1. new"]])
    out = io.StringIO()
    call_command("import_items", "DEMO", str(path), stdout=out)
    assert "0 items created, 1 updated, 0 unchanged" in out.getvalue()
    item = Item.objects.get(product=full_product, key="TC-1")
    assert item.title == "Limit test v2"
    assert item.attributes == {"test_id": "tests/test_dose.py::test_limit", "level": "unit", "steps": "1. new"}
    assert sorted(Link.objects.filter(source=item).values_list("target__key", flat=True)) == ["RC-1", "SRS-1", "SRS-2"]


def test_semicolon_separated_csv_and_friendly_headers_are_read(product, tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("Key;Kind;Title;Derives from\nSYS-1;system_requirement;A;\nSYS-2;system_requirement;B;SYS-1\n")
    call_command("import_items", "DEMO", str(path), stdout=io.StringIO())
    assert list(Link.objects.values_list("source__key", "target__key")) == [("SYS-2", "SYS-1")]


def test_the_actor_is_recorded(product, qm, developer, tmp_path):
    path = write_csv(tmp_path / "one.csv", [["key", "kind", "title"], ["SYS-1", "system_requirement", "A"]])
    call_command("import_items", "NEW", str(path), "--as", qm.username, stdout=io.StringIO())
    assert set(AuditEvent.objects.filter(scope="NEW").values_list("action", "actor_username")) == {
        ("product.created", "quinn"),
        ("item.created", "quinn"),
    }
    call_command("import_items", "DEMO", str(path), "--as", developer.username, stdout=io.StringIO())
    assert AuditEvent.objects.get(scope="DEMO", action="item.created").actor_username == "dana"


def bad_xlsx(path: Path) -> Path:
    workbook = Workbook()
    workbook.active.append(["key", "kind", "title"])
    workbook.active.append(["SYS-1", "system_requirement", "=1+1"])
    workbook.save(path)
    return path


HEADER = ["key", "kind", "title", "text", "status", "derives_from", "verifies", "clauses"]
GOOD = [
    ["SYS-1", "system_requirement", "Limits", "", "approved", "", "", ""],
    ["SRS-1", "software_requirement", "Max bolus", "", "draft", "SYS-1", "", ""],
]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "unknown.csv",
            [[*HEADER, "colour"], *[[*row, ""] for row in GOOD]],
            re.escape("row 1, column colour: unknown column"),
        ),
        (
            "kind.csv",
            [HEADER, *GOOD, ["SRS-2", "requirement", "x", "", "", "", "", ""]],
            re.escape("row 4, column kind: unknown kind 'requirement'"),
        ),
        (
            "status.csv",
            [HEADER, *GOOD, ["SRS-2", "software_requirement", "x", "", "done", "", "", ""]],
            re.escape("row 4, column status: unknown status 'done'"),
        ),
        (
            "target.csv",
            [HEADER, *GOOD, ["SRS-2", "software_requirement", "x", "", "", "SYS-404", "", ""]],
            re.escape("row 4, column derives_from: unknown item SYS-404"),
        ),
        (
            "disallowed.csv",
            [HEADER, *GOOD, ["SRS-2", "software_requirement", "x", "", "", "", "SRS-1", ""]],
            re.escape("row 4, column verifies: a software_requirement cannot 'verifies' a software_requirement"),
        ),
        (
            "duplicate.csv",
            [HEADER, *GOOD, ["SYS-1", "system_requirement", "again", "", "", "", "", ""]],
            re.escape("row 4, column key: SYS-1 also appears in row 2"),
        ),
        (
            "cycle.csv",
            [
                HEADER,
                ["SRS-1", "software_requirement", "a", "", "", "SRS-2", "", ""],
                ["SRS-2", "software_requirement", "b", "", "", "SRS-1", "", ""],
            ],
            r"cycle.csv: row [23], column derives_from: links would create a cycle: SRS-([12]) → SRS-[12] → SRS-\1",
        ),
        (
            "clause.csv",
            [HEADER, *GOOD, ["SRS-2", "software_requirement", "x", "", "", "", "", "iec-62304-2015:99.9"]],
            re.escape("row 4, column clauses: unknown clause 'iec-62304-2015:99.9'"),
        ),
        (
            "attribute.csv",
            [
                [*HEADER, "hazard"],
                *[[*row, ""] for row in GOOD],
                ["SRS-2", "software_requirement", "x", "", "", "", "", "", "Overdose"],
            ],
            re.escape("row 4, column hazard: unknown attribute 'hazard' for software_requirement"),
        ),
        (
            "nokey.csv",
            [["kind", "title"], ["system_requirement", "x"]],
            re.escape("row 1, column key: the header row needs"),
        ),
        (
            "headerless.csv",
            [HEADER, [*GOOD[0], "stray"]],
            re.escape("row 2, column #9: a value in a column without a header"),
        ),
        (
            "badkey.csv",
            [HEADER, ["sys 1", "system_requirement", "x", "", "", "", "", ""]],
            re.escape("row 2, column key: key"),
        ),
        ("empty.csv", [], re.escape("empty.csv: the file is empty (no header row)")),
        ("header-only.csv", [HEADER], re.escape("header-only.csv: the file has a header row but no items")),
    ],
)
def test_bad_csv_names_row_and_column_and_writes_nothing(catalogue, qm, tmp_path, name, content, message):
    path = write_csv(tmp_path / name, content)
    before = counts()
    with pytest.raises(CommandError, match=message):
        call_command("import_items", "FRESH", str(path), stdout=io.StringIO())
    assert counts() == before
    assert not Product.objects.filter(key="FRESH").exists()


def test_bad_files_are_refused_and_write_nothing(catalogue, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("key,kind,title\nSYS-1,system_requirement,Dosis f\u00fcr\n".encode("latin-1"))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    quotes = tmp_path / "quotes.csv"
    quotes.write_text('key,kind,title\nSYS-1,system_requirement,"open quote\n')
    cases = [
        (latin1, r"latin1.csv: row 2, column title: not UTF-8 text \(byte 0xfc\)"),
        (broken, r"broken.xlsx: not a readable XLSX workbook"),
        (bad_xlsx(tmp_path / "formula.xlsx"), r"formula.xlsx: row 2, column title: holds a formula \(=1\+1\)"),
        (tmp_path / "missing.csv", r"missing.csv: no such file"),
        (write_csv(tmp_path / "items.txt", [HEADER]), r"items.txt: import a .csv or .xlsx file"),
    ]
    before = counts()
    for path, message in cases:
        with pytest.raises(CommandError, match=message):
            call_command("import_items", "FRESH", str(path), stdout=io.StringIO())
    assert counts() == before


def test_a_refused_import_exits_non_zero_and_names_the_problem(catalogue, tmp_path):
    path = write_csv(tmp_path / "bad.csv", [HEADER, ["SYS-1", "system_requirement", "x", "", "nope", "", "", ""]])
    with pytest.raises(CommandError) as error:
        call_command("import_items", "FRESH", str(path))
    assert error.value.returncode == 1  # what manage.py exits with
    assert str(error.value).startswith("bad.csv: row 2, column status: unknown status 'nope'")
    assert not Product.objects.exists()


def test_an_invalid_product_key_is_refused(catalogue, tmp_path):
    path = write_csv(tmp_path / "one.csv", [["key", "kind", "title"], ["SYS-1", "system_requirement", "A"]])
    with pytest.raises(CommandError, match="key: Upper-case letters"):
        call_command("import_items", "lower case", str(path), stdout=io.StringIO())
    assert not Product.objects.exists()


def test_export_of_an_unknown_product_or_to_a_bad_file_fails(product, tmp_path):
    with pytest.raises(CommandError, match="no product 'NOPE'"):
        call_command("export_items", "NOPE", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match=r"x.pdf: write a .csv or .xlsx file"):
        call_command("export_items", "DEMO", str(tmp_path / "x.pdf"))
    with pytest.raises(CommandError, match="cannot write"):
        call_command("export_items", "DEMO", str(tmp_path / "no" / "such" / "dir.csv"))
    assert not any(tmp_path.iterdir())


def test_the_import_needs_an_existing_actor(product, tmp_path):
    path = write_csv(tmp_path / "one.csv", [["key", "kind", "title"], ["SYS-1", "system_requirement", "A"]])
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("import_items", "DEMO", str(path), "--as", "ghost")
    assert not Item.objects.exists()
    assert User.objects.filter(username="ghost").count() == 0
