"""One entry point from report content to the bytes of a format."""

from dataclasses import dataclass
from datetime import UTC, datetime

from traceability.models import ReportFormat
from traceability.reports.content import ReportContent
from traceability.reports.exports import WorkbookInfo, tables_xlsx
from traceability.reports.identity import utc_text
from traceability.reports.pdf import report_pdf
from traceability.reports.tables import export_tables


def moment_of(value: str | None) -> datetime:
    if not value:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def workbook_info(content: ReportContent) -> WorkbookInfo:
    product, release = content.product, content.release
    if not content.frozen:
        approval = "NOT FROZEN – draft preview from live data"
    elif content.withdrawn:
        approval = f"WITHDRAWN: {content.withdrawn_reason}"
    elif content.approved:
        approval = "APPROVED"
    else:
        approval = "NOT APPROVED"
    facts = [
        ("Product", f"{product.key} – {product.name}"),
        ("Version", release.version),
        ("Release state", content.release_state),
        ("Approval", approval),
        ("Software safety class", content.safety_class),
        ("Git tag", release.git_tag),
        ("Commit SHA", release.commit_sha),
        ("Baseline SHA-256", content.baseline_sha256 or "not frozen"),
        ("Baseline taken at", utc_text(content.taken_at) if content.frozen else "not frozen"),
        ("Document ID", content.document_id),
        ("Revision", str(content.revision)),
        ("Previous release", content.previous_version or ("first release" if content.frozen else "")),
    ]
    for index, signature in enumerate(content.signatures, start=1):
        facts.append(
            (
                f"Signature {index}",
                f"{signature.printed_name} ({signature.username}), {utc_text(signature.signed_at)}, "
                f"{signature.manifest_label}" + (f": {signature.comment}" if signature.comment else ""),
            )
        )
    for deviation in content.deviations:
        facts.append(
            (
                f"Deviation {deviation.label}",
                f"{deviation.rule} ({deviation.scope}) → {deviation.severity}; signed by {deviation.printed_name} "
                f"({deviation.signer}), {utc_text(deviation.signed_at)}: {deviation.rationale}",
            )
        )
    return WorkbookInfo(
        title=f"Traceability tables {product.key} {release.version} ({content.document_id})",
        subject=f"baseline SHA-256 {content.baseline_sha256}" if content.frozen else "not frozen",
        moment=moment_of(content.report_date),
        facts=facts,
    )


@dataclass(frozen=True)
class Rendered:
    data: bytes
    pages: int | None = None  # PDF only


def report_render(content: ReportContent, report_format: str) -> Rendered:
    """The report in a stored format (PDF or XLSX)."""
    if report_format == ReportFormat.PDF:
        data, pages = report_pdf(content)
        return Rendered(data, pages)
    if report_format == ReportFormat.XLSX:
        return Rendered(tables_xlsx(export_tables(content), info=workbook_info(content)))
    raise ValueError(f"unknown report format {report_format!r}")
