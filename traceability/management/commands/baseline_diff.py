import json
from typing import Any

from qms.management.base import DomainCommand
from traceability.graph.selectors import baseline_diff
from traceability.selectors import product_get, release_get


class Command(DomainCommand):
    requires_system_checks: list[str] = []  # read-only report: start fast (CI calls it)
    help = "The change record between two releases of a product; V2 may be 'live' (the graph as it is now)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("v1", help="The earlier release")
        parser.add_argument("v2", help="The later release, or 'live'")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        before = release_get(product=product, version=options["v1"])
        after = None if options["v2"] == "live" else release_get(product=product, version=options["v2"])
        diff = baseline_diff(release_a=before, release_b=after)
        if options["format"] == "json":
            self.stdout.write(json.dumps(diff.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(diff.as_text(), ending="")
