"""CSV and XLSX bytes of ``ExportTable`` rows (rows in → bytes out), reproducible and safe to open.

Formula injection: a text cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return) could run as a formula in a spreadsheet. In CSV such a cell gets a leading apostrophe
(``'=1+1``); in XLSX it is written as a text cell with Excel's "quote prefix" flag, so it shows
exactly as typed and stays text even when edited. Numbers are never changed.

Reproducible: the same tables give the same bytes. CSV has no dates; XLSX's document properties
carry the given moment (the baseline's) instead of the clock, and every entry of the zip file is
dated with it too.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from traceability.reports.tables import ExportTable, Value

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)  # all one character: a set lookup on the first


def is_formula_like(value: Value) -> bool:
    return isinstance(value, str) and value[:1] in _FORMULA_FIRST


def csv_row(values: Sequence[Value]) -> list[str | int | float]:
    """A row's cells for the CSV writer: None as empty, formula-like text neutralised with a quote."""
    return [
        (f"'{value}" if value[:1] in _FORMULA_FIRST else value)
        if isinstance(value, str)
        else ("" if value is None else value)
        for value in values
    ]


def table_csv(table: ExportTable) -> bytes:
    """One table as CSV: UTF-8 with a byte-order mark (so spreadsheets read it as UTF-8), a header
    row, CRLF line ends, every cell neutralised against formula injection."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_row([column.title for column in table.columns]))
    writer.writerows(csv_row(row) for row in table.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class WorkbookInfo:
    """Document properties and the first sheet ("Release") of a workbook."""

    title: str
    subject: str
    moment: datetime  # the baseline's time: document properties and zip entries carry it
    facts: Sequence[tuple[str, str]] = field(default_factory=tuple)


def tables_xlsx(tables: Sequence[ExportTable], *, info: WorkbookInfo) -> bytes:
    """A workbook of the tables (see ``traceability.reports.xlsx``). openpyxl, and the numpy it
    pulls in, cost a third of a second to import: CSV exports and commands never pay it."""
    from traceability.reports.xlsx import workbook_bytes

    return workbook_bytes(tables, info=info)
