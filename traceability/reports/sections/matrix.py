"""The traceability matrix (software and system requirements) and the reverse matrix (tests →
requirements)."""

from reportlab.platypus import Flowable

from traceability.graph.matrix import MatrixRow
from traceability.reports.content import ReportContent
from traceability.reports.grid import GridRows
from traceability.reports.layout import Outline, block, legend, note
from traceability.reports.sections.common import (
    gap_flag,
    gap_lines,
    key_cell,
    keys,
    muted,
    spec,
    status_cell,
    test_lines,
    title_text,
)
from traceability.reports.styles import AMBER, GREY, INK, MUTED, RED, ROW_STATUS, TEST_STATUS
from traceability.reports.text import FONT_BOLD, FONT_ITALIC

MATRIX_COLUMNS = (
    ("Key", 54),
    ("Requirement", 220),
    ("Derived from", 80),
    ("Risk controls and risks", 76),
    ("Software items", 58),
    ("Verification (result in this release)", 110),
    ("Clauses", 74),
    ("Status and gaps", 100),
)
REVERSE_COLUMNS = (
    ("Test", 54),
    ("Test case", 244),
    ("Verifies", 120),
    ("Validates", 80),
    ("Result in this release", 150),
    ("Status and gaps", 126),
)


def _legend() -> Flowable:
    return legend([(label, fill, ink) for fill, ink, label in ROW_STATUS.values()])


def matrix_grid(content: ReportContent, rows: list[MatrixRow]) -> Flowable:
    grid = spec(MATRIX_COLUMNS)
    grid_rows = GridRows(grid)
    for row in rows:
        marks = content.gaps.marks_of(row.key)
        fill, ink, label = ROW_STATUS.get(row.status, (None, INK, row.status))
        upstream = grid.lines(2, keys(row.parents)) if row.parents else grid.lines(2, "no parent", color=MUTED)
        needs = [key for key in row.user_needs if key not in row.parents]
        if needs:
            upstream += muted(grid, 2, f"needs: {keys(needs)}")
        others = [key for key in row.system_requirements if key not in row.parents]
        if others:
            upstream += muted(grid, 2, f"via: {keys(others)}")
        risks = grid.lines(3, keys(row.risk_controls)) + muted(
            grid, 3, f"risks: {keys(row.risks)}" if row.risks else ""
        )
        derived = content.derived_from(row.key) if row.kind == "system_requirement" else []
        if row.tests:
            verification = test_lines(grid, 5, row.tests)
        elif row.justification:
            verification = grid.lines(5, f"not applicable: {row.justification}", font=FONT_ITALIC, color=GREY)
        elif derived:
            verification = grid.lines(5, f"through {keys(derived)}", color=ink)
        else:
            verification = grid.lines(5, "no verifying test", font=FONT_BOLD, color=RED)
        status = status_cell(grid, 7, label, ink)
        for link in row.suspect_links:
            status += grid.lines(7, f"suspect: {link}", color=AMBER)
        status += gap_lines(grid, 7, row.gaps, marks)
        grid_rows.add(
            [
                key_cell(grid, 0, row.key, revision=row.revision, status=row.item_status),
                title_text(grid, 1, row.title, content.text_of(row.key)),
                upstream,
                risks,
                grid.lines(4, keys(row.software_items)),
                verification,
                grid.lines(6, "\n".join(content.clause_label(ref) for ref in row.clauses)),
                status,
            ],
            label=row.key,
            fill=fill,
            flag=gap_flag(row.gaps, marks),
        )
    return grid_rows.flowable()


def traceability_matrix(content: ReportContent, outline: Outline) -> list[Flowable]:
    story: list[Flowable] = [outline.section("Traceability matrix")]
    story += block(
        note(
            "One row per requirement of the release (obsolete items are left out), with what it derives from, the "
            "risk controls it implements, the software items that implement it, the tests that verify it and their "
            "result in this release, and the clauses it is evidence for. The row colour is its verification status; "
            "a bar at the left edge marks a row with gaps (red: an error, amber: warnings only), named by the short "
            "names of section 2.1."
        ),
        _legend(),
    )
    for title, rows in (("Software requirements", content.matrix), ("System requirements", content.system_matrix)):
        story.append(outline.subsection(title))
        if rows:
            story += block(matrix_grid(content, rows))
        else:
            story += block(note(f"No {title.lower()} in this release."))
    return story


def reverse_matrix(content: ReportContent, outline: Outline) -> list[Flowable]:
    story: list[Flowable] = [outline.section("Reverse matrix: tests → requirements")]
    story += block(
        note(
            "One row per test case: what it verifies and validates, and the result that counts for this release "
            "(the latest result of the runs bound to the release; a skipped test counts as no result)."
        ),
        legend([(label, fill, ink) for fill, ink, label in TEST_STATUS.values()]),
    )
    if not content.reverse:
        return story + block(note("No test cases in this release."))
    grid = spec(REVERSE_COLUMNS)
    grid_rows = GridRows(grid)
    gaps = content.gaps_by_item
    results = content.graph.results
    for row in content.reverse:
        fill, ink, label = TEST_STATUS.get(row.status, (None, INK, row.status))
        details = " · ".join(part for part in (row.level, row.test_id) if part)
        result = results.get(row.key)
        if result is not None:
            outcome = grid.lines(4, result.status.replace("_", " "), font=FONT_BOLD, color=ink)
            outcome += muted(
                grid, 4, f"run {result.run_name or result.run_id}, {result.run_version or result.run_commit_sha}"
            )
            outcome += muted(grid, 4, row.run_at.replace("T", " ")[:19] + " UTC" if row.run_at else "")
            if result.rationale:
                outcome += grid.lines(4, f"rationale: {result.rationale}", font=FONT_ITALIC, color=MUTED)
        else:
            outcome = grid.lines(4, "no result", font=FONT_BOLD, color=ink)
        status = status_cell(grid, 5, label, ink)
        for link in row.suspect_links:
            status += grid.lines(5, f"suspect: {link}", color=AMBER)
        item_gaps = gaps.get(row.key, [])
        status += gap_lines(grid, 5, item_gaps, content.gaps.marks_of(row.key))
        grid_rows.add(
            [
                key_cell(grid, 0, row.key, status=row.item_status),
                title_text(grid, 1, row.title) + muted(grid, 1, details),
                grid.lines(2, keys(row.verifies)) if row.verifies else grid.lines(2, "nothing", color=MUTED),
                grid.lines(3, keys(row.validates)),
                outcome,
                status,
            ],
            label=row.key,
            fill=fill,
            flag=gap_flag(item_gaps, content.gaps.marks_of(row.key)),
        )
    return story + block(grid_rows.flowable())
