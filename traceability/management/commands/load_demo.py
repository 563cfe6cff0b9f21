from pathlib import Path
from typing import Any

from django.conf import settings

from qms.management.base import DomainCommand
from qms.roles import Role
from traceability.services.demo import DEMO_USERS, demo_load


class Command(DomainCommand):
    help = "Create or update the demo product BOLUS and one demo user per role (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dir", default=str(Path(settings.BASE_DIR) / "fixtures" / "demo"), help="Demo directory")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_load(directory=Path(options["dir"]), actor=self.actor(options))
        items = report.items
        if report.product_created or report.product_updated or items.changed or report.users_created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo product {'created' if report.product_created else 'updated'}: "
                    f"{items.items_created} items created, {items.items_updated} updated, "
                    f"{items.links_created} links created, {items.links_removed} removed, "
                    f"{items.clause_links_created} clause links created."
                )
            )
        else:
            self.stdout.write("Demo product is up to date; nothing changed.")
        logins = ", ".join(f"{username} / {username}-demo ({Role(role).label})" for username, _, role in DEMO_USERS)
        self.stdout.write(f"Demo logins: {logins}")
