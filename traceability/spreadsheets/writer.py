"""Write items to a CSV or XLSX file in the spreadsheet format (``columns.py``).

Deterministic: the same items give the same bytes, for CSV (UTF-8 with a byte-order mark so
spreadsheet programs read it as UTF-8, ``\\r\\n`` row ends, every cell quoted where needed) and
for XLSX (fixed document dates and zip entry times). Each file is built in memory and written in
one go, so a failed export leaves no half-written file.
"""

import csv
import io
import json
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qms.errors import InvalidInput
from traceability.selectors import ItemRecord
from traceability.spreadsheets.columns import (
    ATTRIBUTE_COLUMNS,
    CLAUSES_COLUMN,
    LINK_COLUMNS,
    cell_neutralise,
    export_columns,
    key_list_join,
)

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_WIDTH = 60
# Characters an XLSX cell cannot hold as such; they are written as _xHHHH_ (ECMA-376 ST_Xstring),
# as is a carriage return (XML would turn "\r\n" into "\n") and an underscore that would start
# such an escape by accident.
_XLSX_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def attribute_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def records_table(records: Sequence[ItemRecord]) -> tuple[list[str], list[list[str]]]:
    """Header and cell texts (already neutralised against formula injection)."""
    columns = export_columns({record.kind for record in records})
    rows = []
    for record in records:
        values: dict[str, str] = {
            "key": record.key,
            "kind": record.kind,
            "title": record.title,
            "text": record.text,
            "status": record.status,
            CLAUSES_COLUMN: key_list_join(record.clauses),
        }
        for link_type in LINK_COLUMNS:
            values[link_type] = key_list_join(record.links.get(link_type, []))
        for name in ATTRIBUTE_COLUMNS:
            values[name] = attribute_cell(record.attributes.get(name))
        rows.append([cell_neutralise(values[column]) for column in columns])
    return columns, rows


def csv_bytes(columns: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_escape(value: str) -> str:
    return _XLSX_ESCAPE.sub(lambda match: f"_x{ord(match.group(0)):04X}_", value)


class _FixedTimeZip(zipfile.ZipFile):
    """A zip file whose entries all carry the same date, so equal content gives equal bytes."""

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)


def xlsx_bytes(columns: list[str], rows: list[list[str]], *, title: str, modified: datetime | None) -> bytes:
    """One worksheet: bold frozen header, autofilter, column widths from the content."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "items"
    sheet.append(columns)
    for row in rows:
        sheet.append([xlsx_escape(value) if value else None for value in row])
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(columns, start=1):
        longest = max(
            [len(column), *(max(map(len, row[index - 1].splitlines()), default=0) for row in rows)],
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(longest + 2, MAX_WIDTH)
        if column == "text":
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = wrap
    when = (modified or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    workbook.properties.creator = "Q-interface"
    workbook.properties.title = title
    workbook.properties.created = when
    workbook.properties.modified = when
    buffer = io.BytesIO()
    ExcelWriter(workbook, _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    return buffer.getvalue()


def sheet_write(path: Path, records: Sequence[ItemRecord], *, title: str = "items") -> int:
    """Write the records to ``path`` (``.csv`` or ``.xlsx``); returns the number of items written."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(f"{path.name}: write a .csv or .xlsx file", code="file_type", file=str(path))
    columns, rows = records_table(records)
    if suffix == ".csv":
        data = csv_bytes(columns, rows)
    else:
        modified = max((record.updated_at for record in records), default=None)
        data = xlsx_bytes(columns, rows, title=title, modified=modified)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}", code="file_unwritable") from exc
    return len(rows)
