from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from traceability.gap_rules import DEVIATION_SEVERITIES, PROTECTED_RULES
from traceability.selectors import product_get
from traceability.services.deviations import deviation_sign


class Command(DomainCommand):
    help = (
        "Sign a deviation: lower a protected gap rule of a class B or C product (or the finding of one item) "
        "to a warning or off, with a rationale; an electronic signature of the --as user (approvals scope), "
        "who re-enters the password."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("rule", help=f"A protected rule: {', '.join(PROTECTED_RULES)}")
        parser.add_argument("--item", metavar="KEY", default="", help="Only the finding of this item")
        parser.add_argument("--severity", choices=DEVIATION_SEVERITIES, default="warning")
        parser.add_argument("--rationale", required=True, help="Why the deviation is acceptable (40+ characters)")
        parser.add_argument("--comment", default="", help="A comment on the signature")
        self.add_password_argument(parser)
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        signer = self.actor(options)
        if signer is None:
            raise CommandError("--as USERNAME names the signer (a quality manager); nothing was signed")
        product = product_get(options["product"])
        deviation = deviation_sign(
            product=product,
            rule=options["rule"],
            item_key=options["item"],
            severity=options["severity"],
            rationale=options["rationale"],
            comment=options["comment"],
            signer=signer,
            password=self.signing_password(options),
        )
        self.stdout.write(
            f"Signed {product.key} {deviation.label}: {deviation.rule} ({deviation.scope_label}) → "
            f"{deviation.severity}, sha256 {deviation.sha256}"
        )
