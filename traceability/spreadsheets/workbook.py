"""Opening an untrusted XLSX workbook within bounded time and memory.

An XLSX file is a zip archive of XML parts. Before openpyxl reads anything:

- the archive's entries are counted (at most ``MAX_ENTRIES``; a workbook has a dozen) and must be
  stored or deflated (what Excel and LibreOffice write);
- the sizes the entries declare once inflated are added up: over ``IMPORT_MAX_BYTES`` (env
  ``IMPORT_MAX_MB``) the file is refused, so a 2 MB zip bomb that inflates to 524 MB is never
  inflated;
- every deflated entry is inflated once, in 1 MB steps, and must end exactly at the size it
  declares: an entry that lies about its size (declares 2 KB, inflates to 524 MB) is refused at
  the first step past its claim. Python's zip reader would cut it at the claim too, but only after
  inflating all of it in one piece when openpyxl reads a whole part.

Then the first sheet's ``<dimension>`` is checked (a sheet claiming 16,384 columns × 1,048,576 rows
is refused: openpyxl would pad every row to the claimed width) and dropped: rows are read as the
sheet holds them, so a dimension claiming *fewer* cells than the sheet has does not silently cut
rows off either. Cells right of ``MAX_COLUMNS`` are refused by the reader row by row.
"""

import io
import struct
import zipfile
import zlib
from typing import Any

from django.conf import settings

from qms.errors import InvalidInput

MAX_ENTRIES = 1_000
MAX_COLUMNS = 256  # the import format has a few dozen columns; Excel 2003 had 256
MAX_ROWS = 1_048_576  # Excel's own limit
COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, …, file name length, extra field length
STEP_IN, STEP_OUT = 64 * 1024, 1024 * 1024


def _refused(source: str, problem: str, code: str = "file_invalid") -> InvalidInput:
    return InvalidInput(f"{source}: {problem}", code=code, file=source)


def archive_check(data: bytes, source: str) -> None:
    """Refuse an archive that is not a zip, has too many entries, an unusual compression, or would
    inflate past ``IMPORT_MAX_BYTES`` (by the sizes its entries declare)."""
    limit = settings.IMPORT_MAX_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise _refused(source, f"not a readable XLSX workbook (not a zip archive: {exc})") from exc
    if len(entries) > MAX_ENTRIES:
        raise _refused(source, f"the archive has {len(entries)} entries; an XLSX workbook has at most {MAX_ENTRIES}")
    unusual = next((entry for entry in entries if entry.compress_type not in COMPRESSIONS), None)
    if unusual is not None:
        method = unusual.compress_type
        raise _refused(source, f"entry {unusual.filename!r} uses zip compression method {method}; save as XLSX again")
    inflated = sum(entry.file_size for entry in entries)
    if inflated > limit:
        raise _refused(
            source,
            f"the workbook inflates to {inflated} bytes, over the import limit of {limit} bytes (IMPORT_MAX_MB); "
            "nothing was read",
            code="too_large",
        )
    for entry in entries:
        _entry_size_check(data, entry, source)


def _entry_size_check(data: bytes, entry: zipfile.ZipInfo, source: str) -> None:
    """The entry inflates to exactly the size it declares, checked in bounded steps."""
    if entry.flag_bits & 0x1:
        raise _refused(source, f"entry {entry.filename!r} is encrypted")
    if entry.compress_type == zipfile.ZIP_STORED:
        if entry.compress_size != entry.file_size:
            raise _refused(source, f"entry {entry.filename!r} is damaged (stored sizes differ)")
        return
    header = data[entry.header_offset : entry.header_offset + LOCAL_HEADER.size]
    if len(header) < LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _refused(source, f"entry {entry.filename!r} is damaged (no local header)")
    _, name_length, extra_length = LOCAL_HEADER.unpack(header)
    start = entry.header_offset + LOCAL_HEADER.size + name_length + extra_length
    compressed = memoryview(data)[start : start + entry.compress_size]
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    try:
        for offset in range(0, len(compressed), STEP_IN):
            pending: bytes | memoryview = compressed[offset : offset + STEP_IN]
            while pending and not inflater.eof:
                produced += len(inflater.decompress(pending, STEP_OUT))
                if produced > entry.file_size:
                    raise _refused(
                        source,
                        f"entry {entry.filename!r} inflates past the {entry.file_size} bytes it declares "
                        "(a zip bomb?); nothing was read",
                        code="too_large",
                    )
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error as exc:
        raise _refused(source, f"entry {entry.filename!r} is damaged ({exc})") from exc
    if not inflater.eof or produced != entry.file_size:
        raise _refused(
            source, f"entry {entry.filename!r} is damaged (it inflates to {produced} bytes, not {entry.file_size})"
        )


def first_sheet_open(data: bytes, source: str) -> Any:
    """The workbook's first sheet (openpyxl, read-only), its size claim checked and dropped."""
    from openpyxl import load_workbook

    archive_check(data, source)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = workbook.worksheets[0]
    except Exception as exc:  # a damaged workbook fails in many ways inside openpyxl
        raise _refused(source, f"not a readable XLSX workbook ({exc.__class__.__name__}: {exc})") from exc
    columns, rows = sheet.max_column or 0, sheet.max_row or 0
    if columns > MAX_COLUMNS or rows > MAX_ROWS:
        raise _refused(
            source,
            f"the sheet declares {columns} columns × {rows} rows (<dimension>); an import sheet has at most "
            f"{MAX_COLUMNS} columns and {MAX_ROWS} rows",
        )
    sheet.reset_dimensions()
    return sheet
