from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from traceability.graph.matrix import DEFAULT_ROOT_KIND, ROOT_KINDS
from traceability.graph.selectors import matrix_for_release
from traceability.reports.matrix_files import FORMATS, matrix_export
from traceability.selectors import product_get, release_get


class Command(DomainCommand):
    requires_system_checks: list[str] = []  # read-only report: start fast (CI calls it)
    help = (
        "Write the traceability matrix of a product (of a release: from its baseline when frozen, "
        "otherwise from the live graph, marked 'not frozen')."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("--release", metavar="VERSION", help="Release version (default: the live graph)")
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("-o", "--output", metavar="FILE", help="Output file (default: standard output)")
        parser.add_argument(
            "--root-kind", choices=[str(kind) for kind in ROOT_KINDS], default=str(DEFAULT_ROOT_KIND), help="Row kind"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        release = release_get(product=product, version=options["release"]) if options["release"] else None
        if options["format"] == "xlsx" and not options["output"]:
            raise CommandError("--format xlsx needs -o FILE")
        matrix = matrix_for_release(product=product, release=release, root_kind=options["root_kind"])
        data = matrix_export(matrix, options["format"])
        # the CSV holds rows only (tools parse it): what it is from is said on stderr, for every format
        where = f"{release.version} ({'frozen' if matrix.frozen else 'not frozen'})" if release else "live (not frozen)"
        if options["output"]:
            try:
                Path(options["output"]).write_bytes(data)
            except OSError as exc:
                raise CommandError(f"cannot write {options['output']}: {exc.strerror}") from exc
            self.stderr.write(f"Wrote {len(matrix.rows)} rows of {product.key} {where} to {options['output']}")
        else:
            self.stdout.write(data.decode(), ending="")
            self.stderr.write(f"{len(matrix.rows)} rows of {product.key} {where}")
