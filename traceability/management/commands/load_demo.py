from pathlib import Path
from typing import Any

from django.conf import settings

from qms.management.base import DomainCommand
from qms.roles import Role
from traceability.services.demo import DEMO_USERS, demo_load


class Command(DomainCommand):
    help = (
        "Create what is missing of the demo product BOLUS (release 1.0.0 frozen, 1.1.0 in progress) "
        "and of the demo users (one per role); what exists is left exactly as it is and listed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dir", default=str(Path(settings.BASE_DIR) / "fixtures" / "demo"), help="Demo directory")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_load(directory=Path(options["dir"]), actor=self.actor(options))
        items = report.items
        if report.changed:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo product {'created' if report.product_created else 'completed'}: "
                    f"{items.items_created} items created, {items.items_updated} updated, "
                    f"{items.links_created} links created, {items.links_removed} removed, "
                    f"{items.clause_links_created} clause links created."
                )
            )
            changes = report.changes
            if changes.changed:
                self.stdout.write(
                    f"Changes for 1.1.0: {changes.items_created} items created, {changes.items_updated} updated, "
                    f"{changes.links_created} links created."
                )
            if report.users_created:
                self.stdout.write(f"Users created: {', '.join(report.users_created)}.")
            for version in report.releases_frozen:
                self.stdout.write(f"Release {version} frozen.")
            for version in report.releases_created:
                self.stdout.write(f"Release {version} created (in progress).")
        else:
            self.stdout.write("The demo is in place; nothing changed.")
        if report.skipped:
            self.stdout.write(f"Left as they are: {'; '.join(report.skipped)}.")
        logins = ", ".join(f"{username} / {username}-demo ({Role(role).label})" for username, _, role in DEMO_USERS)
        kept = (
            " (accounts that existed keep their own passwords and roles)"
            if report.users_created != [username for username, _, _ in DEMO_USERS]
            else ""
        )
        self.stdout.write(f"Demo logins: {logins}{kept}")
