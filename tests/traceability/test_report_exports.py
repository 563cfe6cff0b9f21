"""CSV and XLSX exports of the report's tables: content, formula injection, reproducible bytes."""

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from tests.traceability.reporting import content_of, frozen_release, record_results, report_items, report_product
from traceability.reports.exports import WorkbookInfo, table_csv, tables_xlsx
from traceability.reports.render import report_render, workbook_info
from traceability.reports.tables import TABLE_NAMES, Column, ExportTable, export_tables
from traceability.reports.xlsx import TRUNCATED, XLSX_CELL_LIMIT
from traceability.services.items import item_update
from traceability.services.releases import release_freeze

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tx", "plain", "a=b"]
MOMENT = datetime(2026, 3, 3, 12, 30, 15, tzinfo=UTC)


def hostile_table() -> ExportTable:
    table = ExportTable("t", "Tab", [Column("Text", 20), Column("Status", 10), Column("Number", 8)], status_column=1)
    for index, text in enumerate(HOSTILE):
        table.rows.append([text, "failed" if index % 2 else "verified", -index])
    table.rows.append(["bell\x07 and nul\x00", None, 1.5])
    return table


def test_csv_neutralises_formulas_and_keeps_everything_else():
    data = table_csv(hostile_table())
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert text.split("\r\n")[0] == "Text,Status,Number"
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[0] for row in rows[1:-1]] == [
        '\'=HYPERLINK("http://x","y")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "plain",
        "a=b",
    ]
    assert [row[2] for row in rows[1:]] == ["0", "-1", "-2", "-3", "-4", "-5", "-6", "1.5"]  # numbers untouched
    assert rows[-1][:2] == ["bell\x07 and nul\x00", ""]


def test_xlsx_layout_status_colours_and_formula_injection():
    data = tables_xlsx([hostile_table()], info=WorkbookInfo("Title", "Subject", MOMENT, [("Product", "=X")]))
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Release", "Tab"]
    cover = workbook["Release"]
    assert (cover["A1"].value, cover["B1"].value, cover["B1"].data_type) == ("Product", "=X", "s")
    sheet = workbook["Tab"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C9"
    assert sheet.column_dimensions["A"].width == 20 and sheet.column_dimensions["C"].width == 8
    assert [cell.value for cell in sheet[1]] == ["Text", "Status", "Number"]
    assert sheet["A1"].font.bold and sheet["A1"].fill.fgColor.rgb == "001F3A5F"
    assert [sheet.cell(row, 1).value for row in range(2, 9)] == HOSTILE  # shown exactly as typed …
    assert all(sheet.cell(row, 1).data_type == "s" for row in range(2, 9))  # … as text, never a formula
    assert [sheet.cell(row, 1).quotePrefix for row in range(2, 9)] == [True] * 5 + [False, False]
    assert (sheet["B2"].fill.fgColor.rgb, sheet["B3"].fill.fgColor.rgb) == ("00E3F4E8", "00FBDADA")
    assert sheet["C3"].value == -1 and sheet["C9"].value == 1.5
    assert sheet["A9"].value == "bell and nul"  # characters XML cannot hold are dropped
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet2.xml").decode()
        core = archive.read("docProps/core.xml").decode()
        stamps = {entry.date_time for entry in archive.infolist()}
    assert "<f>" not in sheet_xml
    assert "2026-03-03T12:30:15Z</dcterms:created>" in core and "2026-03-03T12:30:15Z</dcterms:modified>" in core
    assert stamps == {(2026, 3, 3, 12, 30, 14)}  # zip times have a two-second resolution


def test_xlsx_truncates_a_cell_beyond_excels_limit():
    table = ExportTable("t", "Tab", [Column("Text")], rows=[["x" * 40000]])
    sheet = load_workbook(io.BytesIO(tables_xlsx([table], info=WorkbookInfo("T", "S", MOMENT))))["Tab"]
    value = sheet["A2"].value
    assert len(value) == XLSX_CELL_LIMIT and value.endswith(TRUNCATED)


def test_xlsx_bytes_are_reproducible(monkeypatch):
    first = tables_xlsx([hostile_table()], info=WorkbookInfo("T", "S", MOMENT))
    import openpyxl.writer.excel as excel

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2031, 1, 1, tzinfo=tz)

    monkeypatch.setattr(excel.datetime, "datetime", Later)
    monkeypatch.setattr("time.localtime", lambda *args: datetime(2031, 1, 1).timetuple())
    assert tables_xlsx([hostile_table()], info=WorkbookInfo("T", "S", MOMENT)) == first


@pytest.fixture
def release(catalogue, qm):
    product = report_product(qm)
    items = report_items(product, qm)
    item_update(item=items["SRS-2"], actor=qm, title="=cmd|' /C calc'!A0")
    return frozen_release(product, qm)


def test_the_report_tables_of_a_release(release):
    content = content_of(release)
    tables = {table.name: table for table in export_tables(content)}
    assert tuple(tables) == TABLE_NAMES
    matrix = tables["matrix"]
    assert [column.title for column in matrix.columns][:7] == [
        "Key",
        "Kind",
        "Title",
        "Text",
        "Item status",
        "Revision",
        "Status",
    ]
    assert [row[0] for row in matrix.rows] == ["SRS-1", "SRS-2", "SYS-1"]
    assert matrix.rows[0][2:7] == ["Round down", "The dose shall be rounded down.", "approved", 1, "verified"]
    assert matrix.rows[0][9:17] == ["UN-1", "SYS-1", "SYS-1", "RISK-1", "RC-1", "SWI-1", "TC-1", "TC-1: passed"]
    # a system requirement is verified through the requirements derived from it (SRS-2 changed: suspect)
    assert matrix.rows[2][6:8] == ["suspect", "derived requirement suspect: SRS-2"]
    assert [row[0] for row in tables["reverse"].rows] == ["TC-1", "TC-2"]
    assert tables["risks"].rows[0][:3] == ["RISK-1", "Overdose risk", "Overdose"]
    assert tables["risks"].rows[0][7:13] == [4, 3, "no", 4, 1, "yes"]
    assert tables["soup"].rows[0][:4] == ["SOUP-1", "libdecimal", "2.1", "Decimal Org"]
    assert tables["anomalies"].rows[0][:7] == ["ANOM-1", "Slow redraw", "", "open", "yes", "0.9", "No effect on safety"]
    clause = next(row for row in tables["clauses"].rows if row[1] == "5.2.1")
    assert clause[3:6] == ["no", "evidenced", "SRS-1"]
    assert ("clause_without_evidence", "warning") in {(row[0], row[1]) for row in tables["gaps"].rows}
    assert not [row for row in tables["gaps"].rows if row[1] == "error"]
    csv_text = table_csv(matrix).decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in csv_text


def test_the_workbook_of_a_release(release):
    content = content_of(release)
    data = report_render(content, "xlsx").data
    assert data == report_render(content_of(release), "xlsx").data
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == [
        "Release",
        "Traceability matrix",
        "Reverse matrix",
        "Risk trace",
        "Gaps",
        "Signed deviations",
        "SOUP list",
        "Anomalies",
        "Clause checklist",
        "Changes",
    ]
    facts = {row[0].value: row[1].value for row in workbook["Release"].iter_rows()}
    assert facts["Baseline SHA-256"] == content.baseline_sha256
    assert facts["Approval"] == "NOT APPROVED" and facts["Document ID"] == content.document_id
    assert workbook.properties.created == workbook_info(content).moment.replace(tzinfo=None).replace(microsecond=0)
    matrix = workbook["Traceability matrix"]
    assert matrix["C3"].value == "=cmd|' /C calc'!A0" and matrix["C3"].data_type == "s" and matrix["C3"].quotePrefix


def test_export_statuses_read_as_labels_keep_their_codes_and_are_coloured(release):
    tables = {table.name: table for table in export_tables(content_of(release))}
    matrix = tables["matrix"]
    titles = [column.title for column in matrix.columns]
    assert titles[-1] == "Status code" and matrix.code_column == len(titles) - 1
    statuses = {row[0]: (row[6], row[-1]) for row in matrix.rows}
    assert statuses["SRS-1"] == ("verified", "verified") and statuses["SYS-1"] == ("suspect", "suspect")
    reverse = {row[0]: (row[5], row[-1]) for row in tables["reverse"].rows}
    assert reverse["TC-1"] == ("passed", "passed")
    clause = next(row for row in tables["clauses"].rows if row[4] == "no evidence")
    assert clause[-1] == "no_evidence"
    sheet = load_workbook(io.BytesIO(report_render(content_of(release), "xlsx").data))["Clause checklist"]
    row = next(row for row in sheet.iter_rows(min_row=2) if row[4].value == "no evidence")
    assert (row[4].fill.fgColor.rgb, row[-1].value) == ("00FBDADA", "no_evidence")


def test_soup_without_version_and_anomaly_without_evaluation_are_highlighted(catalogue, qm):
    product = report_product(qm)
    items = report_items(product, qm)
    item_update(item=items["SOUP-1"], actor=qm, attributes={"supplier": "Decimal Org"})
    item_update(item=items["ANOM-1"], actor=qm, attributes={"state": "open", "found_in": "0.9"})
    content = content_of(frozen_release(product, qm))
    tables = {table.name: table for table in export_tables(content)}
    assert tables["soup"].rows[0][2] == "" and tables["soup"].marks[(0, 2)] == "missing"
    assert tables["anomalies"].rows[0][6] == "" and tables["anomalies"].marks[(0, 6)] == "missing"
    workbook = load_workbook(io.BytesIO(report_render(content, "xlsx").data))
    soup, anomalies = workbook["SOUP list"], workbook["Anomalies"]
    assert soup["C2"].fill.fgColor.rgb == "00FBDADA" and "soup_without_version" in soup["L2"].value
    assert soup["L2"].fill.fgColor.rgb == "00FBDADA"  # the gap is an error
    assert anomalies["G2"].fill.fgColor.rgb == "00FBDADA" and "anomaly_not_evaluated" in anomalies["M2"].value
    assert soup["D2"].fill.fgColor.rgb != "00FBDADA"  # only the missing value and the gaps are marked


def test_the_changes_table_lists_the_baseline_diff(catalogue, qm):
    product = report_product(qm)
    items = report_items(product, qm)
    first = frozen_release(product, qm, "1.0.0")
    assert export_tables(content_of(first), ("changes",))[0].rows == []  # a first release
    item_update(item=items["SRS-2"], actor=qm, text="Show the dose in units.")
    record_results(product, "1.1.0", {"TC-1": "passed", "TC-2": "failed"})
    second = release_freeze(product=product, version="1.1.0", actor=qm)
    (table,) = export_tables(content_of(second), ("changes",))
    assert [column.title for column in table.columns] == [
        "Change",
        "Key",
        "Kind",
        "Title",
        "Target",
        "Fields",
        "Before",
        "After",
    ]
    assert ["item changed", "SRS-2", "software_requirement", "Show the dose", "", "text"] in [
        row[:6] for row in table.rows
    ]
    assert ["result changed", "TC-2", "test result", "", "", "", "passed", "failed"] in table.rows
    sheet = load_workbook(io.BytesIO(report_render(content_of(second), "xlsx").data))["Changes"]
    row = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == "TC-2")
    assert row[0].fill.fgColor.rgb == "00FFF4D6"
    assert "result changed,TC-2,test result,,,,passed,failed" in table_csv(table).decode("utf-8-sig")
