"""Read a CSV or XLSX file in the spreadsheet format (``columns.py``) into import rows.

Row numbers are the spreadsheet's own: the header is row 1, the first item row 2. Errors name
the row and the column and are raised before anything is written; ``items_import`` then checks
what only the database knows (kinds of existing items, link rules, cycles, clauses).

A column the file does not have is left alone on import (the item keeps what it has); a column
it has sets the value, an empty cell included (no links of that type, no text, no attribute).

Untrusted files are read within bounds: a file over ``IMPORT_MAX_BYTES`` (env ``IMPORT_MAX_MB``)
is refused before it is read, an XLSX workbook as ``workbook.py`` says (zip bombs, false
dimensions), and a cell holding a NUL character or a lone surrogate (a CSV's NUL byte, an XLSX
``_x0000_``) is refused naming its row and column.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from django.conf import settings

from qms.errors import InvalidInput
from qms.inputs import text_problem
from traceability.services.imports import ItemRow, RowError
from traceability.spreadsheets.columns import (
    ALL_COLUMNS,
    ATTRIBUTE_COLUMNS,
    CLAUSES_COLUMN,
    LINK_COLUMNS,
    cell_restore,
    header_normalise,
    key_list_split,
)
from traceability.spreadsheets.workbook import MAX_COLUMNS, MAX_ROWS, first_sheet_open

_XLSX_UNESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
Records = Iterable[tuple[int, list[str]]]


@dataclass
class Sheet:
    rows: list[ItemRow]
    columns: list[str]

    @property
    def attribute_columns(self) -> frozenset[str]:
        return frozenset(column for column in self.columns if column in ATTRIBUTE_COLUMNS)


def sheet_read(path: Path) -> Sheet:
    """Parse ``path`` (``.csv`` or ``.xlsx``); raises ``InvalidInput`` / ``RowError`` naming the problem."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput(f"{path.name}: import a .csv or .xlsx file", code="file_type", file=str(path))
    try:
        size = path.stat().st_size
        if size > settings.IMPORT_MAX_BYTES:
            raise InvalidInput(
                f"{path.name}: {size} bytes is over the import limit of {settings.IMPORT_MAX_BYTES} bytes "
                "(IMPORT_MAX_MB); nothing was read",
                code="too_large",
                file=str(path),
            )
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidInput(f"{path}: no such file", code="file_missing", file=str(path)) from exc
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror or exc})", code="file_invalid") from exc
    if not data.strip():
        raise InvalidInput(f"{path.name}: the file is empty (no header row)", code="file_empty", file=str(path))
    records = csv_records(data, path.name) if suffix == ".csv" else xlsx_records(data, path.name)
    return sheet_from_records(records, source=path.name)


# --- CSV ----------------------------------------------------------------------------------------


def _delimiter(text: str) -> str:
    """Comma, or the semicolon / tab some spreadsheet programs write, judged by the header line."""
    header = text.split("\n", 1)[0]
    for candidate in (",", ";", "\t"):
        if candidate in header:
            return candidate
    return ","


def csv_records(data: bytes, source: str) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8-sig", errors="replace")
        parsed = list(csv.reader(io.StringIO(before, newline=""), delimiter=_delimiter(before)))
        row = len(parsed) + (1 if not parsed or before.endswith(("\n", "\r")) else 0)
        cells = parsed[-1] if parsed and not before.endswith(("\n", "\r")) else []
        header = parsed[0] if parsed else []
        position = len(cells) - 1 if cells else 0
        column = header_normalise(header[position]) if row > 1 and position < len(header) else f"#{position + 1}"
        raise RowError(
            row,
            column,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as 'CSV UTF-8'",
            source=source,
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            records.append((number, cells))
    except csv.Error as exc:
        raise RowError(len(records) + 1, "-", f"not valid CSV ({exc})", source=source) from exc
    return records


# --- XLSX ---------------------------------------------------------------------------------------


def _xlsx_cell(cell: Any, row: int, column: str, source: str) -> str:
    value = cell.value
    if value is None:
        return ""
    data_type = getattr(cell, "data_type", "s")
    if data_type == "f":
        raise RowError(row, column, f"holds a formula ({value}); enter the value itself", source=source)
    if data_type == "e":
        raise RowError(row, column, f"holds an error value ({value})", source=source)
    if isinstance(value, bool):
        raise RowError(row, column, f"holds a true/false value ({value}); enter text", source=source)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, str):
        return _XLSX_UNESCAPE.sub(lambda match: chr(int(match.group(1), 16)), value)
    return str(value)


def _xlsx_rows(sheet: Any, source: str) -> list[Any]:
    """The sheet's rows as it holds them, refused at the first row past MAX_ROWS or MAX_COLUMNS."""
    from openpyxl.utils import get_column_letter

    rows = []
    try:
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            if number > MAX_ROWS:
                raise RowError(number, "-", f"an import sheet has at most {MAX_ROWS} rows", source=source)
            if len(cells) > MAX_COLUMNS:
                raise RowError(
                    number,
                    get_column_letter(len(cells)),
                    f"the row has cells up to column {get_column_letter(len(cells))}; an import sheet has at most "
                    f"{MAX_COLUMNS} columns (delete the cells right of the table)",
                    source=source,
                )
            rows.append(cells)
    except InvalidInput:
        raise
    except Exception as exc:  # a damaged workbook fails in many ways inside openpyxl
        raise InvalidInput(
            f"{source}: not a readable XLSX workbook ({exc.__class__.__name__}: {exc})", code="file_invalid"
        ) from exc
    return rows


def xlsx_records(data: bytes, source: str) -> Iterator[tuple[int, list[str]]]:
    rows = _xlsx_rows(first_sheet_open(data, source), source)
    header: list[str] = []
    for number, cells in enumerate(rows, start=1):
        if number == 1:
            header = [str(cell.value).strip() if cell.value is not None else "" for cell in cells]
        yield (
            number,
            [
                _xlsx_cell(cell, number, header_normalise(header[i]) if i < len(header) else f"#{i + 1}", source)
                for i, cell in enumerate(cells)
            ],
        )


# --- rows ---------------------------------------------------------------------------------------


def _header(cells: list[str], source: str) -> list[str | None]:
    columns: list[str | None] = []
    seen: set[str] = set()
    for raw in cells:
        name = header_normalise(raw)
        if not name:
            columns.append(None)
            continue
        if name not in ALL_COLUMNS:
            raise RowError(1, raw.strip(), f"unknown column (columns: {', '.join(ALL_COLUMNS)})", source=source)
        if name in seen:
            raise RowError(1, name, "the column appears twice", source=source)
        seen.add(name)
        columns.append(name)
    if "key" not in seen:
        raise RowError(1, "key", "the header row needs a 'key' column", source=source)
    return columns


def sheet_from_records(records: Records, *, source: str) -> Sheet:
    iterator = iter(records)
    first = next(iterator, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        raise InvalidInput(f"{source}: the file is empty (no header row)", code="file_empty")
    for position, cell in enumerate(first[1]):
        _storable(cell, first[0], f"#{position + 1}", source)
    columns = _header(first[1], source)
    present = [column for column in columns if column is not None]
    rows: list[ItemRow] = []
    for number, cells in iterator:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines between items
        values: dict[str, str] = {}
        for position, cell in enumerate(cells):
            column = columns[position] if position < len(columns) else None
            _storable(cell, number, column or f"#{position + 1}", source)
            if column is None:
                if cell.strip():
                    raise RowError(number, f"#{position + 1}", "a value in a column without a header", source=source)
                continue
            values[column] = cell_restore(cell)
        rows.append(_item_row(number, values, present))
    if not rows:
        raise InvalidInput(f"{source}: the file has a header row but no items", code="file_empty")
    return Sheet(rows=rows, columns=present)


def _storable(cell: str, row: int, column: str, source: str) -> None:
    problem = text_problem(cell) if cell else None
    if problem is not None:
        raise RowError(row, column, problem, source=source)


def _item_row(number: int, values: dict[str, str], present: list[str]) -> ItemRow:
    def text(column: str) -> str | None:
        return values.get(column, "") if column in present else None

    def word(column: str) -> str | None:
        value = (values.get(column) or "").strip()
        return value or None

    attribute_columns = [column for column in present if column in ATTRIBUTE_COLUMNS]
    return ItemRow(
        row=number,
        key=(values.get("key") or "").strip(),
        kind=word("kind"),
        title=text("title"),
        text=text("text"),
        status=word("status"),
        attributes=(
            {name: values[name] for name in attribute_columns if values.get(name, "").strip()}
            if attribute_columns
            else None
        ),
        links={
            link_type: key_list_split(values.get(link_type, "")) for link_type in LINK_COLUMNS if link_type in present
        },
        clauses=key_list_split(values.get(CLAUSES_COLUMN, "")) if CLAUSES_COLUMN in present else None,
    )
