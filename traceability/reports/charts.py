"""Charts of the PDF report, drawn with ``reportlab.graphics``: coverage bars, gap counts per
rule and the risk matrices (a coloured grid per the product's acceptability matrix, with the
number of risks in each cell)."""

from collections import Counter
from typing import Any

from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib.colors import Color

from traceability.reports.styles import (
    ACCEPTABLE_FILL,
    AMBER,
    BRAND,
    FAINT,
    GREEN,
    GREY,
    INK,
    MUTED,
    ORANGE,
    RED,
    RULE,
    UNACCEPTABLE_FILL,
)
from traceability.reports.text import FONT, FONT_BOLD, ellipsize, printable, text_width, wrap

Segment = tuple[str, int, Color]  # label, count, colour


def _drawing(width: float, height: float) -> Drawing:
    """A drawing whose initial font is the embedded one (reportlab's default, Helvetica, would
    otherwise be referenced by the document without being embedded)."""
    drawing = Drawing(width, height)
    drawing.initialFontName = FONT
    drawing.initialFontSize = 8
    return drawing


def _clip(text: str, font: str, size: float, width: float) -> str:
    return ellipsize(printable(text), font, size, width)


def stacked_bars(bars: list[tuple[str, list[Segment]]], *, width: float, bar_height: float = 16) -> Drawing:
    """One horizontal bar per line (label, segments), each segment as wide as its share, with the
    counts written inside and a legend under each bar."""
    label_width = 110.0
    row_height = bar_height + 22
    drawing = _drawing(width, row_height * len(bars))
    span = width - label_width - 10
    for index, (label, segments) in enumerate(bars):
        y = drawing.height - (index + 1) * row_height + 18
        drawing.add(String(0, y + 4, _clip(label, FONT_BOLD, 8.5, label_width - 6), fontName=FONT_BOLD, fontSize=8.5))
        total = sum(count for _, count, _ in segments)
        x = label_width
        if total == 0:
            drawing.add(Rect(x, y, span, bar_height, fillColor=None, strokeColor=RULE, strokeWidth=0.6))
            drawing.add(String(x + 4, y + 4.5, "nothing to count", fontName=FONT, fontSize=7.5, fillColor=MUTED))
            continue
        for _, count, colour in segments:
            if not count:
                continue
            share = span * count / total
            drawing.add(Rect(x, y, share, bar_height, fillColor=colour, strokeColor=None))
            text = str(count)
            if text_width(text, FONT_BOLD, 7.5) + 4 <= share:
                drawing.add(
                    String(
                        x + share / 2,
                        y + 4.5,
                        text,
                        fontName=FONT_BOLD,
                        fontSize=7.5,
                        fillColor=Color(1, 1, 1),
                        textAnchor="middle",
                    )
                )
            x += share
        legend_x = label_width
        for name, count, colour in segments:
            entry = f"{name} {count}"
            drawing.add(Rect(legend_x, y - 11, 7, 7, fillColor=colour, strokeColor=None))
            drawing.add(String(legend_x + 10, y - 10.2, entry, fontName=FONT, fontSize=7, fillColor=INK))
            legend_x += 10 + text_width(entry, FONT, 7) + 12
    return drawing


def coverage_chart(coverage: Any, *, width: float) -> Drawing:
    return stacked_bars(
        [
            (
                f"Requirements ({coverage.requirements})",
                [
                    ("verified", coverage.requirements_verified - coverage.requirements_not_applicable, GREEN),
                    ("not applicable", coverage.requirements_not_applicable, GREY),
                    ("suspect", coverage.requirements_suspect, AMBER),
                    ("not verified", coverage.requirements_not_verified, ORANGE),
                    ("failed", coverage.requirements_failed, RED),
                ],
            ),
            (
                f"Risks ({coverage.risks})",
                [
                    ("controlled and verified", coverage.risks_controlled_and_verified, GREEN),
                    (
                        "controlled, not yet verified",
                        coverage.risks_controlled - coverage.risks_controlled_and_verified,
                        ORANGE,
                    ),
                    ("not controlled", coverage.risks - coverage.risks_controlled, RED),
                ],
            ),
            (
                f"Tests ({coverage.tests})",
                [
                    ("passed", coverage.tests_passed, GREEN),
                    ("no result", coverage.tests_without_result, ORANGE),
                    ("failed", coverage.tests_failed, RED),
                ],
            ),
        ],
        width=width,
    )


def gap_chart(by_rule: list[dict[str, Any]], *, width: float) -> Drawing | None:
    """Horizontal bars of the rules that found something: red with an error among the findings
    (a signed deviation may have lowered some), amber with warnings only."""
    found = [entry for entry in by_rule if entry["count"]]
    if not found:
        return None
    label_width = 230.0
    row = 13.0
    drawing = _drawing(width, row * len(found) + 4)
    most = max(entry["count"] for entry in found)
    span = width - label_width - 80
    for index, entry in enumerate(found):
        y = drawing.height - (index + 1) * row
        label = _clip(entry["title"], FONT, 7.5, label_width - 8)
        drawing.add(String(0, y + 2.5, label, fontName=FONT, fontSize=7.5, fillColor=INK))
        colour = RED if entry["errors"] else AMBER
        length = max(span * entry["count"] / most, 1.5)
        drawing.add(Rect(label_width, y + 1, length, row - 4, fillColor=colour, strokeColor=None))
        counted = [
            f"{number} {name}{'s' if number != 1 else ''}"
            for number, name in ((entry["errors"], "error"), (entry["warnings"], "warning"))
            if number
        ]
        drawing.add(
            String(
                label_width + length + 4,
                y + 2.5,
                ", ".join(counted),
                fontName=FONT_BOLD,
                fontSize=7.5,
                fillColor=colour,
            )
        )
    return drawing


def _label_lines(text: str, font: str, size: float, width: float, *, lines: int = 2) -> list[str]:
    """``text`` wrapped to ``width`` in at most ``lines`` lines, the last ellipsized if needed."""
    wrapped = wrap(printable(text).replace("\n", " "), font, size, width)
    if len(wrapped) <= lines:
        return wrapped
    return [*wrapped[: lines - 1], _clip(" ".join(wrapped[lines - 1 :]), font, size, width)]


def risk_matrix(matrix: dict[str, Any], counts: Counter[tuple[int, int]], *, title: str, cell: float = 40.0) -> Drawing:
    """The acceptability grid, severity rows (highest on top) × probability columns, coloured
    acceptable / not acceptable, with the number of risks per cell; both axes titled, every
    level numbered and named (names wrapped to two lines, never cut short)."""
    severities = [str(name) for name in matrix.get("severities") or []]
    probabilities = [str(name) for name in matrix.get("probabilities") or []]
    acceptable = matrix.get("acceptable") or []
    axis = 12.0  # the rotated "severity" title
    label_width = 70.0
    left = axis + label_width
    header = 24.0
    footer = 36.0
    width = left + cell * len(probabilities) + 4
    height = header + cell * len(severities) + footer
    drawing = _drawing(width, height)
    drawing.add(
        String(
            left,
            height - 12,
            _clip(title, FONT_BOLD, 9.5, width - left),
            fontName=FONT_BOLD,
            fontSize=9.5,
            fillColor=BRAND,
        )
    )
    top = height - header
    for s_index in range(len(severities)):
        severity = len(severities) - s_index  # 1-based, highest first
        y = top - (s_index + 1) * cell
        names = _label_lines(f"{severity} {severities[severity - 1]}", FONT, 7, label_width - 6)
        first = y + cell / 2 - 2.5 + 4.2 * (len(names) - 1)
        for index, name in enumerate(names):
            drawing.add(
                String(left - 4, first - 8.4 * index, name, fontName=FONT, fontSize=7, fillColor=INK, textAnchor="end")
            )
        for p_index in range(len(probabilities)):
            probability = p_index + 1
            x = left + p_index * cell
            try:
                ok = bool(acceptable[severity - 1][probability - 1])
            except (IndexError, TypeError):
                ok = False
            drawing.add(
                Rect(
                    x,
                    y,
                    cell,
                    cell,
                    fillColor=ACCEPTABLE_FILL if ok else UNACCEPTABLE_FILL,
                    strokeColor=Color(1, 1, 1),
                    strokeWidth=1.2,
                )
            )
            count = counts.get((severity, probability), 0)
            if count:
                drawing.add(
                    String(
                        x + cell / 2,
                        y + cell / 2 - 4.5,
                        str(count),
                        fontName=FONT_BOLD,
                        fontSize=12,
                        fillColor=INK,
                        textAnchor="middle",
                    )
                )
    bottom = top - len(severities) * cell
    for p_index, name in enumerate(probabilities):
        x = left + p_index * cell + cell / 2
        drawing.add(
            String(x, bottom - 9, str(p_index + 1), fontName=FONT_BOLD, fontSize=7, fillColor=INK, textAnchor="middle")
        )
        for index, line in enumerate(_label_lines(name, FONT, 6, cell - 2)):
            drawing.add(
                String(
                    x, bottom - 17 - 6.8 * index, line, fontName=FONT, fontSize=6, fillColor=MUTED, textAnchor="middle"
                )
            )
    drawing.add(
        String(
            left + cell * len(probabilities) / 2,
            1,
            "probability →",
            fontName=FONT_BOLD,
            fontSize=7,
            fillColor=MUTED,
            textAnchor="middle",
        )
    )
    severity_title = String(0, 0, "severity →", fontName=FONT_BOLD, fontSize=7, fillColor=MUTED, textAnchor="middle")
    # rotated a quarter turn: reads bottom to top beside the severity labels
    drawing.add(Group(severity_title, transform=(0, 1, -1, 0, axis - 4, bottom + cell * len(severities) / 2)))
    drawing.add(Line(left, top, left + cell * len(probabilities), top, strokeColor=FAINT, strokeWidth=0.5))
    return drawing
