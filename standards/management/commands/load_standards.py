from pathlib import Path
from typing import Any

from django.conf import settings

from qms.management.base import DomainCommand
from standards.services import catalogue_load


class Command(DomainCommand):
    help = "Load the standards catalogue (fixtures/standards/*.yaml) idempotently."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dir", default=str(Path(settings.BASE_DIR) / "fixtures" / "standards"), help="Catalogue directory"
        )
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        report = catalogue_load(directory=Path(options["dir"]), actor=self.actor(options))
        for message in report.messages:
            self.stderr.write(message)
        if not report.changed:
            self.stdout.write("Standards catalogue is up to date; nothing changed.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Standards: {report.standards_created} created, {report.standards_updated} updated; "
                f"clauses: {report.clauses_created} created, {report.clauses_updated} updated, "
                f"{report.clauses_retired} retired; mappings: {report.mappings_created} created, "
                f"{report.mappings_updated} updated, {report.mappings_removed} removed."
            )
        )
