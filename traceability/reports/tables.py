"""The report's tables as plain rows, for the CSV and XLSX exports: matrix, reverse matrix,
risk trace, gaps, SOUP, anomalies and the clause checklist.

Each table is an ``ExportTable`` (columns with a width hint, rows of text or numbers, the column
whose value colours the row); ``traceability.reports.exports`` turns tables into bytes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from traceability.reports.content import ReportContent

Value = str | int | float | None


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int = 14  # characters, a hint for spreadsheets


@dataclass
class ExportTable:
    name: str  # slug: file and sheet name
    title: str
    columns: list[Column]
    rows: list[list[Value]] = field(default_factory=list)
    status_column: int | None = None  # index of the column whose value names the row's status


def _join(values: list[str]) -> str:
    return "; ".join(values)


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
                _join(row.user_needs),
                _join(row.system_requirements),
                _join(row.parents),
                _join(row.risks),
                _join(row.risk_controls),
                _join(row.software_items),
                _join([test.key for test in row.tests]),
                _join([f"{test.key}: {test.result or 'no result'}" for test in row.tests]),
                _join(row.commits),
                _join(row.clauses),
                _join(row.suspect_links),
                _join(row.gaps),
            ]
        )
    return table


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
                _join(row.verifies),
                _join(row.validates),
                _join(row.suspect_links),
                _join(gaps.get(row.key, [])),
            ]
        )
    return table


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
                _join(risk.software_items),
                risk.initial.severity,
                risk.initial.probability,
                yes_no(risk.initial.acceptable),
                risk.residual.severity,
                risk.residual.probability,
                yes_no(risk.residual.acceptable),
                _join([control.key for control in risk.controls]),
                _join([f"{control.key}: {control.status}" for control in risk.controls]),
                _join(
                    [
                        f"{control.key}: {', '.join([test.key for test in control.tests] + control.implemented_by)}"
                        for control in risk.controls
                    ]
                ),
                risk.status,
                _join(gaps.get(risk.key, [])),
            ]
        )
    return table


def gap_table(content: ReportContent) -> ExportTable:
    table = ExportTable(
        "gaps",
        "Gaps",
        [
            Column("Rule", 30),
            Column("Severity", 10),
            Column("Items", 24),
            Column("Clauses", 24),
            Column("Message", 80),
        ],
        status_column=1,
    )
    for finding in content.gaps.findings:
        table.rows.append(
            [finding.rule, finding.severity, _join(list(finding.items)), _join(list(finding.clauses)), finding.message]
        )
    return table


def soup_table(content: ReportContent) -> ExportTable:
    table = ExportTable(
        "soup",
        "SOUP list",
        [
            Column("Key", 12),
            Column("Title", 30),
            Column("Version", 12),
            Column("Supplier", 20),
            Column("Licence", 14),
            Column("Risk level", 10),
            Column("Language", 12),
            Column("Website", 30),
            Column("Used by", 18),
            Column("Contributes to", 18),
            Column("Item status", 12),
            Column("Gaps", 30),
        ],
    )
    for soup in content.soup:
        table.rows.append(
            [
                soup.key,
                soup.title,
                soup.version,
                soup.supplier,
                soup.licence,
                soup.risk_level,
                soup.language,
                soup.website,
                _join(soup.used_by),
                _join(soup.risks),
                soup.item_status,
                _join(soup.gaps),
            ]
        )
    return table


def anomaly_table(content: ReportContent) -> ExportTable:
    table = ExportTable(
        "anomalies",
        "Anomalies",
        [
            Column("Key", 12),
            Column("Title", 30),
            Column("Description", 50),
            Column("State", 10),
            Column("Residual", 9),
            Column("Found in", 12),
            Column("Evaluation", 50),
            Column("Proposed correction", 40),
            Column("Justification for delay", 40),
            Column("Affects", 18),
            Column("Resolved by", 18),
            Column("Item status", 12),
            Column("Gaps", 30),
        ],
    )
    for anomaly in content.anomalies:
        table.rows.append(
            [
                anomaly.key,
                anomaly.title,
                anomaly.text,
                anomaly.state,
                "yes" if anomaly.is_residual else "no",
                anomaly.found_in,
                anomaly.evaluation,
                anomaly.proposed_correction,
                anomaly.justification_for_delay,
                _join(anomaly.affects),
                _join(anomaly.resolved_by),
                anomaly.item_status,
                _join(anomaly.gaps),
            ]
        )
    return table


def clause_table(content: ReportContent) -> ExportTable:
    table = ExportTable(
        "clauses",
        "Clause checklist",
        [
            Column("Standard", 26),
            Column("Clause", 10),
            Column("Title", 50),
            Column("Heading", 9),
            Column("Status", 14),
            Column("Evidence", 30),
            Column("Evidence titles", 60),
        ],
        status_column=4,
    )
    for clause in content.clauses:
        status = "heading" if clause.is_heading else "evidenced" if clause.evidence else "no_evidence"
        table.rows.append(
            [
                clause.standard,
                clause.number,
                clause.title,
                "yes" if clause.is_heading else "no",
                status,
                _join([key for key, _ in clause.evidence]),
                _join([title for _, title in clause.evidence]),
            ]
        )
    return table


TABLES: dict[str, Callable[[ReportContent], ExportTable]] = {
    "matrix": matrix_table,
    "reverse": reverse_table,
    "risks": risk_table,
    "gaps": gap_table,
    "soup": soup_table,
    "anomalies": anomaly_table,
    "clauses": clause_table,
}
TABLE_NAMES = tuple(TABLES)


def export_tables(content: ReportContent, names: tuple[str, ...] = TABLE_NAMES) -> list[ExportTable]:
    return [TABLES[name](content) for name in names]
