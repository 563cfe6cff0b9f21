import json
from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from traceability.graph.selectors import gaps_for_release
from traceability.selectors import product_get, release_get


class Command(DomainCommand):
    requires_system_checks: list[str] = []  # read-only report: start fast (CI calls it)
    help = (
        "List the gaps of a product (of a release: from its baseline when frozen). "
        "Exits with code 1 when an error-level gap exists, so CI can stop on it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("--release", metavar="VERSION", help="Release version (default: the live graph)")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        release = release_get(product=product, version=options["release"]) if options["release"] else None
        graph, report = gaps_for_release(product=product, release=release)
        if options["format"] == "json":
            findings = [finding.as_dict() for finding in report.findings]
            self.stdout.write(json.dumps(findings, indent=2, ensure_ascii=False))
        else:
            if release is None:
                where = f"{product.key} (live)"
            elif graph.is_frozen and graph.release is not None:
                where = f"{product.key} {release.version} (frozen, baseline {graph.release.baseline_sha256[:12]})"
            else:
                where = f"{product.key} {release.version} (not frozen)"
            width = max((len(finding.rule) for finding in report.findings), default=0)
            for finding in report.findings:
                deviation = f" [deviation {finding.deviation}]" if finding.deviation else ""
                self.stdout.write(f"{finding.severity:<7}  {finding.rule:<{width}}  {finding.message}{deviation}")
            deviations = f", {len(report.deviations)} signed deviations in force" if report.deviations else ""
            self.stdout.write(f"{where}: {report.errors} errors, {report.warnings} warnings{deviations}")
        for note in report.notes:
            self.stderr.write(f"not applied: {note}")
        if report.errors:
            raise CommandError(
                f"{report.errors} error-level gap{'s' if report.errors != 1 else ''} in {product.key}", returncode=1
            )
