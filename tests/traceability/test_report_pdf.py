"""The PDF trace report: content read back with pypdf, determinism, hostile and Unicode text,
long texts, the signature manifest and the NOT APPROVED banner."""

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.platypus import SimpleDocTemplate, Spacer

from tests.traceability.reporting import (
    add_item,
    approve,
    content_of,
    frozen_release,
    outline_titles,
    pages_text,
    record_results,
    render,
    report_items,
    report_product,
)
from traceability.reports import text as text_module
from traceability.reports.grid import GridRows
from traceability.reports.layout import Contents, Outline, keep_with_first_rows, note
from traceability.reports.pdf import report_pdf
from traceability.reports.sections.common import spec
from traceability.reports.sections.risk import RISK_COLUMNS
from traceability.reports.styles import FRAME_HEIGHT, FRAME_WIDTH, PAGE_SIZE, RISK_STATUS
from traceability.reports.text import FALLBACK_FILES, REPLACEMENT, printable, text_width, wrap
from traceability.services.items import item_update
from traceability.services.links import link_create
from traceability.services.releases import release_create, release_freeze

pytestmark = pytest.mark.django_db

SECTIONS = [
    "Cover",
    "Contents",
    "1 Document control and signatures",
    "1.1 Revision history",
    "1.2 Signature manifest (21 CFR 11.50)",
    "1.3 Release record",
    "2 Summary",
    "2.1 Gaps by rule and severity",
    "3 Traceability matrix",
    "3.1 Software requirements",
    "3.2 System requirements",
    "4 Reverse matrix: tests → requirements",
    "5 Risk management",
    "5.1 Initial and residual risk",
    "5.2 Risk trace",
    "6 SOUP list",
    "7 Known residual anomalies",
    "7.1 Residual anomalies",
    "8 Clause compliance checklist",
    "8.1 IEC 62304:2006+A1:2015",
    "9 Changes since the previous release",
]


@pytest.fixture
def release(catalogue, qm):
    product = report_product(qm)
    report_items(product, qm)
    return frozen_release(product, qm)


def test_the_report_holds_every_section_key_header_footer_and_the_unsigned_state(release):
    data = render(release)
    content = content_of(release)
    pages = pages_text(data)
    total = len(pages)
    everything = " ".join(pages)
    sha = content.baseline_sha256
    assert data.startswith(b"%PDF-") and total >= 10
    assert outline_titles(data) == SECTIONS
    reader = PdfReader(io.BytesIO(data))
    assert reader.trailer["/Root"]["/PageMode"] == "/UseOutlines"  # opens with the bookmarks shown
    assert reader.get_destination_page_number(reader.outline[0]) == 0  # "Cover" is page 1
    for key in ("UN-1", "SYS-1", "SRS-1", "SRS-2", "SWI-1", "SOUP-1", "RISK-1", "RC-1", "TC-1", "TC-2", "ANOM-1"):
        assert key in everything, key
    # cover
    assert "TRACEABILITY REPORT" in pages[0] and "Report Pump" in pages[0] and "RPT · Release 1.0.0" in pages[0]
    assert f"Document ID TR-RPT-1.0.0-{sha[:8]}" in pages[0]
    assert f"Baseline SHA-256 {sha}" in pages[0] and "Commit SHA abc1234" in pages[0]
    assert "Software safety class (IEC 62304) B" in pages[0] and "Previous release first release" in pages[0]
    # running header (every page but the cover) and footer (every page)
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text, number
        assert f"Baseline SHA-256 {sha}" in text, number
        assert f"TR-RPT-1.0.0-{sha[:8]} · revision 0" in text, number
        if number > 1:
            assert "RPT 1.0.0 · Traceability report" in text and "NOT APPROVED" in text, number
    # the unsigned state is unmistakable
    assert "NOT APPROVED The manufacturer's release approval has not been signed over this baseline" in pages[0]
    assert "No electronic signature has been applied to this baseline." in everything
    assert "APPROVED Release approval signed" not in everything
    # sections with content
    assert "Round down The dose shall be rounded down." in everything
    assert "TC-1 ✓ passed (1.0.0)" in everything
    assert "libdecimal" in everything and "Decimal Org" in everything
    assert "Slow redraw" in everything and "No effect on safety" in everything
    assert "Initial risk (before control)" in everything and "Residual risk (after control)" in everything
    assert "S4 Critical P3 Occasional not acceptable" in everything
    assert "5.2.1 Define and document software requirements from system requirements SRS-1 Round down" in everything
    assert "NO EVIDENCE" in everything
    assert "First release: RPT has no frozen release before 1.0.0" in everything
    # metadata ties the file to the baseline
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata["/Keywords"].endswith(f"baseline-sha256:{sha}")
    taken = content.taken_at
    assert (
        reader.metadata["/CreationDate"]
        == f"D:{taken[:4]}{taken[5:7]}{taken[8:10]}{taken[11:13]}{taken[14:16]}{taken[17:19]}+00'00'"
    )


def test_the_contents_page_lists_every_section_with_the_page_its_bookmark_points_to(release):
    data = render(release)
    reader = PdfReader(io.BytesIO(data))
    bookmarks: dict[str, int] = {}

    def walk(entries):
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                bookmarks[entry.title] = reader.get_destination_page_number(entry) + 1

    walk(reader.outline)
    contents = pages_text(data)[1]
    listed = {title: int(page) for title, page in re.findall(r"(\d+(?:\.\d+)? .+?) (?:\. )+(\d+)", contents)}
    assert listed == {title: page for title, page in bookmarks.items() if title not in ("Cover", "Contents")}
    assert listed["1 Document control and signatures"] == 3
    assert bookmarks["Cover"] == 1 and bookmarks["Contents"] == 2


def test_an_approved_report_shows_the_signature_manifest_and_no_banner(release, qm):
    unsigned = render(release)
    approve(release, qm)
    signed = render(release)
    assert signed != unsigned
    content = content_of(release)
    signature = content.signatures[0]
    everything = " ".join(pages_text(signed))
    signed_at = f"{signature.signed_at[:10]} {signature.signed_at[11:19]} UTC"
    assert "NOT APPROVED" not in everything
    assert f"APPROVED Release approval signed over this baseline by Quinn Manager (approval, {signed_at})" in everything
    assert f"1 Quinn Manager quinn {signed_at} Approval (release approval) Ready to ship" in everything
    assert f"1 {signed_at} Approval signature by Quinn Manager" in everything  # revision history
    assert f"TR-RPT-1.0.0-{content.baseline_sha256[:8]} · revision 1 · {signed_at}" in everything


def test_the_same_baseline_gives_the_same_bytes(release, qm):
    first = render(release)
    # live changes after the freeze do not reach the report of the frozen release
    item_update(item=release.product.items.get(key="SRS-1"), actor=qm, title="Changed after the freeze")
    record_results(release.product, "1.0.0", {"TC-1": "failed"})
    second = render(release)
    assert first == second
    assert report_pdf(content_of(release)) == (first, len(pages_text(first)))


def test_hostile_item_text_renders_literally(catalogue, qm):
    product = report_product(qm)
    hostile = "<b>bold</b> & <img src=x> <font color=red>red</font> </para><para> &amp; \x07bell"
    report_items(product, qm, srs_text=hostile)
    item_update(
        item=product.items.get(key="SRS-2"), actor=qm, title="<i>title</i> & <br/> <a href='javascript:x'>x</a>"
    )
    release = frozen_release(product, qm)
    everything = " ".join(pages_text(render(release)))
    assert "<b>bold</b> & <img src=x> <font color=red>red</font> </para><para> &amp; bell" in everything
    assert "<i>title</i> & <br/> <a href='javascript:x'>x</a>" in everything


UNICODE_TEXT = "Größe 5 µg → ≤ 37 °C ± 0.5 ✓ Ελληνικά Кириллица עברית 中文 한국어 ひらがな 😀"


def embedded_fonts(data: bytes) -> set[tuple[str, str, bool]]:
    reader = PdfReader(io.BytesIO(data))
    return {
        (str(font["/Subtype"]), str(font["/BaseFont"]).split("+")[-1], "/FontFile2" in font["/FontDescriptor"])
        for page in reader.pages
        for font in (reference.get_object() for reference in page["/Resources"]["/Font"].values())
    }


DEJAVU = {  # every font is embedded TrueType (subsets), no standard font left
    ("/TrueType", "DejaVuSans", True),
    ("/TrueType", "DejaVuSans-Bold", True),
    ("/TrueType", "DejaVuSans-Oblique", True),
    ("/TrueType", "DejaVuSansMono", True),
}


@pytest.mark.skipif(
    not all(any(Path(path).is_file() for path in paths) for _, paths in FALLBACK_FILES),
    reason="the fallback fonts (fonts-droid-fallback, fonts-symbola: make install) are not installed",
)
def test_any_unicode_renders_with_the_embedded_font_and_its_fallbacks(catalogue, qm):
    product = report_product(qm)
    report_items(product, qm, srs_text=UNICODE_TEXT)
    item_update(item=product.items.get(key="SRS-2"), actor=qm, title="剂量计算 📈")
    data = render(frozen_release(product, qm))
    everything = " ".join(pages_text(data))
    assert "Größe 5 µg → ≤ 37 °C ± 0.5 ✓ Ελληνικά Кириллица" in everything
    assert "עברית" in everything or "תירבע" in everything  # drawn in logical order; readers may reorder it
    assert "中文 한국어 ひらがな 😀" in everything  # CJK from Droid Sans Fallback, the emoji from Symbola
    assert "剂量计算 📈" in everything  # in a paragraph-free grid cell and in the bold title font
    assert REPLACEMENT not in everything
    assert embedded_fonts(data) == DEJAVU | {
        ("/TrueType", "DroidSansFallback", True),
        ("/TrueType", "Symbola", True),
    }


def test_without_the_fallback_fonts_missing_characters_print_as_replacement(catalogue, qm, monkeypatch):
    monkeypatch.setattr(text_module, "fallback_fonts", dict)
    product = report_product(qm)
    report_items(product, qm, srs_text=UNICODE_TEXT)
    data = render(frozen_release(product, qm))
    everything = " ".join(pages_text(data))
    assert "Größe 5 µg → ≤ 37 °C ± 0.5 ✓ Ελληνικά Кириллица" in everything
    # CJK and emoji: shown as U+FFFD, never lost silently
    assert f"{REPLACEMENT * 2} {REPLACEMENT * 3} {REPLACEMENT * 4} {REPLACEMENT}" in everything
    assert embedded_fonts(data) == DEJAVU


def test_metadata_keeps_the_product_name_as_typed(catalogue, qm):
    product = report_product(qm, name="Pumpe 中文 😀 <b>&amp;</b>")
    report_items(product, qm)
    data = render(frozen_release(product, qm))
    subject = PdfReader(io.BytesIO(data)).metadata["/Subject"]
    assert subject.startswith("Pumpe 中文 😀 <b>&amp;</b> 1.0.0; baseline SHA-256 ")


def test_a_twenty_page_requirement_text_splits_across_pages(catalogue, qm):
    product = report_product(qm)
    words = [f"word{index}" for index in range(9000)]
    long_text = " ".join(words)  # about 70,000 characters: more than twenty pages of a matrix cell
    report_items(product, qm, srs_text=long_text)
    data = render(frozen_release(product, qm))
    pages = pages_text(data)
    carrying = [index for index, text in enumerate(pages) if "word" in text and "SRS-1" in text]
    continued = [index for index, text in enumerate(pages) if "(continued)" in text]
    assert len(carrying) >= 20 and len(continued) == len(carrying) - 1
    assert continued == list(range(carrying[0] + 1, carrying[-1] + 1))
    # one continuous piece per page: one label, and the words follow on from the page before
    assert [pages[index].count("(continued)") for index in continued] == [1] * len(continued)
    assert all("SRS-1 (continued)" in pages[index] for index in continued)
    numbers = [[int(n) for n in re.findall(r"\bword(\d+)\b", pages[index])] for index in carrying]
    assert [number for page in numbers for number in page] == list(range(9000))
    assert all(page == list(range(page[0], page[-1] + 1)) for page in numbers)
    for index in continued:  # the header row repeats on each page of the cell
        assert "Verification (result in this release)" in pages[index]
    assert "SRS-2" in " ".join(pages[carrying[-1] :])


def test_a_grid_row_taller_than_a_page_is_cut_against_the_space_left():
    grid = spec([("Key", 54), ("Text", 200)])
    rows = GridRows(grid)
    text = grid.lines(1, "x " * 20000)
    rows.add([grid.lines(0, "SRS-1"), text], label="SRS-1")
    rows.add([grid.lines(0, "SRS-2"), grid.lines(1, "short")], label="SRS-2")
    assert len(rows) == 2  # rows are cut only when laid out
    piece, space, pieces = rows.flowable(), 300.0, []
    while True:
        parts = [piece] if piece.height <= space else piece.split(grid.width, space)
        assert parts and parts[0].height <= space + 1e-6
        pieces.append(parts[0])
        if len(parts) == 1:
            break
        piece, space = parts[1], FRAME_HEIGHT
    assert len(pieces) > 5
    # every page but the first and the last is one piece of SRS-1 filling the page
    for page in pieces[1:-1]:
        (row,) = page._visible()
        assert [line.text for line in row.cells[0]] == ["SRS-1", "(continued)"]
        assert page.height > FRAME_HEIGHT - grid.leading - 2 * grid.padding
    assert all(
        width <= grid.inner(0)
        for row in (r for page in pieces for r in page._visible())
        for width in (text_width(line.text, line.font, grid.size) for line in row.cells[0])
    )
    placed = [line.text for page in pieces for row in page._visible() for line in row.cells[1]]
    assert placed == [line.text for line in text] + ["short"]


def test_wrapping_breaks_long_words_and_keeps_line_breaks():
    lines = wrap("a" * 400 + "\n\nsecond paragraph", "QiSans", 7, 100)
    assert all(len(line) < 400 for line in lines) and "".join(lines[:-2]) == "a" * 400
    assert lines[-2:] == ["", "second paragraph"]
    assert printable("tab\there\r\nnext\x00") == "tab    here\nnext"


def test_a_draft_is_rendered_as_a_preview_marked_not_frozen(catalogue, qm):
    product = report_product(qm)
    report_items(product, qm)
    release = release_create(product=product, version="1.1.0", actor=qm)
    pages = pages_text(render(release))
    assert "NOT FROZEN – DRAFT PREVIEW Rendered from live data at" in pages[0]
    assert "Document ID TR-RPT-1.1.0-DRAFT" in pages[0]
    for text in pages:
        assert "NOT FROZEN" in text and "not a controlled record" in text


def test_changes_since_the_previous_release(catalogue, qm):
    product = report_product(qm)
    items = report_items(product, qm)
    frozen_release(product, qm, "1.0.0")
    item_update(item=items["SRS-2"], actor=qm, text="Show the dose in units.")
    srs3 = add_item(product, qm, "SRS-3", "software_requirement", title="Log the dose")
    link_create(source=srs3, target=items["SYS-1"], link_type="derives_from", actor=qm)
    record_results(product, "1.1.0", {"TC-1": "passed", "TC-2": "failed"})
    second = release_freeze(product=product, version="1.1.0", actor=qm)
    everything = " ".join(pages_text(render(second)))
    assert "Previous release 1.0.0" in everything
    assert "From 1.0.0 (baseline" in everything
    assert "Items added 1" in everything and "SRS-3 software requirement Log the dose" in everything
    assert "SRS-2 Show the dose software requirement text 1 → 2 approved" in everything
    assert "SRS-3 derives from SYS-1" in everything
    assert "TC-2 passed failed" in everything


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pages_render_to_png(release, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(render(release))
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None
    subprocess.run(  # noqa: S603 - a fixed tool on files the test wrote
        [pdftoppm, "-png", "-r", "40", "-f", "1", "-l", "3", str(path), str(tmp_path / "page")], check=True
    )
    images = sorted(tmp_path.glob("page-*.png"))
    assert [image.name for image in images] == ["page-01.png", "page-02.png", "page-03.png"]
    assert all(image.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for image in images)


def test_a_system_requirement_is_verified_through_its_derived_requirements(catalogue, qm):
    product = report_product(qm)
    report_items(product, qm)
    record_results(product, "1.0.0", {"TC-1": "passed", "TC-2": "failed"})
    release = release_freeze(product=product, version="1.0.0", actor=qm)
    row = next(row for row in content_of(release).system_matrix if row.key == "SYS-1")
    assert (row.status, row.reason) == ("failed", "derived requirement failed: SRS-2")


def test_a_long_table_of_contents_continues_on_the_next_page():
    outline = Outline()
    for number in range(40):
        outline.section(f"Section {number}")
        outline.subsection("Part")
    contents = Contents(outline.entries)
    _, height = contents.wrap(700, 500)
    first, rest = contents.split(700, 300)
    assert first.wrap(700, 300)[1] <= 300 and len(first.entries) + len(rest.entries) == 80
    assert first.wrap(700, 300)[1] + rest.wrap(700, 500)[1] == pytest.approx(height)


def test_grid_pieces_always_fit_and_carry_every_line_once():
    import random

    generator = random.Random(62304)
    grid = spec([("Key", 60), ("Text", 200)])
    rows = GridRows(grid)
    expected = []
    for index in range(300):
        count = generator.choice([1, 2, 3, 8, 40, 90, 300])
        text = "\n".join(f"r{index}l{line}" for line in range(count))
        rows.add([grid.lines(0, f"K-{index}"), grid.lines(1, text)], label=f"K-{index}")
        expected += [f"r{index}l{line}" for line in range(count)]
    piece, space, placed, pages = rows.flowable(), generator.uniform(60, FRAME_HEIGHT), [], 1
    while piece is not None:
        if piece.height <= space:
            parts = [piece]
        else:
            parts = piece.split(grid.width, space)
            if not parts:  # nothing fits here: a new page, where something always fits
                assert space < FRAME_HEIGHT
                space, pages = FRAME_HEIGHT, pages + 1
                continue
        assert parts[0].height <= space + 1e-6
        placed += [line.text for row in parts[0]._visible() for line in row.cells[1]]
        piece = parts[1] if len(parts) > 1 else None
        space, pages = FRAME_HEIGHT, pages + 1
    assert placed == expected and pages > 20


def test_a_long_product_name_keeps_the_cover_on_one_page_and_is_ellipsized_in_the_header(catalogue, qm):
    name = " ".join(["Insulin bolus calculator with extended continuous glucose integration"] * 4)[:255]
    product = report_product(qm, name=name)
    report_items(product, qm)
    data = render(frozen_release(product, qm))
    pages = pages_text(data)
    assert "Previous release first release" in pages[0] and "Contents" not in pages[0]
    assert pages[1].startswith("Contents") and "RPT 1.0.0 · Traceability report" in pages[1]
    page = PdfReader(io.BytesIO(data)).pages[2].extract_text()
    (shown,) = [line for line in page.split("\n") if line.startswith("Insulin bolus")]
    header = shown.split("…")[0]
    assert shown.startswith(header + "…") and len(header) < 160
    assert name.startswith(header + " ")  # cut at a word boundary, not mid-word


def test_the_draft_cover_does_not_claim_a_baseline(catalogue, qm):
    product = report_product(qm)
    report_items(product, qm)
    release = release_create(product=product, version="1.1.0", actor=qm)
    cover = pages_text(render(release))[0]
    assert "This preview has no baseline" in cover and "not a controlled copy" in cover
    assert "byte-identical" not in cover and "identifies the frozen trace data" not in cover


def test_identifiers_break_at_separators_and_status_words_stay_whole():
    width = 100
    lines = wrap("tests/unit/test_dose.py::test_clinician_calculation_trace", "QiSans", 6.8, width)
    assert lines == ["tests/unit/test_dose.py::test_", "clinician_calculation_trace"]
    assert all(text_width(line, "QiSans", 6.8) <= width for line in lines)
    assert wrap("x" * 60, "QiSans", 6.8, 40)[0] == "x" * len(wrap("x" * 60, "QiSans", 6.8, 40)[0])  # no separator
    grid = spec(RISK_COLUMNS)
    words = {word for _, _, label in RISK_STATUS.values() for word in label.split()}
    for word in words:  # every status word fits the status column whole, in bold
        assert wrap(word, "QiSans-Bold", grid.size, grid.inner(len(RISK_COLUMNS) - 1)) == [word]
    assert grid.width <= FRAME_WIDTH


def _laid_out(space_left: float) -> list[str]:
    """A page filled but for ``space_left`` points, then a heading, an intro and a long grid."""
    grid = spec([("Key", 60), ("Text", 300)])
    rows = GridRows(grid)
    for index in range(120):
        rows.add([grid.lines(0, f"K-{index}"), grid.lines(1, f"row text {index}")], label=f"K-{index}")
    outline = Outline()
    story = [
        Spacer(1, FRAME_HEIGHT - space_left),
        outline.section("Long table"),
        note("What the table shows."),
        rows.flowable(),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=PAGE_SIZE, leftMargin=34, rightMargin=34, topMargin=52, bottomMargin=44, invariant=1
    )
    document.build(keep_with_first_rows(story))
    return [page.extract_text() for page in PdfReader(buffer).pages]


def test_a_heading_stays_with_the_first_rows_of_a_long_table_not_the_whole_table():
    pages = _laid_out(space_left=200)  # room for the heading, the intro and a few rows
    assert "1 Long table" in pages[0] and "What the table shows." in pages[0]
    assert "K-0" in pages[0] and "K-1" in pages[0] and "K-119" not in pages[0]
    pages = _laid_out(space_left=60)  # room for the heading only: it moves with the table
    assert "Long table" not in pages[0] and "K-0" not in pages[0]
    assert "1 Long table" in pages[1] and "K-0" in pages[1]


def test_risk_matrices_name_every_level_in_full_and_title_both_axes(release):
    page = next(text for text in pages_text(render(release)) if "Initial risk (before control)" in text)
    for name in ("Improbable", "Remote", "Occasional", "Probable", "Frequent", "5 Catastrophic", "1 Negligible"):
        assert name in page
    assert "…" not in page
    assert page.count("probability →") == 2 and page.count("severity →") == 2
