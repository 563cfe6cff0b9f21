"""Malicious files are refused with an error naming the problem, in bounded time and memory, and
nothing is written: JUnit XML (990 nested suites, unknown encodings), XLSX (false dimensions, zip
bombs that declare or hide their size), CSV (NUL bytes), over the API and the commands.

Every file is built here, at test time, and is small on disk (the bomb that inflates to 524 MB is 1.9 MB).
"""

import io
import re
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from tests.conftest import token_client
from tests.db_state import db_counts
from traceability.models import Item, Product

pytestmark = pytest.mark.django_db

NESTED = (
    b"<testsuites>"
    + b'<testsuite name="s">' * 990
    + b'<testcase classname="t" name="deep"/>'
    + b"</testsuite>" * 990
    + b"</testsuites>"
)
UNKNOWN_ENCODING = b'<?xml version="1.0" encoding="x-no-such-encoding"?><testsuite><testcase name="a"/></testsuite>'
JUNIT_CASES = [
    (NESTED, "junit_invalid", "nested.xml: <testsuite> elements nested more than 50 levels deep"),
    (
        UNKNOWN_ENCODING,
        "xml_invalid",
        "nested.xml: the XML declaration names an encoding that cannot be read "
        "(unknown encoding: x-no-such-encoding); write UTF-8",
    ),
]


@pytest.mark.parametrize(("data", "code", "detail"), JUNIT_CASES, ids=["990-nested-suites", "unknown-encoding"])
def test_hostile_junit_uploads_are_400(small_graph, developer, data, code, detail):
    client = token_client(developer, ["evidence"])
    before = db_counts()
    body = client.post("/api/v1/products/DEMO/junit/?version=1.0.0", data, content_type="application/xml")
    assert body.status_code == 400
    assert body.json() == {
        "error": code,
        "detail": detail.replace("nested.xml", "request body"),
        "file": "request body",
    }
    upload = io.BytesIO(data)
    upload.name = "nested.xml"
    multipart = client.post("/api/v1/products/DEMO/junit/", {"file": upload, "version": "1.0.0"}, format="multipart")
    assert multipart.status_code == 400
    assert multipart.json() == {"error": code, "detail": detail, "file": "nested.xml"}
    assert db_counts() == before


@pytest.mark.parametrize(("data", "code", "detail"), JUNIT_CASES, ids=["990-nested-suites", "unknown-encoding"])
def test_hostile_junit_files_are_a_command_error(small_graph, tmp_path, data, code, detail):
    path = tmp_path / "nested.xml"
    path.write_bytes(data)
    before = db_counts()
    with pytest.raises(CommandError) as error:
        call_command("ingest_junit", "DEMO", str(path), "--version", "1.0.0", stdout=io.StringIO())
    assert str(error.value) == detail
    assert error.value.returncode == 1
    assert db_counts() == before


def test_git_cannot_pass_a_nul_in_a_commit_message(small_graph, tmp_path):
    """git log cuts a message at its NUL byte: ingest_git stores what git shows, never a NUL."""
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"}

    def git(*args: str, data: bytes | None = None) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, env=env, check=True)  # noqa: S603, S607
        return done.stdout.decode().strip()

    git("init", "-q")
    tree = git("mktree", data=b"")
    commit = f"tree {tree}\nauthor A <a@example.com> 1772532000 +0000\ncommitter A <a@example.com> 1772532000 +0000\n\n"
    sha = git(
        "hash-object",
        "-t",
        "commit",
        "-w",
        "--stdin",
        "--literally",
        data=commit.encode() + b"Implements: SRS-1\x00 hidden\n",
    )
    git("update-ref", "HEAD", sha)
    call_command("ingest_git", "DEMO", str(repo), stdout=io.StringIO())
    stored = small_graph["SRS-1"].product.commits.get()
    assert (stored.sha, stored.message) == (sha, "Implements: SRS-1")


# --- spreadsheets ----------------------------------------------------------------------------------

HEADER = ["key", "kind", "title"]


def workbook_bytes(rows: list[list[str]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewrite_entry(data: bytes, name: str, change) -> bytes:
    """The workbook with one part's XML changed."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename == name else content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def dimension(ref: bytes | None):
    """A change of the sheet XML: its ``<dimension>`` claims ``ref`` (None: no claim at all)."""
    return lambda xml: re.sub(
        rb"<dimension ref=\"[A-Z0-9:]+\" ?/>", b"" if ref is None else b'<dimension ref="' + ref + b'"/>', xml
    )


def deflate_blocks(chunk: bytes, copies: int) -> bytes:
    """A raw deflate stream of ``chunk`` repeated ``copies`` times, made by compressing it once: after
    a full flush a block refers to nothing before it, so the same bytes can follow themselves."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * copies


END_OF_STREAM = b"\x03\x00"  # an empty final block


def raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip archive from (name, raw deflate data, CRC-32, declared inflated size): sizes as we say."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, raw, crc, size in entries:
        offset = out.tell()
        encoded = name.encode()
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(raw), size, len(encoded), 0)
        out.write(header + encoded + raw)
        central.write(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(raw),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    directory = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), out.tell(), 0)
    return out.getvalue() + directory + end


def with_parts(data: bytes, replaced: dict[str, tuple[bytes, int, int]]) -> bytes:
    """The workbook's parts, raw; ``replaced`` gives some of them as (raw deflate, CRC, declared size)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    entries = []
    for info in source.infolist():
        if info.filename in replaced:
            entries.append((info.filename, *replaced[info.filename]))
            continue
        content = source.read(info)
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        entries.append(
            (info.filename, compressor.compress(content) + compressor.flush(), zlib.crc32(content), len(content))
        )
    return raw_zip(entries)


ROW_XML = b'<row r="2"><c r="A2" t="inlineStr"><is><t>SYS-1 bomb bomb bomb</t></is></c></row>'
BOMB_CHUNK = (ROW_XML * (1024 * 1024 // len(ROW_XML) + 1))[: 1024 * 1024]


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """A valid workbook whose sheet part inflates to 524 MB and says so: 1.9 MB on disk."""
    data = workbook_bytes([HEADER, ["SYS-1", "system_requirement", "A"]])
    crc = 0
    for _ in range(524):
        crc = zlib.crc32(BOMB_CHUNK, crc)
    raw = deflate_blocks(BOMB_CHUNK, 524) + END_OF_STREAM
    return with_parts(data, {SHEET: (raw, crc, 524 * len(BOMB_CHUNK))})


def import_refused(path: Path, message: str) -> None:
    before = db_counts()
    started = time.monotonic()
    with pytest.raises(CommandError) as error:
        call_command("import_items", "FRESH", str(path), stdout=io.StringIO())
    assert str(error.value) == message
    assert error.value.returncode == 1
    assert time.monotonic() - started < 10  # refused at once, not after inflating or padding
    assert db_counts() == before
    assert not Product.objects.filter(key="FRESH").exists()


def test_the_zip_bomb_is_small_on_disk_and_refused_before_it_inflates(db, tmp_path, zip_bomb):
    assert 1_000_000 < len(zip_bomb) < 2_000_000
    assert sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(zip_bomb)).infolist()) > 524 * 1024 * 1024
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(zip_bomb)
    inflated = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(zip_bomb)).infolist())
    import_refused(
        path,
        f"bomb.xlsx: the workbook inflates to {inflated} bytes, over the import limit of 104857600 bytes "
        "(IMPORT_MAX_MB); nothing was read",
    )


def test_a_zip_bomb_that_hides_its_size_is_refused_at_its_claim(db, tmp_path):
    """The sheet declares 2 KB but inflates to 524 MB: refused after inflating 1 MB past the claim."""
    data = workbook_bytes([HEADER, ["SYS-1", "system_requirement", "A"]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = compressor.compress(sheet) + compressor.flush(zlib.Z_FULL_FLUSH) + deflate_blocks(BOMB_CHUNK, 524)
    path = tmp_path / "liar.xlsx"
    path.write_bytes(with_parts(data, {SHEET: (raw + END_OF_STREAM, zlib.crc32(sheet), len(sheet))}))
    import_refused(
        path,
        f"liar.xlsx: entry '{SHEET}' inflates past the {len(sheet)} bytes it declares (a zip bomb?); nothing was read",
    )


def test_a_sheet_claiming_16k_columns_by_1m_rows_is_refused(db, tmp_path):
    data = workbook_bytes([HEADER, ["SYS-1", "system_requirement", "A"]])
    claim = rewrite_entry(data, SHEET, dimension(b"A1:XFD1048576"))
    assert b"A1:XFD1048576" in zipfile.ZipFile(io.BytesIO(claim)).read(SHEET)
    path = tmp_path / "claim.xlsx"
    path.write_bytes(claim)
    import_refused(
        path,
        "claim.xlsx: the sheet declares 16384 columns × 1048576 rows (<dimension>); an import sheet has at most "
        "256 columns and 1048576 rows",
    )


def test_a_row_reaching_past_the_columns_is_refused_at_that_row(db, tmp_path):
    data = workbook_bytes([HEADER, ["SYS-1", "system_requirement", "A"]])
    far = rewrite_entry(
        data,
        SHEET,
        lambda xml: dimension(None)(xml).replace(
            b"</row></sheetData>", b'</row><row r="3"><c r="XFD3" s="0"/></row></sheetData>'
        ),
    )
    path = tmp_path / "far.xlsx"
    path.write_bytes(far)
    import_refused(
        path,
        "far.xlsx: row 3, column XFD: the row has cells up to column XFD; an import sheet has at most 256 columns "
        "(delete the cells right of the table)",
    )


def test_a_sheet_claiming_fewer_cells_than_it_has_loses_no_row(catalogue, tmp_path):
    """openpyxl would stop reading at the claimed last row: a silently shorter import."""
    data = workbook_bytes(
        [
            HEADER,
            ["SYS-1", "system_requirement", "A"],
            ["SYS-2", "system_requirement", "B"],
            ["SYS-3", "system_requirement", "C"],
        ]
    )
    short = rewrite_entry(data, SHEET, dimension(b"A1:B2"))
    path = tmp_path / "short.xlsx"
    path.write_bytes(short)
    call_command("import_items", "FRESH", str(path), stdout=io.StringIO())
    assert list(Item.objects.filter(product__key="FRESH").order_by("key").values_list("key", "title")) == [
        ("SYS-1", "A"),
        ("SYS-2", "B"),
        ("SYS-3", "C"),
    ]


def test_workbooks_with_too_many_entries_or_unusual_compression_are_refused(db, tmp_path):
    data = workbook_bytes([HEADER, ["SYS-1", "system_requirement", "A"]])
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as target:
        for index in range(1001):
            target.writestr(f"x/{index}", b"")
    crowded = tmp_path / "crowded.xlsx"
    crowded.write_bytes(many.getvalue())
    import_refused(crowded, "crowded.xlsx: the archive has 1001 entries; an XLSX workbook has at most 1000")
    bzip = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(bzip, "w", zipfile.ZIP_BZIP2) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    odd = tmp_path / "bzip2.xlsx"
    odd.write_bytes(bzip.getvalue())
    import_refused(odd, "bzip2.xlsx: entry 'docProps/app.xml' uses zip compression method 12; save as XLSX again")


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("Dose_x0000_limit", "contains a NUL character (U+0000), which cannot be stored"),
        ("Dose_xD800_limit", "contains a lone surrogate (U+D800), which is not text"),
    ],
)
def test_xlsx_cells_escaping_unstorable_characters_are_refused(db, tmp_path, cell, problem):
    path = tmp_path / "escaped.xlsx"
    path.write_bytes(
        workbook_bytes([HEADER, ["SYS-1", "system_requirement", "fine"], ["SYS-2", "system_requirement", cell]])
    )
    import_refused(path, f"escaped.xlsx: row 3, column title: {problem}")


def test_a_csv_with_a_nul_byte_names_its_row_and_column(db, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"key,kind,title\nSYS-1,system_requirement,fine\nSYS-2,system_requirement,bad\x00title\n")
    import_refused(path, "nul.csv: row 3, column title: contains a NUL character (U+0000), which cannot be stored")
    header = tmp_path / "header.csv"
    header.write_bytes(b"key,kind,ti\x00tle\nSYS-1,system_requirement,fine\n")
    import_refused(header, "header.csv: row 1, column #3: contains a NUL character (U+0000), which cannot be stored")


def test_files_over_the_import_limit_are_refused_before_they_are_read(db, tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 1000
    path = tmp_path / "big.csv"
    path.write_bytes(b"key,kind,title\n" + b"SYS-1,system_requirement,x\n" * 100)
    import_refused(path, "big.csv: 2715 bytes is over the import limit of 1000 bytes (IMPORT_MAX_MB); nothing was read")
