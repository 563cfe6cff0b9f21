"""Risk management: the initial and residual risk matrices and the risk trace (hazard →
hazardous situation → harm → risk control → verification)."""

from reportlab.platypus import Flowable, Table, TableStyle

from traceability.graph.risk import RiskLevel
from traceability.reports.charts import risk_matrix
from traceability.reports.content import ReportContent
from traceability.reports.grid import Cell, GridRows, GridSpec
from traceability.reports.layout import TABLE_FONT, Outline, block, legend, note
from traceability.reports.sections.common import gap_flag, gap_lines, key_cell, keys, muted, spec, test_lines
from traceability.reports.styles import (
    ACCEPTABLE_FILL,
    GREEN,
    INK,
    MUTED,
    RED,
    RISK_STATUS,
    ROW_STATUS,
    UNACCEPTABLE_FILL,
)
from traceability.reports.text import FONT_BOLD, FONT_ITALIC

RISK_COLUMNS = (
    ("Risk", 58),
    ("Hazard", 84),
    ("Sequence of events and hazardous situation", 116),
    ("Harm", 80),
    ("Initial risk", 64),
    ("Risk controls", 116),
    ("Verification of the controls", 106),
    ("Residual risk", 64),
    ("Status and gaps", 84),  # wide enough for "residual risk unacceptable" without breaking a word
)


def level_lines(grid: GridSpec, column: int, level: RiskLevel) -> Cell:
    if level.acceptable is None:
        return grid.lines(column, "outside the risk matrix", font=FONT_BOLD, color=RED)
    lines = grid.lines(column, f"S{level.severity} {level.severity_name}")
    lines += grid.lines(column, f"P{level.probability} {level.probability_name}")
    if level.acceptable:
        lines += grid.lines(column, "acceptable", font=FONT_BOLD, color=GREEN)
    else:
        lines += grid.lines(column, "not acceptable", font=FONT_BOLD, color=RED)
    return lines


def risk_management(content: ReportContent, outline: Outline) -> list[Flowable]:
    story: list[Flowable] = [outline.section("Risk management")]
    matrix = content.product.risk_matrix
    story.append(outline.subsection("Initial and residual risk"))
    story += block(
        note(
            "The product's risk-acceptability matrix (severity × probability); each cell shows how many risk records "
            "fall in it before and after their risk controls. Green cells are acceptable, red cells are not. Residual "
            "values default to the initial ones when a risk record gives none."
        )
    )
    initial = risk_matrix(matrix, content.risk_cells("initial"), title="Initial risk (before control)")
    residual = risk_matrix(matrix, content.risk_cells("residual"), title="Residual risk (after control)")
    story += block(
        Table(
            [[initial, residual]],
            hAlign="LEFT",
            style=TableStyle(
                [TABLE_FONT, ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 40)]
            ),
        ),
        legend([("acceptable", ACCEPTABLE_FILL, INK), ("not acceptable", UNACCEPTABLE_FILL, INK)]),
    )
    outside = [
        risk.key for risk in content.risks if risk.initial.acceptable is None or risk.residual.acceptable is None
    ]
    if outside:
        story += block(
            note(f"Not counted in a cell (severity or probability missing or outside the matrix): {keys(outside)}.")
        )
    story.append(outline.subsection("Risk trace"))
    story += block(
        note(
            "IEC 62304 7.3.3: each risk from its hazard through the hazardous situation and harm to the risk controls "
            "and their verification in this release. A risk control without a test of its own is verified through "
            "the software requirements that implement it."
        ),
        legend([(label, fill, ink) for fill, ink, label in RISK_STATUS.values()]),
    )
    if not content.risks:
        return story + block(note("No risk records in this release."))
    grid = spec(RISK_COLUMNS)
    rows = GridRows(grid)
    gaps = content.gaps_by_item
    for risk in content.risks:
        fill, ink, label = RISK_STATUS.get(risk.status, (None, INK, risk.status))
        controls: Cell = []
        verification: Cell = []
        for control in risk.controls:
            _, control_ink, control_label = ROW_STATUS.get(control.status, (None, INK, control.status))
            controls += grid.lines(5, f"{control.key} {control.title}", font=FONT_BOLD)
            controls += muted(grid, 5, control.control_type.replace("_", " "))
            controls += grid.lines(5, control_label, color=control_ink)
            verification += grid.lines(6, control.key, font=FONT_BOLD, color=MUTED)
            verification += test_lines(grid, 6, control.tests)
            if control.implemented_by:
                verification += muted(grid, 6, f"via {keys(control.implemented_by)}")
            if control.justification:
                verification += grid.lines(6, f"not applicable: {control.justification}", font=FONT_ITALIC, color=MUTED)
            elif not control.tests and not control.implemented_by:
                verification += grid.lines(6, "no verification", font=FONT_BOLD, color=RED)
        if not risk.controls:
            controls = grid.lines(5, "no risk control", font=FONT_ITALIC, color=MUTED)
        situation = grid.lines(2, risk.sequence_of_events, color=MUTED) + grid.lines(2, risk.hazardous_situation)
        contributors = muted(grid, 1, f"from: {keys(risk.software_items)}" if risk.software_items else "")
        risk_gaps = gaps.get(risk.key, [])
        rows.add(
            [
                key_cell(grid, 0, risk.key, status=risk.item_status) + grid.lines(0, risk.title, color=MUTED),
                grid.lines(1, risk.hazard) + contributors,
                situation,
                grid.lines(3, risk.harm),
                level_lines(grid, 4, risk.initial),
                controls,
                verification,
                level_lines(grid, 7, risk.residual),
                grid.lines(8, label, font=FONT_BOLD, color=ink)
                + gap_lines(grid, 8, risk_gaps, content.gaps.marks_of(risk.key)),
            ],
            label=risk.key,
            fill=fill,
            flag=gap_flag(risk_gaps, content.gaps.marks_of(risk.key)),
        )
    return story + block(rows.flowable())
