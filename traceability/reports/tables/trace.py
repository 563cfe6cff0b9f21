"""The trace tables: matrix (software and system requirements), reverse matrix, risk trace."""

from traceability.reports.content import ReportContent
from traceability.reports.tables.model import Column, ExportTable, gaps_text, join, with_codes


def matrix_table(content: ReportContent) -> ExportTable:
    table = ExportTable(
        "matrix",
        "Traceability matrix",
        [
            Column("Key", 12),
            Column("Kind", 20),
            Column("Title", 40),
            Column("Text", 60),
            Column("Item status", 12),
            Column("Revision", 9),
            Column("Status", 14),
            Column("Reason", 40),
            Column("Justification", 30),
            Column("User needs", 18),
            Column("System requirements", 20),
            Column("Derived from", 18),
            Column("Risks", 16),
            Column("Risk controls", 16),
            Column("Software items", 18),
            Column("Tests", 18),
            Column("Test results", 30),
            Column("Commits", 20),
            Column("Clauses", 24),
            Column("Suspect links", 30),
            Column("Gaps", 30),
        ],
        status_column=6,
    )
    for row in [*content.matrix, *content.system_matrix]:
        table.rows.append(
            [
                row.key,
                row.kind,
                row.title,
                content.text_of(row.key),
                row.item_status,
                row.revision,
                row.status,
                row.reason,
                row.justification,
                join(row.user_needs),
                join(row.system_requirements),
                join(row.parents),
                join(row.risks),
                join(row.risk_controls),
                join(row.software_items),
                join([test.key for test in row.tests]),
                join([f"{test.key}: {test.result or 'no result'}" for test in row.tests]),
                join(row.commits),
                join(row.clauses),
                join(row.suspect_links),
                gaps_text(row.gaps, content.gaps.marks_of(row.key)),
            ]
        )
    return with_codes(table)


def reverse_table(content: ReportContent) -> ExportTable:
    table = ExportTable(
        "reverse",
        "Reverse matrix",
        [
            Column("Key", 12),
            Column("Title", 40),
            Column("Item status", 12),
            Column("Level", 12),
            Column("Test ID", 36),
            Column("Status", 12),
            Column("Result", 16),
            Column("Run version", 12),
            Column("Run at", 22),
            Column("Verifies", 24),
            Column("Validates", 18),
            Column("Suspect links", 30),
            Column("Gaps", 30),
        ],
        status_column=5,
    )
    gaps = content.gaps_by_item
    for row in content.reverse:
        table.rows.append(
            [
                row.key,
                row.title,
                row.item_status,
                row.level,
                row.test_id,
                row.status,
                row.result,
                row.run_version,
                row.run_at,
                join(row.verifies),
                join(row.validates),
                join(row.suspect_links),
                gaps_text(gaps.get(row.key, []), content.gaps.marks_of(row.key)),
            ]
        )
    return with_codes(table)


def risk_table(content: ReportContent) -> ExportTable:
    table = ExportTable(
        "risks",
        "Risk trace",
        [
            Column("Key", 12),
            Column("Title", 30),
            Column("Hazard", 30),
            Column("Sequence of events", 36),
            Column("Hazardous situation", 36),
            Column("Harm", 26),
            Column("Contributors", 18),
            Column("Initial severity", 10),
            Column("Initial probability", 10),
            Column("Initial acceptable", 10),
            Column("Residual severity", 10),
            Column("Residual probability", 10),
            Column("Residual acceptable", 10),
            Column("Risk controls", 18),
            Column("Control status", 30),
            Column("Verified through", 30),
            Column("Status", 22),
            Column("Gaps", 30),
        ],
        status_column=16,
    )
    gaps = content.gaps_by_item

    def yes_no(value: bool | None) -> str:
        return "" if value is None else "yes" if value else "no"

    for risk in content.risks:
        table.rows.append(
            [
                risk.key,
                risk.title,
                risk.hazard,
                risk.sequence_of_events,
                risk.hazardous_situation,
                risk.harm,
                join(risk.software_items),
                risk.initial.severity,
                risk.initial.probability,
                yes_no(risk.initial.acceptable),
                risk.residual.severity,
                risk.residual.probability,
                yes_no(risk.residual.acceptable),
                join([control.key for control in risk.controls]),
                join([f"{control.key}: {control.status}" for control in risk.controls]),
                join(
                    [
                        f"{control.key}: {', '.join([test.key for test in control.tests] + control.implemented_by)}"
                        for control in risk.controls
                    ]
                ),
                risk.status,
                gaps_text(gaps.get(risk.key, []), content.gaps.marks_of(risk.key)),
            ]
        )
    return with_codes(table)
