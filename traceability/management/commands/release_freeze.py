from typing import Any

from qms.management.base import DomainCommand
from traceability.models import Baseline
from traceability.selectors import product_get
from traceability.services.releases import release_freeze


class Command(DomainCommand):
    help = "Freeze a release (created if it does not exist): take its immutable baseline. A frozen release is a 409."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("version", help="Release version, e.g. 1.2.0")
        parser.add_argument("--commit", metavar="SHA", help="Git commit SHA of the release")
        parser.add_argument("--tag", metavar="TAG", help="Git tag of the release")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        release = release_freeze(
            product=product,
            version=options["version"],
            actor=self.actor(options),
            commit_sha=options["commit"],
            git_tag=options["tag"],
        )
        baseline = Baseline.objects.get(release=release)
        self.stdout.write(
            f"Froze {product.key} {release.version}: baseline sha256 {baseline.sha256} "
            f"({baseline.item_count} items, {baseline.link_count} links, {baseline.result_count} results)"
        )
