"""``Grid``: the report's table flowable for long tables (thousands of rows).

A platypus ``Table`` wraps every cell again each time it splits at a page end, which costs
seconds per thousand rows. A ``Grid`` wraps each cell once (``text.wrap``), knows every row's
height up front (prefix sums), finds a page break by bisection and draws a page's rows with one
text object. Its header row repeats on every page. A row taller than what is left on a page is
split between lines when it is tall (more than a quarter of a page) and moved to the next page
otherwise. Rows are cut only while the grid is laid out, against the space actually left on the
page, so a row taller than a page (a 20-page requirement text) becomes one continuous piece per
page, each continuation headed by its label ("SRS-012" / "(continued)", wrapped to the first
column). Cell text is drawn as plain strings: nothing in it is ever read as markup.
"""

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from reportlab.lib.colors import Color
from reportlab.platypus import Flowable

from traceability.reports.styles import GRID_RULE, HEADER_FILL, HEADER_INK, INK, MUTED
from traceability.reports.text import FONT, FONT_BOLD, FONT_ITALIC, fonts_register, runs, wrap


@dataclass(slots=True)
class Line:
    text: str
    font: str = FONT
    color: Color = INK


Cell = list[Line]


@dataclass(slots=True)
class GridColumn:
    title: str
    width: float


@dataclass(slots=True)
class GridRow:
    cells: list[Cell]
    label: str = ""  # names the row on its continuation pieces ("SRS-1 (continued)")
    fill: Color | None = None  # background (row status)
    flag: Color | None = None  # a bar at the left edge (the row has gaps)
    height: float = 0.0


@dataclass
class GridSpec:
    """Columns and type sizes of a grid, and the tallest piece of row a page can hold."""

    columns: list[GridColumn]
    max_height: float  # frame height: a row taller than a quarter of it may be cut at a page end
    size: float = 6.8
    leading: float = 8.3
    padding: float = 2.6
    header_lines: list[Cell] = field(default_factory=list)
    header_height: float = 0.0

    def __post_init__(self) -> None:
        fonts_register()
        self.header_lines = [
            [Line(text, FONT_BOLD, HEADER_INK) for text in wrap(column.title, FONT_BOLD, self.size, self.inner(index))]
            for index, column in enumerate(self.columns)
        ]
        self.header_height = self.height_of(self.header_lines)

    @property
    def width(self) -> float:
        return sum(column.width for column in self.columns)

    def inner(self, column: int) -> float:
        return self.columns[column].width - 2 * self.padding

    def height_of(self, cells: Sequence[Cell]) -> float:
        return max((len(cell) for cell in cells), default=0) * self.leading + 2 * self.padding

    def lines(self, column: int, text: object, *, font: str = FONT, color: Color = INK) -> Cell:
        """``text`` wrapped to the column, as lines in one font and colour."""
        return [Line(line, font, color) for line in wrap(text, font, self.size, self.inner(column))]

    def fit(self, space: float) -> int:
        """How many text lines fit a row piece of height ``space``."""
        return max(int((space - 2 * self.padding + 0.01) // self.leading), 0)


class GridRows:
    """The rows of a grid, built once and shared by every page piece of the grid."""

    def __init__(self, spec: GridSpec) -> None:
        self.spec = spec
        self.rows: list[GridRow] = []

    def add(self, cells: list[Cell], *, label: str = "", fill: Color | None = None, flag: Color | None = None) -> None:
        spec = self.spec
        cells = [cell if cell else [] for cell in cells]
        self.rows.append(GridRow(cells=cells, label=label, fill=fill, flag=flag, height=spec.height_of(cells)))

    def __len__(self) -> int:
        return len(self.rows)

    def flowable(self) -> "Grid":
        prefix = [0.0, *accumulate(row.height for row in self.rows)]
        return Grid(self.spec, self.rows, prefix, 0, len(self.rows))


def split_row(spec: GridSpec, row: GridRow, lines: int) -> tuple[GridRow, GridRow]:
    """Cut a row after ``lines`` text lines; the second piece is labelled as a continuation (the
    label wrapped to the first column, so it never runs into the next one)."""
    lines = max(lines, 1)
    first_cells = [cell[:lines] for cell in row.cells]
    rest_cells = [cell[lines:] for cell in row.cells]
    if row.label:
        rest_cells[0] = [*continuation_label(spec, row.label), *rest_cells[0]]
    first = GridRow(first_cells, row.label, row.fill, row.flag, spec.height_of(first_cells))
    rest = GridRow(rest_cells, row.label, row.fill, row.flag, spec.height_of(rest_cells))
    return first, rest


def continuation_label(spec: GridSpec, label: str) -> Cell:
    """The label heading a continuation piece: "SRS-012 (continued)", wrapped to the first column
    (breaking before "(continued)" when the two do not fit on one line)."""
    return spec.lines(0, f"{label} (continued)", font=FONT_ITALIC, color=MUTED)


class Grid(Flowable):
    """One piece of a grid: an optional leading row piece, ``rows[start:end]``, an optional
    trailing row piece; drawn under the repeated header."""

    def __init__(
        self,
        spec: GridSpec,
        rows: list[GridRow],
        prefix: list[float],
        start: int,
        end: int,
        lead: GridRow | None = None,
        tail: GridRow | None = None,
    ) -> None:
        super().__init__()
        self.spec, self.rows, self.prefix = spec, rows, prefix
        self.start, self.end, self.lead, self.tail = start, end, lead, tail
        self.width = spec.width
        self.height = (
            spec.header_height
            + prefix[end]
            - prefix[start]
            + (lead.height if lead else 0.0)
            + (tail.height if tail else 0.0)
        )

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def start_height(self, rows: int = 2) -> float:
        """The height of the header and the first ``rows`` rows as they can start a page: a row
        that may be cut at the page end counts with the quarter page it needs at most."""
        spec = self.spec
        first = self._visible()[:rows]
        return spec.header_height + sum(min(row.height, spec.max_height / 4) for row in first)

    def _piece(self, start: int, end: int, lead: GridRow | None = None, tail: GridRow | None = None) -> "Grid":
        return Grid(self.spec, self.rows, self.prefix, start, end, lead, tail)

    def _cut(self, row: GridRow, space: float) -> tuple[GridRow, GridRow] | None:
        """Split a tall row to fill ``space``; None when the row should move whole."""
        spec = self.spec
        lines = spec.fit(space)
        if row.height <= spec.max_height / 4 or lines < 3:
            return None
        return split_row(spec, row, lines)

    def split(self, availWidth: float, availHeight: float) -> list[Any]:
        spec, prefix = self.spec, self.prefix
        space = availHeight - spec.header_height
        if space <= spec.leading:
            return []
        lead = self.lead
        used = 0.0
        if lead is not None:
            if lead.height > space:
                cut = self._cut(lead, space)
                if cut is None:
                    return []
                return [
                    self._piece(self.start, self.start, lead=cut[0]),
                    self._piece(self.start, self.end, lead=cut[1]),
                ]
            used = lead.height
        limit = prefix[self.start] + space - used
        stop = bisect_right(prefix, limit + 1e-6, self.start, self.end + 1) - 1  # rows[start:stop] fit
        if stop >= self.end:
            if self.tail is None or used + prefix[self.end] - prefix[self.start] + self.tail.height <= space:
                return [self]
            left = space - used - (prefix[self.end] - prefix[self.start])
            cut = self._cut(self.tail, left)
            if cut is None:
                return [self._piece(self.start, self.end, lead=lead), self._piece(self.end, self.end, lead=self.tail)]
            return [self._piece(self.start, self.end, lead, cut[0]), self._piece(self.end, self.end, lead=cut[1])]
        left = space - used - (prefix[stop] - prefix[self.start])
        cut = self._cut(self.rows[stop], left)
        if cut is not None:
            return [self._piece(self.start, stop, lead, cut[0]), self._piece(stop + 1, self.end, cut[1], self.tail)]
        if lead is None and stop == self.start:
            return []  # not even one row: the whole grid moves to the next page
        return [self._piece(self.start, stop, lead), self._piece(stop, self.end, None, self.tail)]

    def _visible(self) -> list[GridRow]:
        rows = self.rows[self.start : self.end]
        if self.lead is not None:
            rows.insert(0, self.lead)
        if self.tail is not None:
            rows.append(self.tail)
        return rows

    def draw(self) -> None:
        spec, canvas = self.spec, self.canv
        columns = spec.columns
        width, pad, leading, size = spec.width, spec.padding, spec.leading, spec.size
        lefts = [0.0, *accumulate(column.width for column in columns)]
        top = self.height
        rows = self._visible()
        # backgrounds: header, row fills, gap flags
        canvas.setFillColor(HEADER_FILL)
        canvas.rect(0, top - spec.header_height, width, spec.header_height, stroke=0, fill=1)
        y = top - spec.header_height
        for row in rows:
            if row.fill is not None:
                canvas.setFillColor(row.fill)
                canvas.rect(0, y - row.height, width, row.height, stroke=0, fill=1)
            if row.flag is not None:
                canvas.setFillColor(row.flag)
                canvas.rect(0, y - row.height, 2.2, row.height, stroke=0, fill=1)
            y -= row.height
        # rules
        canvas.setStrokeColor(GRID_RULE)
        canvas.setLineWidth(0.35)
        path = canvas.beginPath()
        y = top - spec.header_height
        for row in rows:
            y -= row.height
            path.moveTo(0, y)
            path.lineTo(width, y)
        for left in lefts[1:-1]:
            path.moveTo(left, 0)
            path.lineTo(left, top - spec.header_height)
        canvas.drawPath(path, stroke=1, fill=0)
        canvas.rect(0, 0, width, top, stroke=1, fill=0)
        # text, one text object for the whole piece
        text = canvas.beginText()
        font, color = "", None
        baseline = size * 0.8
        y = top
        for cells, height in [(spec.header_lines, spec.header_height)] + [(row.cells, row.height) for row in rows]:
            for index, cell in enumerate(cells):
                line_y = y - pad - baseline
                x = lefts[index] + pad
                for line in cell:
                    if line.font != font:
                        font = line.font
                        text.setFont(font, size, leading)
                    if line.color is not color:
                        color = line.color
                        text.setFillColor(color)
                    text.setTextOrigin(x, line_y)
                    if line.text.isascii():
                        text.textOut(line.text)
                    else:  # characters the font lacks are set in a fallback font
                        for piece, name in runs(line.text, line.font):
                            if name != font:
                                font = name
                                text.setFont(font, size, leading)
                            text.textOut(piece)
                    line_y -= leading
            y -= height
        canvas.drawText(text)
