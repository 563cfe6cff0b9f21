"""The PDF trace report of a release (reportlab platypus), byte for byte reproducible.

``report_pdf(content)`` lays out the story once: reportlab's invariant mode fixes the document
ID and internal names, the PDF's creation date is the baseline's (never the clock), and page
numbers that are only known at the end ("Page X of Y", the table of contents) are form XObjects
defined after the last page. The running header names the product, version, section and
document ID; the footer carries the baseline's SHA-256, the revision and "Page X of Y"; the
baseline hash is also in the PDF's metadata (subject and keywords).
"""

import io
from typing import Any

from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, NextPageTemplate, PageBreak, PageTemplate

from traceability.reports.content import ReportContent
from traceability.reports.identity import utc_text
from traceability.reports.layout import Contents, Heading, Outline, keep_with_first_rows, page_form
from traceability.reports.sections import changes, front, lists, matrix, risk
from traceability.reports.styles import (
    BRAND,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    GREEN,
    INK,
    MARGIN_BOTTOM,
    MARGIN_X,
    MUTED,
    PAGE_HEIGHT,
    PAGE_SIZE,
    PAGE_WIDTH,
    RED,
    RULE,
    WHITE,
)
from traceability.reports.text import (
    FONT,
    FONT_BOLD,
    FONT_MONO,
    draw_string,
    ellipsize,
    fonts_register,
    plain,
    printable,
    text_width,
)

# The running header's left side (product and name); the right side holds the section and status.
HEADER_TEXT_WIDTH = FRAME_WIDTH * 0.56


def pdf_date(moment: str | None) -> str:
    """A PDF date string (``D:YYYYMMDDHHmmSS+00'00'``) for an ISO 8601 UTC moment."""
    digits = "".join(char for char in (moment or "2000-01-01T00:00:00")[:19] if char.isdigit())
    return f"D:{digits}+00'00'"


class ReportCanvas(Canvas):
    """A canvas that lets the document define its deferred forms just before saving."""

    finish: Any = None

    def save(self) -> None:
        if self.finish is not None:
            self.finish(self)
        super().save()


class ReportDocument(BaseDocTemplate):
    def __init__(self, buffer: io.BytesIO, content: ReportContent, entries: list[Any]) -> None:
        self.content = content
        self.entries = entries
        self.pages: dict[str, int] = {}
        self.page_count = 0
        self.section = ""  # the section the page began in
        self.page_section = ""  # the first section that starts on the page, if any
        self._last_section = ""
        product, release = content.product, content.release
        keywords = ["traceability", "IEC 62304", product.key, release.version]
        if content.frozen:
            keywords.append(f"baseline-sha256:{content.baseline_sha256}")
        super().__init__(
            buffer,
            pagesize=PAGE_SIZE,
            leftMargin=MARGIN_X,
            rightMargin=MARGIN_X,
            topMargin=PAGE_HEIGHT - MARGIN_BOTTOM - FRAME_HEIGHT,
            bottomMargin=MARGIN_BOTTOM,
            title=plain(f"Traceability report {product.key} {release.version} ({content.document_id})"),
            author="Q-interface",
            subject=plain(
                f"{product.name} {release.version}; baseline SHA-256 {content.baseline_sha256}"
                if content.frozen
                else f"{product.name} {release.version}; NOT FROZEN (live data)"
            ),
            creator="Q-interface trace report",
            keywords=", ".join(plain(word) for word in keywords),
            invariant=1,
            pageCompression=1,
            initialFontName=FONT,  # so no page refers to a font that is not embedded
            initialFontSize=9,
        )
        frame = Frame(MARGIN_X, MARGIN_BOTTOM, FRAME_WIDTH, FRAME_HEIGHT, 0, 0, 0, 0, id="body")
        self.addPageTemplates(
            [
                PageTemplate(id="cover", frames=[frame], onPageEnd=self.decorate_cover),
                PageTemplate(id="body", frames=[frame], onPageEnd=self.decorate_page),
            ]
        )

    # --- build hooks ------------------------------------------------------------------------------

    def beforeDocument(self) -> None:
        canvas = self.canv
        canvas.finish = self.define_forms
        canvas._doc.setDateFormatter(lambda *_: pdf_date(self.content.report_date))
        canvas.setPageCompression(1)
        canvas.showOutline()  # the viewer opens with the bookmarks shown (PageMode /UseOutlines)

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, Heading):
            entry = flowable.entry
            page = self.canv.getPageNumber()
            self.pages[entry.key] = page
            self.canv.bookmarkPage(entry.key)
            self.canv.addOutlineEntry(plain(entry.label), entry.key, level=entry.level, closed=False)
            if entry.level == 0:
                self.page_section = self.page_section or entry.label
                self._last_section = entry.label

    def define_forms(self, canvas: Canvas) -> None:
        total = self.page_count = canvas.getPageNumber() - 1  # the canvas is on the empty page after the last
        for number in range(1, total + 1):
            canvas.beginForm(f"page-{number}", lowerx=-200, lowery=-4, upperx=2, uppery=12)
            canvas.setFont(FONT, 7.5)
            canvas.setFillColor(INK)
            canvas.drawRightString(0, 0, f"Page {number} of {total}")
            canvas.endForm()
        for entry in self.entries:
            canvas.beginForm(page_form(entry.key), lowerx=-60, lowery=-4, upperx=2, uppery=14)
            canvas.setFont(FONT_BOLD if entry.level == 0 else FONT, 10 if entry.level == 0 else 9)
            canvas.setFillColor(INK)
            canvas.drawRightString(0, 0, str(self.pages.get(entry.key, "–")))
            canvas.endForm()

    # --- page decoration -------------------------------------------------------------------------

    def _status(self) -> tuple[str, Any]:
        content = self.content
        if not content.frozen:
            return "NOT FROZEN – DRAFT", RED
        if content.withdrawn:
            return "WITHDRAWN", RED
        if content.approved:
            return "APPROVED", GREEN
        return "NOT APPROVED", RED

    def _watermark(self, canvas: Canvas) -> None:
        """Over the page (faint, so the content stays readable): NOT FROZEN or WITHDRAWN."""
        content = self.content
        text = "NOT FROZEN – DRAFT" if not content.frozen else "WITHDRAWN" if content.withdrawn else ""
        if not text:
            return
        canvas.saveState()
        canvas.setFillColor(RED, alpha=0.09)
        canvas.setFont(FONT_BOLD, 74)
        canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
        canvas.rotate(28)
        canvas.drawCentredString(0, -20, text)
        canvas.restoreState()

    def _footer(self, canvas: Canvas) -> None:
        content = self.content
        right = PAGE_WIDTH - MARGIN_X
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, 34, right, 34)
        if content.frozen:
            canvas.setFont(FONT, 6.8)
            canvas.setFillColor(MUTED)
            label = "Baseline SHA-256 "
            canvas.drawString(MARGIN_X, 23, label)
            canvas.setFont(FONT_MONO, 6.8)
            canvas.setFillColor(INK)
            canvas.drawString(MARGIN_X + text_width(label, FONT, 6.8), 23, content.baseline_sha256)
        else:
            canvas.setFont(FONT_BOLD, 6.8)
            canvas.setFillColor(RED)
            canvas.drawString(
                MARGIN_X, 23, f"NOT FROZEN: live data at {utc_text(content.generated_at)}; not a controlled record"
            )
        canvas.setFont(FONT, 6.8)
        canvas.setFillColor(MUTED)
        canvas.drawCentredString(
            PAGE_WIDTH / 2 + 90,
            23,
            f"{content.document_id} · revision {content.revision} · {utc_text(content.report_date)}",
        )
        canvas.saveState()
        canvas.translate(right, 23)
        canvas.doForm(f"page-{canvas.getPageNumber()}")
        canvas.restoreState()

    def _end_page(self) -> str:
        """The section named in the header: the first one starting on this page, else the one
        the page began in; then the next page begins in the last section of this one."""
        shown = self.page_section or self.section
        self.section = self._last_section or self.section
        self.page_section = ""
        return shown

    def decorate_cover(self, canvas: Canvas, document: Any) -> None:
        self._end_page()
        if canvas.getPageNumber() == 1:
            canvas.bookmarkPage("cover")
            canvas.addOutlineEntry("Cover", "cover", level=0, closed=False)
        canvas.saveState()
        canvas.setFillColor(BRAND)
        canvas.rect(0, PAGE_HEIGHT - 16, PAGE_WIDTH, 16, stroke=0, fill=1)
        self._footer(canvas)
        canvas.restoreState()
        self._watermark(canvas)

    def decorate_page(self, canvas: Canvas, document: Any) -> None:
        content = self.content
        section = self._end_page()
        canvas.saveState()
        right = PAGE_WIDTH - MARGIN_X
        top = PAGE_HEIGHT - 24
        canvas.setFillColor(BRAND)
        heading = printable(f"{content.product.key} {content.release.version} · Traceability report")
        draw_string(canvas, MARGIN_X, top, ellipsize(heading, FONT_BOLD, 8.5, HEADER_TEXT_WIDTH), FONT_BOLD, 8.5)
        canvas.setFillColor(MUTED)
        name = ellipsize(printable(content.product.name), FONT, 7.5, HEADER_TEXT_WIDTH)
        draw_string(canvas, MARGIN_X, top - 11, name, FONT, 7.5)
        canvas.setFont(FONT_MONO, 7.5)
        canvas.setFillColor(INK)
        canvas.drawRightString(right, top, content.document_id)
        status, colour = self._status()
        canvas.setFont(FONT_BOLD, 7)
        width = text_width(status, FONT_BOLD, 7) + 10
        canvas.setFillColor(colour)
        canvas.roundRect(right - width, top - 14, width, 10.5, 2.5, stroke=0, fill=1)
        canvas.setFillColor(WHITE)
        canvas.drawCentredString(right - width / 2, top - 11, status)
        if section:
            canvas.setFont(FONT, 7.5)
            canvas.setFillColor(MUTED)
            canvas.drawRightString(right - width - 10, top - 11, printable(section)[:90])
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, top - 19, right, top - 19)
        self._footer(canvas)
        canvas.restoreState()
        self._watermark(canvas)


def report_story(content: ReportContent) -> tuple[list[Flowable], list[Any]]:
    """The flowables of the whole report and its table-of-contents entries."""
    fonts_register()
    outline = Outline()
    story: list[Flowable] = [NextPageTemplate("body")]
    story += front.cover(content)
    story.append(PageBreak())
    contents_heading = outline.unnumbered("Contents", "contents")
    contents = Contents(outline.entries)
    story += [contents_heading, contents, PageBreak()]
    for section in (
        front.document_control,
        front.summary,
        matrix.traceability_matrix,
        matrix.reverse_matrix,
        risk.risk_management,
        lists.soup_list,
        lists.anomaly_list,
        lists.clause_checklist,
        changes.changes_since_previous,
    ):
        story += section(content, outline)
        story.append(PageBreak())
    story.pop()
    return keep_with_first_rows(story), outline.entries


def report_pdf(content: ReportContent) -> tuple[bytes, int]:
    """The report as PDF bytes and its page count; the same content always gives the same bytes."""
    story, entries = report_story(content)
    buffer = io.BytesIO()
    document = ReportDocument(buffer, content, entries)
    document.build(story, canvasmaker=ReportCanvas)
    return buffer.getvalue(), document.page_count
