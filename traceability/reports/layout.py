"""Building blocks shared by the report's sections: numbered headings (bookmarks, outline and
table-of-contents entries), the table of contents, banners, key/value and small tables.

Page numbers that are only known at the end (the total in "Page X of Y", the table of contents)
are PDF form XObjects referenced while the pages are drawn and defined once the last page is
done, so the document is laid out in a single pass.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib.colors import Color
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from traceability.reports.styles import (
    BANNER,
    BANNER_NOTE,
    BODY,
    CELL,
    CELL_BOLD,
    FAINT,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    GRID_RULE,
    H1,
    H2,
    HEADER_FILL,
    HEADER_INK,
    INK,
    LABEL,
    NOTE,
    PANEL,
    TOC_1,
    TOC_2,
)
from traceability.reports.text import (
    FONT,
    FONT_BOLD,
    draw_string,
    fonts_register,
    markup_escape,
    printable,
    text_width,
)


@dataclass(slots=True)
class TocEntry:
    level: int  # 0 section, 1 subsection
    number: str
    title: str
    key: str  # bookmark name

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}" if self.number else self.title


class Heading(Paragraph):
    """A section or subsection heading; the document bookmarks it, adds it to the PDF outline and
    records its page for the table of contents. It stays on the page of what follows it
    (``keepWithNext``); one that leads into a long table is kept with the table's first rows
    only, by ``keep_with_first_rows``."""

    def __init__(self, entry: TocEntry) -> None:
        fonts_register()
        super().__init__(markup_escape(entry.label), H1 if entry.level == 0 else H2)
        self.entry = entry
        self.keepWithNext = True


@dataclass
class Outline:
    """Numbers headings and collects the table of contents while the story is built."""

    entries: list[TocEntry] = field(default_factory=list)
    _section: int = 0
    _subsection: int = 0

    def section(self, title: str) -> Heading:
        self._section += 1
        self._subsection = 0
        entry = TocEntry(0, str(self._section), title, f"s{self._section}")
        self.entries.append(entry)
        return Heading(entry)

    def subsection(self, title: str) -> Heading:
        self._subsection += 1
        entry = TocEntry(1, f"{self._section}.{self._subsection}", title, f"s{self._section}.{self._subsection}")
        self.entries.append(entry)
        return Heading(entry)

    def unnumbered(self, title: str, key: str) -> Heading:
        """A heading in the PDF outline but not in the table of contents (the contents page)."""
        return Heading(TocEntry(0, "", title, key))


def page_form(key: str) -> str:
    """Name of the form XObject that prints the page number of a bookmark."""
    return f"toc-{key}"


class Contents(Flowable):
    """The table of contents: one line per entry, dotted leader, the page number (a form defined
    when the document is finished) and a link to the heading."""

    def __init__(self, entries: list[TocEntry], width: float = FRAME_WIDTH) -> None:
        super().__init__()
        self.entries = entries
        self.width = width

    def _leading(self, entry: TocEntry) -> float:
        return TOC_1.leading if entry.level == 0 else TOC_2.leading

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.height = sum(self._leading(entry) for entry in self.entries)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """A long table of contents continues on the next page."""
        used, count = 0.0, 0
        for entry in self.entries:
            if used + self._leading(entry) > availHeight:
                break
            used += self._leading(entry)
            count += 1
        if count == 0:
            return []
        return [Contents(self.entries[:count], self.width), Contents(self.entries[count:], self.width)]

    def draw(self) -> None:
        canvas = self.canv
        y = self.height
        right = self.width
        for entry in self.entries:
            style = TOC_1 if entry.level == 0 else TOC_2
            y -= style.leading
            baseline = y + style.leading * 0.3
            indent = 0.0 if entry.level == 0 else 22.0
            label = printable(entry.label)
            canvas.setFillColor(INK)
            draw_string(canvas, indent, baseline, label, style.fontName, style.fontSize)
            start = indent + text_width(label, style.fontName, style.fontSize) + 6
            canvas.setFillColor(FAINT)
            canvas.setFont(FONT, style.fontSize)
            dots = right - 36 - start
            if dots > 0:
                count = int(dots // text_width(". ", FONT, style.fontSize))
                canvas.drawString(start, baseline, ". " * count)
            canvas.saveState()
            canvas.translate(right, baseline)
            canvas.doForm(page_form(entry.key))
            canvas.restoreState()
            canvas.linkRect("", entry.key, (indent, y, right, y + style.leading), relative=1, thickness=0)


# Platypus tables set their cell style's font (Helvetica unless told) even around flowables,
# which would put a font that is not embedded in the document: every table names the report font.
TABLE_FONT = ("FONT", (0, 0), (-1, -1), FONT, 8)


def para(text: object, style: Any = BODY) -> Paragraph:
    """A paragraph of user or engine text: always escaped, never markup."""
    fonts_register()
    return Paragraph(markup_escape(text), style)


def rich(markup: str, style: Any = BODY) -> Paragraph:
    """A paragraph whose markup the report wrote itself (every user value inside is escaped)."""
    fonts_register()
    return Paragraph(markup, style)


def banner(title: str, note: str, colour: Color, *, width: float = FRAME_WIDTH) -> Table:
    """A full-width coloured box with a title and a note (NOT APPROVED, APPROVED, NOT FROZEN…)."""
    table = Table(
        [[para(title, BANNER)], [para(note, BANNER_NOTE)]],
        colWidths=[width],
        style=TableStyle(
            [
                TABLE_FONT,
                ("BACKGROUND", (0, 0), (-1, -1), colour),
                ("LEFTPADDING", (0, 0), (-1, -1), 12),
                ("RIGHTPADDING", (0, 0), (-1, -1), 12),
                ("TOPPADDING", (0, 0), (-1, 0), 9),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 9),
                ("TOPPADDING", (0, 1), (-1, 1), 1),
            ]
        ),
    )
    return table


def kv_table(rows: Sequence[tuple[str, Any]], *, widths: tuple[float, float] = (150, 560)) -> Table:
    """Label / value lines on a light panel. Values are Paragraphs or plain text (escaped)."""
    data = [[para(label, LABEL), value if isinstance(value, Flowable) else para(value, CELL)] for label, value in rows]
    return Table(
        data,
        colWidths=list(widths),
        hAlign="LEFT",
        style=TableStyle(
            [
                TABLE_FONT,
                ("BACKGROUND", (0, 0), (-1, -1), PANEL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.35, GRID_RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 3.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
            ]
        ),
    )


def small_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    fills: Sequence[Color | None] | None = None,
    styles: Sequence[tuple[Any, ...]] = (),
) -> Table:
    """A short table (a few dozen rows) with a header that repeats, Paragraph cells, optional row
    fills. Cells that are not flowables are escaped text."""
    data: list[list[Any]] = [[para(title, _HEADER_CELL) for title in header]]
    for row in rows:
        data.append([cell if isinstance(cell, Flowable) else para(cell, CELL) for cell in row])
    commands: list[tuple[Any, ...]] = [
        TABLE_FONT,
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.35, GRID_RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for index, fill in enumerate(fills or []):
        if fill is not None:
            commands.append(("BACKGROUND", (0, index + 1), (-1, index + 1), fill))
    commands.extend(styles)
    return Table(data, colWidths=list(widths), repeatRows=1, hAlign="LEFT", style=TableStyle(commands))


_HEADER_CELL = CELL_BOLD.clone("header-cell", textColor=HEADER_INK, fontSize=7.5, leading=9.5)


def coloured(text: object, colour: Color, *, bold: bool = False, style: Any = CELL) -> Paragraph:
    font = FONT_BOLD if bold else style.fontName
    return rich(f'<font name="{font}" color="{colour.hexval()}">{markup_escape(text)}</font>', style)


def note(text: str) -> Paragraph:
    return para(text, NOTE)


def legend(entries: Sequence[tuple[str, Color, Color]]) -> Table:
    """Colour legend: a swatch per status with its label."""
    cells: list[Any] = []
    for label, _, ink in entries:
        cells.append(coloured(label, ink, bold=True, style=CELL.clone("legend", fontSize=7.5, leading=9)))
    table = Table([cells], hAlign="LEFT", colWidths=[max(70.0, text_width(e[0], FONT_BOLD, 7.5) + 16) for e in entries])
    commands: list[tuple[Any, ...]] = [
        TABLE_FONT,
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
    ]
    for index, (_, fill, _) in enumerate(entries):
        commands.append(("BACKGROUND", (index, 0), (index, 0), fill))
        commands.append(("BOX", (index, 0), (index, 0), 0.8, Color(1, 1, 1)))
    table.setStyle(TableStyle(commands))
    return table


def block(*flowables: Flowable, space: float = 6) -> list[Flowable]:
    return [*flowables, Spacer(1, space)]


# A lead-in (headings, intro notes, legends) longer than this is not held back with its table.
_LEAD_IN_LIMIT = FRAME_HEIGHT * 0.45


def _table_start(flowable: Flowable) -> float | None:
    """The height a long table needs to start on a page (header and first rows), None for a
    flowable that is not a long table (a legend or a banner is one or two rows)."""
    if hasattr(flowable, "start_height"):
        return float(flowable.start_height())
    if isinstance(flowable, Table) and len(flowable._cellvalues) > 2:
        flowable.wrap(FRAME_WIDTH, FRAME_HEIGHT)
        heights = flowable._rowHeights
        return float(sum(heights[: (flowable.repeatRows or 0) + 2]))
    return None


def _height(flowable: Flowable) -> float:
    _, height = flowable.wrap(FRAME_WIDTH, FRAME_HEIGHT)
    return float(height + flowable.getSpaceBefore() + flowable.getSpaceAfter())


def keep_with_first_rows(story: list[Flowable]) -> list[Flowable]:
    """Keep each heading that leads into a long table (through its intro notes and legend) with
    the table's header and first rows, not with the whole table.

    platypus' ``keepWithNext`` keeps a heading with the whole next flowable, so a heading before
    a table taller than the space left moved to the next page and left the page nearly blank.
    Here such headings drop ``keepWithNext`` and get a conditional page break before them instead:
    a new page only when the headings, the intro and the table's first rows do not fit."""
    result: list[Flowable] = []
    lead: list[Flowable] = []  # the open lead-in: headings first, then what follows them

    def close(table_start: float | None) -> None:
        headings = [flowable for flowable in lead if isinstance(flowable, Heading)]
        if table_start is not None and headings:
            need = sum(_height(flowable) for flowable in lead) + table_start
            if need - table_start <= _LEAD_IN_LIMIT:
                for heading in headings:
                    heading.keepWithNext = False
                result.append(CondPageBreak(need))
        result.extend(lead)
        lead.clear()

    for flowable in story:
        if isinstance(flowable, Heading):
            if any(not isinstance(item, Heading) for item in lead):
                close(None)  # content between: a new lead-in starts
            lead.append(flowable)
            continue
        if not lead:
            result.append(flowable)
            continue
        if isinstance(flowable, PageBreak):
            close(None)
            result.append(flowable)
            continue
        start = _table_start(flowable)
        if start is not None:
            close(start)
            result.append(flowable)
            continue
        lead.append(flowable)
    close(None)
    return result
