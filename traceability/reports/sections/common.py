"""Cell helpers shared by the sections' grids."""

from collections.abc import Iterable, Mapping, Sequence

from reportlab.lib.colors import Color

from traceability.graph.findings import GapMark
from traceability.graph.matrix import TestCell
from traceability.reports.grid import Cell, GridColumn, GridSpec
from traceability.reports.styles import (
    AMBER,
    AMBER_FILL,
    FRAME_HEIGHT,
    GREEN,
    GREY,
    INK,
    MUTED,
    ORANGE,
    RED,
    RED_FILL,
)
from traceability.reports.text import FONT, FONT_BOLD, FONT_ITALIC


def spec(columns: Sequence[tuple[str, float]]) -> GridSpec:
    return GridSpec([GridColumn(title, width) for title, width in columns], max_height=FRAME_HEIGHT)


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def keys(values: Iterable[str]) -> str:
    return ", ".join(values)


# Short names of the gap rules for table cells; the summary lists them beside the rules' titles.
GAP_LABELS = {
    "requirement_without_parent": "no parent",
    "requirement_without_verification": "no verification",
    "requirement_without_architecture": "no software item",
    "software_item_without_design": "no detailed design",
    "test_without_requirement": "tests nothing",
    "test_without_result": "no test result",
    "test_failed": "test failed",
    "risk_not_controlled": "risk not controlled",
    "risk_control_not_verified": "control not verified",
    "residual_risk_unacceptable": "residual risk unacceptable",
    "suspect_link": "suspect link",
    "soup_without_version": "no SOUP version",
    "anomaly_not_evaluated": "not evaluated",
    "item_not_approved": "not approved",
    "clause_without_evidence": "no evidence",
}


def rule_name(slug: str) -> str:
    return GAP_LABELS.get(slug, slug.replace("_", " "))


def _is_error(marks: Mapping[str, GapMark], slug: str) -> bool:
    mark = marks.get(slug)
    return mark is not None and mark.severity == "error"


def gap_lines(grid: GridSpec, column: int, gaps: Sequence[str], marks: Mapping[str, GapMark]) -> Cell:
    """A line per gap rule that names the item: red for an error, amber for a warning; a severity
    a signed deviation lowered says so ("gap: test failed – warning (deviation DEV-3)")."""
    lines: Cell = []
    for slug in gaps:
        mark = marks.get(slug)
        colour = RED if _is_error(marks, slug) else AMBER
        text = f"gap: {rule_name(slug)}"
        if mark is not None and mark.deviation:
            text += f" – {mark.label}"
        lines += grid.lines(column, text, font=FONT_BOLD, color=colour)
    return lines


def gap_flag(gaps: Sequence[str], marks: Mapping[str, GapMark]) -> Color | None:
    """The colour of the bar marking a row with gaps (None without gaps)."""
    if not gaps:
        return None
    return RED if any(_is_error(marks, slug) for slug in gaps) else AMBER


def gap_fill(gaps: Sequence[str], marks: Mapping[str, GapMark]) -> Color | None:
    """Row background of a list row (SOUP, anomaly) with gaps."""
    flag = gap_flag(gaps, marks)
    return None if flag is None else RED_FILL if flag is RED else AMBER_FILL


def test_lines(grid: GridSpec, column: int, tests: Sequence[TestCell]) -> Cell:
    """A verifying test per line: key, verdict mark and result, coloured by verdict."""
    lines: Cell = []
    for test in tests:
        if test.verdict == "pass":
            mark, colour = "✓", GREEN
        elif test.verdict == "fail":
            mark, colour = "✗", RED
        else:
            mark, colour = "–", ORANGE
        result = (test.result or "no result").replace("_", " ")
        if test.run_version:
            result += f" ({test.run_version})"
        lines += grid.lines(column, f"{test.key} {mark} {result}", color=colour)
        if test.suspect:
            lines += grid.lines(column, "  suspect link", font=FONT_ITALIC, color=AMBER)
    return lines


def muted(grid: GridSpec, column: int, text: str) -> Cell:
    return grid.lines(column, text, color=MUTED) if text else []


def status_cell(grid: GridSpec, column: int, label: str, colour: Color) -> Cell:
    return grid.lines(column, label, font=FONT_BOLD, color=colour)


def key_cell(grid: GridSpec, column: int, key: str, *, revision: int | None = None, status: str = "") -> Cell:
    lines = grid.lines(column, key, font=FONT_BOLD, color=INK)
    if revision is not None:
        lines += grid.lines(column, f"rev. {revision}", color=MUTED)
    if status and status != "approved":
        lines += grid.lines(
            column, status.replace("_", " "), font=FONT_ITALIC, color=AMBER if status != "obsolete" else GREY
        )
    return lines


def title_text(grid: GridSpec, column: int, title: str, text: str = "") -> Cell:
    return grid.lines(column, title, font=FONT_BOLD) + grid.lines(column, text, font=FONT)


def missing(grid: GridSpec, column: int, text: str = "missing") -> Cell:
    return grid.lines(column, text, font=FONT_BOLD, color=RED)
