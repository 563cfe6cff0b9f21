"""Files of the traceability matrix: CSV, XLSX, JSON and a standalone HTML page.

Deterministic: the same matrix gives the same bytes (no generation time; an XLSX carries the
baseline's moment, or a fixed one for live data, and fixed zip timestamps). CSV and XLSX cells
that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) are neutralised with a leading apostrophe.

The table writers (``table_csv``, ``table_xlsx``) are generic, for any report table.
"""

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.template.loader import render_to_string

from qms.errors import InvalidInput
from traceability.graph.matrix import MatrixRow
from traceability.graph.summary import Matrix

FORMATS = ("csv", "xlsx", "json", "html")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FIXED_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)  # the document date of live (unfrozen) exports
ZIP_MOMENT = (1980, 1, 1, 0, 0, 0)

STATUS_FILLS = {  # row status → background colour (the page's colours)
    "verified": "D8F0DC",
    "not_verified": "FCEFC7",
    "failed": "F9D9D6",
    "suspect": "F9D9D6",
    "not_applicable": "E7E9EE",
}

MATRIX_HEADER = (
    "key",
    "title",
    "status",
    "justification",
    "user_needs",
    "system_requirements",
    "risks",
    "risk_controls",
    "software_items",
    "tests",
    "test_results",
    "commits",
    "clauses",
    "suspect_links",
    "gaps",
)
MATRIX_WIDTHS = (12, 48, 15, 30, 14, 16, 12, 14, 14, 16, 28, 16, 26, 30, 28)


def neutralise(value: Any) -> str:
    """The cell's text, with a leading apostrophe when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _joined(values: Iterable[str]) -> str:
    return "; ".join(values)


def matrix_table(matrix: Matrix) -> tuple[tuple[str, ...], list[list[str]]]:
    """The matrix as a header and rows of text cells (lists joined with "; ")."""

    def cells(row: MatrixRow) -> list[str]:
        return [
            row.key,
            row.title,
            row.status,
            row.justification,
            _joined(row.user_needs),
            _joined(row.system_requirements),
            _joined(row.risks),
            _joined(row.risk_controls),
            _joined(row.software_items),
            _joined(test.key for test in row.tests),
            _joined(f"{test.key}: {test.result or 'no result'}" for test in row.tests),
            _joined(row.commits),
            _joined(row.clauses),
            _joined(row.suspect_links),
            _joined(row.gaps),
        ]

    return MATRIX_HEADER, [cells(row) for row in matrix.rows]


def table_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    writer.writerows([neutralise(value) for value in row] for row in rows)
    return buffer.getvalue().encode()


@dataclass
class Sheet:
    title: str
    header: Sequence[str]
    rows: list[Sequence[Any]]
    widths: Sequence[int] = ()
    status_column: int | None = None  # index of the column whose value picks the row's fill
    fills: dict[str, str] = field(default_factory=dict)


def _deterministic_zip(data: bytes, moment: datetime) -> bytes:
    """Rewrite an XLSX so its bytes depend only on its content: fixed zip times and document dates."""
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_MOMENT)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return out.getvalue()


def table_xlsx(sheets: Sequence[Sheet], *, moment: datetime = FIXED_MOMENT) -> bytes:
    """A workbook with one sheet per table: bold frozen header row, autofilter, column widths,
    a fill per row status."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.creator = "Q-interface"
    workbook.properties.created = moment.astimezone(UTC).replace(tzinfo=None)
    bold = Font(bold=True)
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet.title[:31])
        worksheet.append([neutralise(name) for name in sheet.header])
        for cell in worksheet[1]:
            cell.font = bold
        fills = {status: PatternFill("solid", fgColor=colour) for status, colour in sheet.fills.items()}
        for values in sheet.rows:
            worksheet.append([neutralise(value) for value in values])
            if sheet.status_column is not None:
                fill = fills.get(str(values[sheet.status_column]))
                if fill is not None:
                    worksheet.cell(row=worksheet.max_row, column=sheet.status_column + 1).fill = fill
        worksheet.freeze_panes = "A2"
        columns = len(sheet.header)
        if columns:
            worksheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(worksheet.max_row, 1)}"
        for index, width in enumerate(sheet.widths, start=1):
            worksheet.column_dimensions[get_column_letter(index)].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _deterministic_zip(buffer.getvalue(), moment)


def _moment(matrix: Matrix) -> datetime:
    taken_at = matrix.release.taken_at if matrix.release and matrix.frozen else None
    if taken_at:
        return datetime.fromisoformat(taken_at.replace("Z", "+00:00"))
    return FIXED_MOMENT


def _about(matrix: Matrix) -> list[Sequence[Any]]:
    header = matrix.header()
    about: list[Sequence[Any]] = [
        ["product", matrix.product.key],
        ["product name", matrix.product.name],
        ["release", header["release"] or "(none: live data)"],
        ["state", header["state"] or ""],
        ["frozen", "yes" if matrix.frozen else "no: computed from the live graph"],
        ["baseline sha256", header["baseline_sha256"] or ""],
        ["baseline taken at (UTC)", header["taken_at"] or ""],
        ["root kind", matrix.root_kind],
    ]
    about += [[name, "" if value is None else value] for name, value in matrix.coverage.as_dict().items()]
    return about


def matrix_csv(matrix: Matrix) -> bytes:
    header, rows = matrix_table(matrix)
    return table_csv(header, rows)


def matrix_xlsx(matrix: Matrix) -> bytes:
    header, rows = matrix_table(matrix)
    return table_xlsx(
        [
            Sheet("Matrix", header, list(rows), MATRIX_WIDTHS, status_column=2, fills=STATUS_FILLS),
            Sheet("About", ("field", "value"), _about(matrix), (28, 70)),
        ],
        moment=_moment(matrix),
    )


def matrix_json(matrix: Matrix) -> bytes:
    return (json.dumps(matrix.as_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def matrix_html(matrix: Matrix) -> bytes:
    header, rows = matrix_table(matrix)
    return render_to_string(
        "traceability/exports/matrix.html",
        {"matrix": matrix, "info": matrix.header(), "header": header, "rows": rows, "coverage": matrix.coverage},
    ).encode()


def matrix_export(matrix: Matrix, fmt: str) -> bytes:
    """The matrix as a file in one of ``FORMATS``."""
    writers = {"csv": matrix_csv, "xlsx": matrix_xlsx, "json": matrix_json, "html": matrix_html}
    if fmt not in writers:
        raise InvalidInput(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})", field="format")
    return writers[fmt](matrix)
