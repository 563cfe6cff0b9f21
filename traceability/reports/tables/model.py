"""The table model of the exports: columns, rows, the status column and its colours, highlighted
cells; readable status labels beside the machine slugs."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from traceability.graph.findings import GapMark

Value = str | int | float | None


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int = 14  # characters, a hint for spreadsheets


@dataclass
class ExportTable:
    name: str  # slug: file and sheet name
    title: str
    columns: list[Column]
    rows: list[list[Value]] = field(default_factory=list)
    status_column: int | None = None  # index of the column that shows the row's status (coloured)
    code_column: int | None = None  # index of the column whose slug picks the colour (else status_column)
    marks: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) → colour slug


STATUS_LABELS = {"residual_unacceptable": "residual risk unacceptable"}


def status_label(slug: str) -> str:
    """A status slug as people read it: ``not_verified`` → "not verified" (the PDF's status styles
    take their labels from here too)."""
    return STATUS_LABELS.get(slug, slug.replace("_", " "))


def with_codes(table: ExportTable) -> ExportTable:
    """Show the status column as labels and add the slugs as a last "Status code" column."""
    column = table.status_column
    assert column is not None
    table.columns.append(Column("Status code", 18))
    table.code_column = len(table.columns) - 1
    for row in table.rows:
        code = row[column]
        row[column] = status_label(code) if isinstance(code, str) else code
        row.append(code)
    return table


def mark_gaps(table: ExportTable, row: int, gaps: list[str], marks: Mapping[str, GapMark]) -> None:
    """Colour the "Gaps" cell (the last column before a status code) red for an error, amber for warnings."""
    if gaps:
        column = next(index for index, col in enumerate(table.columns) if col.title == "Gaps")
        error = any(mark.severity == "error" for slug, mark in marks.items() if slug in gaps)
        table.marks[(row, column)] = "error" if error else "warning"


def gaps_text(gaps: list[str], marks: Mapping[str, GapMark]) -> str:
    """The "Gaps" cell: rule slugs, each a signed deviation lowered with its severity beside it
    (``test_failed: warning (deviation DEV-3)``)."""
    return join([f"{slug}: {marks[slug].label}" if slug in marks and marks[slug].deviation else slug for slug in gaps])


def join(values: list[str]) -> str:
    return "; ".join(values)
