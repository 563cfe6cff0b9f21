"""XLSX bytes of ``ExportTable`` rows: a "Release" sheet of facts, then one sheet per table with a
frozen, filtered header row, column widths and status colours. Formula-like text is stored as
text with Excel's quote-prefix flag; the document properties and zip entries carry the baseline's
moment, so the same tables give the same bytes.
"""

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.xml.functions import tostring

from traceability.reports.exports import WorkbookInfo, is_formula_like
from traceability.reports.tables import ExportTable, Value

XLSX_CELL_LIMIT = 32767
TRUNCATED = " … [truncated: Excel holds at most 32,767 characters per cell; the CSV export has the full text]"
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

STATUS_COLOURS: dict[str, tuple[str, str]] = {  # status → (fill, font) hex
    "verified": ("E3F4E8", "1E7B3C"),
    "passed": ("E3F4E8", "1E7B3C"),
    "controlled": ("E3F4E8", "1E7B3C"),
    "acceptable": ("E3F4E8", "1E7B3C"),
    "evidenced": ("E3F4E8", "1E7B3C"),
    "not_applicable": ("EEF0F3", "718096"),
    "heading": ("E6EBF1", "1F2933"),
    "suspect": ("FFF4D6", "B7791F"),
    "warning": ("FFF4D6", "B7791F"),
    "not_verified": ("FDE8CF", "C05621"),
    "no_result": ("FDE8CF", "C05621"),
    "control_not_verified": ("FDE8CF", "C05621"),
    "failed": ("FBDADA", "C0392B"),
    "error": ("FBDADA", "C0392B"),
    "not_controlled": ("FBDADA", "C0392B"),
    "residual_unacceptable": ("FBDADA", "C0392B"),
    "no_evidence": ("FBDADA", "C0392B"),
    "missing": ("FBDADA", "C0392B"),  # a required value that is missing (SOUP version, evaluation)
    "item added": ("E3F4E8", "1E7B3C"),
    "link added": ("E3F4E8", "1E7B3C"),
    "evidence added": ("E3F4E8", "1E7B3C"),
    "item changed": ("FFF4D6", "B7791F"),
    "result changed": ("FFF4D6", "B7791F"),
    "item removed": ("FBDADA", "C0392B"),
    "link removed": ("FBDADA", "C0392B"),
    "evidence removed": ("FBDADA", "C0392B"),
}


def xlsx_text(value: str) -> str:
    value = _XML_ILLEGAL.sub("", value)
    if len(value) > XLSX_CELL_LIMIT:
        value = value[: XLSX_CELL_LIMIT - len(TRUNCATED)] + TRUNCATED
    return value


class _Styles:
    def __init__(self) -> None:
        self.header_font = Font(bold=True, color="FFFFFF")
        self.header_fill = PatternFill("solid", fgColor="1F3A5F")
        self.header_alignment = Alignment(vertical="top", wrap_text=True)
        self.label_font = Font(bold=True, color="52606D")
        self.status: dict[str, tuple[PatternFill, Font]] = {
            status: (PatternFill("solid", fgColor=fill), Font(bold=True, color=ink))
            for status, (fill, ink) in STATUS_COLOURS.items()
        }


def _cell(sheet: WriteOnlyWorksheet, value: Value) -> object:
    """A plain value, or a text cell flagged as text when it could be read as a formula."""
    if not isinstance(value, str):
        return value
    value = xlsx_text(value)
    if not is_formula_like(value):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _table_sheet(workbook: Workbook, table: ExportTable, styles: _Styles) -> None:
    sheet = workbook.create_sheet(table.title[:31])
    last = get_column_letter(len(table.columns))
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet, value=column.title)
        cell.font, cell.fill, cell.alignment = styles.header_font, styles.header_fill, styles.header_alignment
        header.append(cell)
    sheet.append(header)
    status_column = table.status_column
    code_column = status_column if table.code_column is None else table.code_column
    marks = table.marks
    for index, row in enumerate(table.rows):
        values = [_cell(sheet, value) for value in row]
        if status_column is not None and code_column is not None:
            code = row[code_column]
            style = styles.status.get(code) if isinstance(code, str) else None
            if style is not None:
                values[status_column] = _styled(sheet, values[status_column], style)
        if marks:
            for position in range(len(row)):
                mark = marks.get((index, position))
                if mark is not None:
                    values[position] = _styled(sheet, values[position], styles.status[mark])
        sheet.append(values)


def _styled(sheet: WriteOnlyWorksheet, value: object, style: tuple[PatternFill, Font]) -> Cell:
    """The value as a cell (kept when it is one already: a quote-prefixed text) in the style."""
    cell = value if isinstance(value, Cell) else WriteOnlyCell(sheet, value=value)
    cell.fill, cell.font = style
    return cell


def _repack(data: bytes, moment: datetime, core_xml: bytes) -> bytes:
    """The same zip with every entry dated ``moment`` and the given document properties."""
    stamp = moment.astimezone(UTC).timetuple()[:6]
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            payload = core_xml if entry.filename == "docProps/core.xml" else source.read(entry.filename)
            info = zipfile.ZipInfo(entry.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            target.writestr(info, payload)
    return output.getvalue()


def workbook_bytes(tables: Sequence[ExportTable], *, info: WorkbookInfo) -> bytes:
    """A workbook: a "Release" sheet with ``info.facts``, then one sheet per table with a frozen,
    filtered header row, column widths and status colours."""
    workbook = Workbook(write_only=True)
    moment = info.moment.astimezone(UTC).replace(tzinfo=None)
    properties = workbook.properties
    properties.creator = properties.lastModifiedBy = "Q-interface"
    properties.title, properties.subject = xlsx_text(info.title), xlsx_text(info.subject)
    properties.created = properties.modified = moment
    styles = _Styles()
    cover = workbook.create_sheet("Release")
    cover.column_dimensions["A"].width = 28
    cover.column_dimensions["B"].width = 90
    for label, value in info.facts:
        cell = WriteOnlyCell(cover, value=xlsx_text(label))
        cell.font = styles.label_font
        cover.append([cell, _cell(cover, value)])
    for table in tables:
        _table_sheet(workbook, table, styles)
    buffer = io.BytesIO()
    workbook.save(buffer)
    properties.modified = moment  # saving stamps the clock's time; the file carries the baseline's
    return _repack(buffer.getvalue(), moment, tostring(properties.to_tree()))
