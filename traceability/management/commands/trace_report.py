import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from traceability.models import ReportFormat
from traceability.reports.exports import table_csv
from traceability.reports.identity import utc_text
from traceability.reports.render import report_render
from traceability.reports.selectors import report_content_for_release
from traceability.reports.tables import TABLE_NAMES, TABLES
from traceability.selectors import product_get, release_get
from traceability.services.reports import trace_report_ensure, trace_report_file_open

FORMATS = ("pdf", "xlsx", "csv")


class Command(DomainCommand):
    help = (
        "Write the trace report of a release: the PDF (default), the XLSX workbook of its tables, or one "
        "table as CSV. A frozen release's PDF and XLSX are generated once and stored (audited); a draft is "
        "rendered from live data as a preview marked NOT FROZEN and not stored."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("version", help="Release version, e.g. 1.0.0")
        parser.add_argument("-o", "--output", required=True, help="File to write, e.g. report.pdf")
        parser.add_argument(
            "--format", choices=FORMATS, help="pdf, xlsx or csv (default: from the output file's suffix, else pdf)"
        )
        parser.add_argument("--table", choices=TABLE_NAMES, default="matrix", help="The table of a CSV export")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"])
        report_format = options["format"] or (output.suffix.lstrip(".").lower() if output.suffix else "pdf")
        if report_format not in FORMATS:
            raise CommandError(f"cannot tell the format from {output.name!r}; give --format pdf, xlsx or csv")
        folder = output.parent if str(output.parent) else Path(".")
        if not folder.is_dir():
            raise CommandError(f"cannot write {output}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
            raise CommandError(f"cannot write {output}: permission denied")
        actor = self.actor(options)
        product = product_get(options["product"])
        release = release_get(product=product, version=options["version"])
        name = f"{product.key} {release.version}"
        if report_format == "csv":
            content = report_content_for_release(release=release)
            data = table_csv(TABLES[options["table"]](content))
            summary = f"table {options['table']} of {name}" + ("" if content.frozen else " (draft: live data)")
        elif release.is_frozen:
            report = trace_report_ensure(release=release, report_format=report_format, actor=actor)
            with trace_report_file_open(report=report, actor=actor) as stored:
                data = stored.read()
            pages = f", {report.pages} pages" if report.pages else ""
            summary = (
                f"{report.document_id} revision {report.revision}{pages}, sha256 {report.sha256}; "
                f"stored as report #{report.pk}"
            )
        else:
            content = report_content_for_release(release=release)
            data = report_render(content, ReportFormat(report_format)).data
            summary = (
                f"{name} is a draft: preview from live data at {utc_text(content.generated_at)}, "
                "marked NOT FROZEN, not stored"
            )
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from exc
        self.stdout.write(f"wrote {output} ({len(data)} bytes): {summary}")
