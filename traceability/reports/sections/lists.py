"""SOUP list, known residual anomalies with their evaluation, and the clause compliance checklist."""

from reportlab.platypus import Flowable

from traceability.reports.content import ReportContent
from traceability.reports.grid import Cell, GridRows
from traceability.reports.layout import Outline, block, legend, note
from traceability.reports.sections.common import (
    gap_fill,
    gap_flag,
    gap_lines,
    key_cell,
    keys,
    missing,
    muted,
    spec,
    title_text,
)
from traceability.reports.styles import (
    GREEN,
    GREEN_FILL,
    HEADING_FILL,
    INK,
    RED,
    RED_FILL,
)
from traceability.reports.text import FONT_BOLD, FONT_ITALIC

SOUP_COLUMNS = (
    ("Key", 54),
    ("SOUP item", 156),
    ("Version", 70),
    ("Supplier", 96),
    ("Licence", 66),
    ("Language", 60),
    ("Risk level", 50),
    ("Used by", 80),
    ("Contributes to", 66),
    ("Gaps", 74),
)
ANOMALY_COLUMNS = (
    ("Key", 54),
    ("Anomaly", 196),
    ("State", 62),
    ("Evaluation (effect on safety)", 160),
    ("Correction / justification for delay", 150),
    ("Affects", 76),
    ("Gaps", 74),
)
RESOLVED_COLUMNS = (("Key", 54), ("Anomaly", 330), ("Found in", 100), ("Resolved by", 140), ("Affects", 148))
CLAUSE_COLUMNS = (("Clause", 62), ("Title", 250), ("Evidence", 380), ("Status", 80))


def soup_list(content: ReportContent, outline: Outline) -> list[Flowable]:
    story: list[Flowable] = [outline.section("SOUP list")]
    story += block(
        note(
            "Software of unknown provenance used by the release (IEC 62304 8.1.2, 5.3.3, 5.3.4, 7.1.3): its unique "
            "designation (version), supplier, licence, the software items that use it and the risks it contributes to."
        )
    )
    if not content.soup:
        return story + block(note("No SOUP items in this release."))
    grid = spec(SOUP_COLUMNS)
    rows = GridRows(grid)
    for soup in content.soup:
        marks = content.gaps.marks_of(soup.key)
        rows.add(
            [
                key_cell(grid, 0, soup.key, status=soup.item_status),
                grid.lines(1, soup.title, font=FONT_BOLD) + muted(grid, 1, soup.website),
                grid.lines(2, soup.version) if soup.version else missing(grid, 2),
                grid.lines(3, soup.supplier),
                grid.lines(4, soup.licence),
                grid.lines(5, soup.language),
                grid.lines(6, soup.risk_level),
                grid.lines(7, keys(soup.used_by)),
                grid.lines(8, keys(soup.risks)),
                gap_lines(grid, 9, soup.gaps, marks),
            ],
            label=soup.key,
            fill=gap_fill(soup.gaps, marks),
            flag=gap_flag(soup.gaps, marks),
        )
    return story + block(rows.flowable())


def anomaly_list(content: ReportContent, outline: Outline) -> list[Flowable]:
    story: list[Flowable] = [outline.section("Known residual anomalies")]
    residual = [row for row in content.anomalies if row.is_residual]
    resolved = [row for row in content.anomalies if not row.is_residual]
    story += block(
        note(
            "Anomalies that remain in the release (IEC 62304 5.8.2) with their evaluation (5.8.3): how each affects "
            "safety, the proposed correction and why it is deferred. An anomaly without an evaluation is a gap."
        )
    )
    story.append(outline.subsection("Residual anomalies"))
    if residual:
        grid = spec(ANOMALY_COLUMNS)
        rows = GridRows(grid)
        for anomaly in residual:
            marks = content.gaps.marks_of(anomaly.key)
            correction: Cell = grid.lines(4, anomaly.proposed_correction)
            if anomaly.justification_for_delay:
                correction += grid.lines(4, f"Delay: {anomaly.justification_for_delay}", font=FONT_ITALIC)
            rows.add(
                [
                    key_cell(grid, 0, anomaly.key, status=anomaly.item_status),
                    title_text(grid, 1, anomaly.title, anomaly.text),
                    grid.lines(2, anomaly.state or "open", font=FONT_BOLD)
                    + muted(grid, 2, f"found in {anomaly.found_in}" if anomaly.found_in else ""),
                    grid.lines(3, anomaly.evaluation) if anomaly.evaluation else missing(grid, 3, "not evaluated"),
                    correction,
                    grid.lines(5, keys(anomaly.affects)),
                    gap_lines(grid, 6, anomaly.gaps, marks),
                ],
                label=anomaly.key,
                fill=gap_fill(anomaly.gaps, marks),
                flag=gap_flag(anomaly.gaps, marks),
            )
        story += block(rows.flowable())
    else:
        story += block(note("No known residual anomaly in this release."))
    if resolved:
        story.append(outline.subsection("Anomalies resolved in this release"))
        grid = spec(RESOLVED_COLUMNS)
        rows = GridRows(grid)
        for anomaly in resolved:
            rows.add(
                [
                    key_cell(grid, 0, anomaly.key, status=anomaly.item_status),
                    grid.lines(1, anomaly.title),
                    grid.lines(2, anomaly.found_in),
                    grid.lines(3, keys(anomaly.resolved_by)),
                    grid.lines(4, keys(anomaly.affects)),
                ],
                label=anomaly.key,
            )
        story += block(rows.flowable())
    return story


def clause_checklist(content: ReportContent, outline: Outline) -> list[Flowable]:
    story: list[Flowable] = [outline.section("Clause compliance checklist")]
    safety_class = content.product.effective_safety_class
    story += block(
        note(
            f"Every clause of the product's standards that applies to software safety class {safety_class} "
            "(per the standards catalogue: numbers and short titles only), with the items of the release that are "
            "evidence for it. A clause without evidence is highlighted."
        ),
        legend([("evidenced", GREEN_FILL, GREEN), ("no evidence", RED_FILL, RED), ("heading", HEADING_FILL, INK)]),
    )
    groups = content.clause_standards()
    if not groups:
        return story + block(note("The product follows no standard in the catalogue, so there is no checklist."))
    for standard, clauses in groups:
        leaves = [clause for clause in clauses if not clause.is_heading]
        evidenced = sum(1 for clause in leaves if clause.evidence)
        story.append(outline.subsection(standard))
        story += block(
            note(f"{len(leaves)} applicable clauses: {evidenced} with evidence, {len(leaves) - evidenced} without.")
        )
        grid = spec(CLAUSE_COLUMNS)
        rows = GridRows(grid)
        for clause in clauses:
            if clause.is_heading:
                rows.add(
                    [grid.lines(0, clause.number, font=FONT_BOLD), grid.lines(1, clause.title, font=FONT_BOLD), [], []],
                    label=clause.number,
                    fill=HEADING_FILL,
                )
                continue
            evidence: Cell = []
            for key, title in clause.evidence:
                evidence += grid.lines(2, f"{key} {title}")
            rows.add(
                [
                    grid.lines(0, clause.number, font=FONT_BOLD),
                    grid.lines(1, clause.title),
                    evidence or grid.lines(2, "NO EVIDENCE", font=FONT_BOLD, color=RED),
                    grid.lines(3, "evidenced", font=FONT_BOLD, color=GREEN)
                    if clause.evidence
                    else grid.lines(3, "no evidence", font=FONT_BOLD, color=RED),
                ],
                label=clause.number,
                fill=None if clause.evidence else RED_FILL,
                flag=None if clause.evidence else RED,
            )
        story += block(rows.flowable())
    return story
