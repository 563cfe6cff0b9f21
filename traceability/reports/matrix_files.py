"""Files of the traceability matrix for ``trace_matrix``: CSV, XLSX, JSON and a standalone HTML page.

CSV and XLSX go through the report's table writers (``traceability.reports.exports``), so they
share its formula-injection rule and its reproducible bytes: the same matrix gives the same file
(an XLSX carries the baseline's moment, or a fixed one for live data).
"""

import json
from datetime import UTC, datetime

from django.template.loader import render_to_string

from qms.errors import InvalidInput
from traceability.graph.matrix import MatrixRow
from traceability.graph.summary import Matrix
from traceability.reports.exports import WorkbookInfo, table_csv, tables_xlsx
from traceability.reports.tables import Column, ExportTable, Value
from traceability.reports.tables.model import gaps_text

FORMATS = ("csv", "xlsx", "json", "html")
FIXED_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)  # the document date of live (unfrozen) exports

MATRIX_COLUMNS = (
    Column("key", 12),
    Column("title", 48),
    Column("status", 15),
    Column("justification", 30),
    Column("user_needs", 14),
    Column("system_requirements", 16),
    Column("risks", 12),
    Column("risk_controls", 14),
    Column("software_items", 14),
    Column("tests", 16),
    Column("test_results", 28),
    Column("commits", 16),
    Column("clauses", 26),
    Column("suspect_links", 30),
    Column("gaps", 28),
)
STATUS_COLUMN = 2


def _joined(values: list[str]) -> str:
    return "; ".join(values) if values else ""


def _cells(row: MatrixRow, matrix: Matrix) -> list[Value]:
    tests = row.tests
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
        _joined([test.key for test in tests]),
        _joined([f"{test.key}: {test.result or 'no result'}" for test in tests]),
        _joined(row.commits),
        _joined(row.clauses),
        _joined(row.suspect_links),
        gaps_text(row.gaps, matrix.gaps.marks_of(row.key)) if matrix.gaps else _joined(row.gaps),
    ]


def matrix_table(matrix: Matrix) -> ExportTable:
    """The matrix as one table of text cells (lists joined with "; ")."""
    return ExportTable(
        "matrix",
        "Matrix",
        list(MATRIX_COLUMNS),
        [_cells(row, matrix) for row in matrix.rows],
        status_column=STATUS_COLUMN,
    )


def _moment(matrix: Matrix) -> datetime:
    taken_at = matrix.release.taken_at if matrix.release and matrix.frozen else None
    if taken_at:
        return datetime.fromisoformat(taken_at.replace("Z", "+00:00"))
    return FIXED_MOMENT


def _facts(matrix: Matrix) -> list[tuple[str, str]]:
    header = matrix.header()
    facts = [
        ("product", matrix.product.key),
        ("product name", matrix.product.name),
        ("release", header["release"] or "(none: live data)"),
        ("state", header["state"] or ""),
        ("frozen", "yes" if matrix.frozen else "no: computed from the live graph"),
        ("baseline sha256", header["baseline_sha256"] or ""),
        ("baseline taken at (UTC)", header["taken_at"] or ""),
        ("root kind", matrix.root_kind),
    ]
    facts += [(name, "" if value is None else str(value)) for name, value in matrix.coverage.as_dict().items()]
    return facts


def matrix_csv(matrix: Matrix) -> bytes:
    return table_csv(matrix_table(matrix))


def matrix_xlsx(matrix: Matrix) -> bytes:
    release = matrix.header()["release"] or "live"
    info = WorkbookInfo(
        title=f"{matrix.product.key} {release} traceability matrix",
        subject=f"Traceability matrix of {matrix.product.name}",
        moment=_moment(matrix),
        facts=_facts(matrix),
    )
    return tables_xlsx([matrix_table(matrix)], info=info)


def matrix_json(matrix: Matrix) -> bytes:
    return (json.dumps(matrix.as_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def matrix_html(matrix: Matrix) -> bytes:
    table = matrix_table(matrix)
    return render_to_string(
        "traceability/exports/matrix.html",
        {
            "matrix": matrix,
            "info": matrix.header(),
            "header": [column.title for column in table.columns],
            "rows": table.rows,
            "coverage": matrix.coverage,
        },
    ).encode()


def matrix_export(matrix: Matrix, fmt: str) -> bytes:
    """The matrix as a file in one of ``FORMATS``."""
    writers = {"csv": matrix_csv, "xlsx": matrix_xlsx, "json": matrix_json, "html": matrix_html}
    if fmt not in writers:
        raise InvalidInput(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})", field="format")
    return writers[fmt](matrix)
