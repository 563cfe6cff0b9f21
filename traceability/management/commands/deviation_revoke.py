import re
from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from traceability.selectors import deviation_get, product_get
from traceability.services.deviations import deviation_revoke


class Command(DomainCommand):
    help = (
        "Revoke a deviation by a signed revocation with a reason (the --as user, approvals scope, re-enters "
        "the password). The deviation stays on record; releases frozen while it was in force keep it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("deviation", help="The deviation, e.g. DEV-3 (or 3)")
        parser.add_argument("--reason", required=True, help="Why it is withdrawn (40+ characters)")
        self.add_password_argument(parser)
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        signer = self.actor(options)
        if signer is None:
            raise CommandError("--as USERNAME names the signer (a quality manager); nothing was signed")
        match = re.fullmatch(r"(?:DEV-)?(\d+)", options["deviation"].strip(), flags=re.IGNORECASE)
        if match is None:
            raise CommandError(f"a deviation is named DEV-<number>, not {options['deviation']!r}")
        product = product_get(options["product"])
        deviation = deviation_get(product=product, number=int(match[1]))
        revocation = deviation_revoke(
            deviation=deviation, reason=options["reason"], signer=signer, password=self.signing_password(options)
        )
        self.stdout.write(f"Revoked {product.key} {deviation.label}: sha256 {revocation.sha256}")
