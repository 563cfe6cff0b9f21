"""The list tables: gaps, signed deviations, SOUP, anomalies, the clause checklist."""

from traceability.reports.content import ReportContent
from traceability.reports.identity import utc_text
from traceability.reports.tables.model import Column, ExportTable, gaps_text, join, mark_gaps, with_codes


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
            Column("Deviation", 12),
        ],
        status_column=1,
    )
    for index, finding in enumerate(content.gaps.findings):
        if finding.deviation:  # the label ("warning (deviation DEV-3)") is not a status slug: colour it here
            table.marks[(index, 1)] = finding.severity
        table.rows.append(
            [
                finding.rule,
                finding.severity_label,
                join(list(finding.items)),
                join(list(finding.clauses)),
                finding.message,
                finding.deviation,
            ]
        )
    return table


def deviation_table(content: ReportContent) -> ExportTable:
    """The signed deviations in force in the release's baseline (for a draft: now)."""
    table = ExportTable(
        "deviations",
        "Signed deviations",
        [
            Column("Deviation", 12),
            Column("Rule", 30),
            Column("Scope", 20),
            Column("Lowered to", 12),
            Column("Signed by", 24),
            Column("User", 14),
            Column("Signed at (UTC)", 22),
            Column("Rationale", 80),
            Column("Signed record (SHA-256)", 66),
        ],
    )
    for deviation in content.gaps.deviations:
        table.rows.append(
            [
                deviation.label,
                deviation.rule,
                deviation.scope,
                deviation.severity,
                deviation.printed_name,
                deviation.signer,
                utc_text(deviation.signed_at),
                deviation.rationale,
                deviation.sha256,
            ]
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
    for index, soup in enumerate(content.soup):
        marks = content.gaps.marks_of(soup.key)
        if not soup.version:
            table.marks[(index, 2)] = "missing"
        mark_gaps(table, index, soup.gaps, marks)
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
                join(soup.used_by),
                join(soup.risks),
                soup.item_status,
                gaps_text(soup.gaps, marks),
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
    for index, anomaly in enumerate(content.anomalies):
        marks = content.gaps.marks_of(anomaly.key)
        if anomaly.is_residual and not anomaly.evaluation:
            table.marks[(index, 6)] = "missing"
        mark_gaps(table, index, anomaly.gaps, marks)
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
                join(anomaly.affects),
                join(anomaly.resolved_by),
                anomaly.item_status,
                gaps_text(anomaly.gaps, marks),
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
                join([key for key, _ in clause.evidence]),
                join([title for _, title in clause.evidence]),
            ]
        )
    return with_codes(table)
