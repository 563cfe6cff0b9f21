"""The report's tables as plain rows, for the CSV and XLSX exports: matrix, reverse matrix,
risk trace, gaps, signed deviations, SOUP, anomalies, the clause checklist and the changes since the previous release.

Each table is an ``ExportTable`` (columns with a width hint, rows of text or numbers, the column
whose value colours the row, cells to highlight); ``traceability.reports.exports`` turns tables
into bytes. Status columns show readable labels ("not verified"); a "Status code" column keeps
the machine slug (``not_verified``) for tools that parse the CSV.
"""

from collections.abc import Callable

from traceability.reports.content import ReportContent
from traceability.reports.tables.changes import changes_table
from traceability.reports.tables.lists import anomaly_table, clause_table, deviation_table, gap_table, soup_table
from traceability.reports.tables.model import Column, ExportTable, Value
from traceability.reports.tables.trace import matrix_table, reverse_table, risk_table

__all__ = ["TABLES", "TABLE_NAMES", "Column", "ExportTable", "Value", "export_tables"]

TABLES: dict[str, Callable[[ReportContent], ExportTable]] = {
    "matrix": matrix_table,
    "reverse": reverse_table,
    "risks": risk_table,
    "gaps": gap_table,
    "deviations": deviation_table,
    "soup": soup_table,
    "anomalies": anomaly_table,
    "clauses": clause_table,
    "changes": changes_table,
}
TABLE_NAMES = tuple(TABLES)


def export_tables(content: ReportContent, names: tuple[str, ...] = TABLE_NAMES) -> list[ExportTable]:
    return [TABLES[name](content) for name in names]
