import json
from typing import Any

from qms.management.base import DomainCommand
from traceability.models.deviations import iso_utc
from traceability.selectors import deviation_list, product_get


class Command(DomainCommand):
    requires_system_checks: list[str] = []  # read-only: start fast
    help = "List a product's signed deviations: in force and revoked, with signer, time and rationale."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        rows = []
        for deviation in deviation_list(product=product):
            revocation = getattr(deviation, "revocation", None)
            signed_at = getattr(deviation, "signature_signed_at", None)
            rows.append(
                {
                    "deviation": deviation.label,
                    "rule": deviation.rule,
                    "scope": deviation.scope_label,
                    "severity": deviation.severity,
                    "printed_name": getattr(deviation, "signature_printed_name", None) or "",
                    "signed_at": iso_utc(signed_at) if signed_at else "",
                    "rationale": deviation.rationale,
                    "in_force": revocation is None,
                    "revoked_because": revocation.reason if revocation is not None else "",
                }
            )
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for row in rows:
            state = "in force" if row["in_force"] else f"revoked: {row['revoked_because']}"
            self.stdout.write(
                f"{row['deviation']}  {row['rule']} ({row['scope']}) → {row['severity']}; signed by "
                f"{row['printed_name']} at {row['signed_at']}; {state}\n    {row['rationale']}"
            )
        self.stdout.write(f"{product.key}: {len(rows)} deviation{'s' if len(rows) != 1 else ''}")
