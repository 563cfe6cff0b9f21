from typing import Any

from qms.management.base import DomainCommand
from traceability.selectors import product_get
from traceability.services.evidence import webhook_secret_rotate


class Command(DomainCommand):
    help = (
        "Set a new webhook secret for a product and print it once. Give it to GitHub (Secret) or GitLab "
        "(Secret token) for /api/v1/webhooks/github/<key>/ or /api/v1/webhooks/gitlab/<key>/."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        self.stdout.write(webhook_secret_rotate(product=product, actor=self.actor(options)))
