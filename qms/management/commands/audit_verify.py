from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from qms.selectors import audit_chain_verify


class Command(DomainCommand):
    help = "Recompute the audit trail's hash chain; exit 1 if an event was altered, removed or reordered."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify()
        if not report.is_intact:
            where = f" at event #{report.first_broken_id}" if report.first_broken_id else ""
            raise CommandError(f"audit trail broken{where} after {report.events} good events: {report.problem}")
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {report.events} events."))
