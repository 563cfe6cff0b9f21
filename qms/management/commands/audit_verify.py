import time
from typing import Any

from django.core.management.base import CommandError

from qms.integrity.chain import audit_chain_verify
from qms.integrity.checkpoints import Checkpoint, checkpoint_dir, checkpoint_files
from qms.integrity.records import record_checks_run, witnessed_actions
from qms.management.base import DomainCommand
from qms.snapshot import read_snapshot

SHOWN_PROBLEMS = 50


class Command(DomainCommand):
    help = (
        "Verify the audit trail and the records it vouches for: the keyed hash chain (AUDIT_KEY), the signed "
        "checkpoints outside the database, and every signature, baseline, approval, release state and stored "
        "report against its seal and against the trail. Exit 1 at the first broken event or contradicted "
        "checkpoint, or when a record does not hold up."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--allow-no-checkpoint",
            action="store_true",
            help="Do not fail when no checkpoint exists yet (a new installation); truncation and rollback "
            "cannot be detected without one",
        )
        parser.add_argument("--chain-only", action="store_true", help="Verify the chain and checkpoints only")

    def handle(self, *args: Any, **options: Any) -> None:
        files = checkpoint_files()
        bad = [entry for entry in files if entry.checkpoint is None]
        if bad:
            raise CommandError(f"checkpoint {bad[0].path} is not valid: {bad[0].problem}")
        checkpoints = [entry.checkpoint for entry in files if entry.checkpoint is not None]
        with read_snapshot():  # one moment for the chain and the records (and a streamed cursor)
            self.verify(checkpoints, options)

    def verify(self, checkpoints: list[Checkpoint], options: dict[str, Any]) -> None:
        started = time.perf_counter()
        report = audit_chain_verify(checkpoints=checkpoints, witness_actions=witnessed_actions())
        seconds = time.perf_counter() - started
        if not report.is_intact:
            where = f" at event #{report.first_broken_id}" if report.first_broken_id else ""
            raise CommandError(f"audit trail broken{where} after {report.events} good events: {report.problem}")
        rate = f"{report.events / seconds:,.0f} events/s" if seconds > 0 and report.events else "–"
        self.stdout.write(
            f"Chain intact: {report.events} events ({rate}); "
            f"{report.checkpoints_matched} of {len(checkpoints)} checkpoints in {checkpoint_dir()} confirmed."
        )
        if not checkpoints and report.events and not options["allow_no_checkpoint"]:
            raise CommandError(
                f"no checkpoint in {checkpoint_dir()}: a truncated or rolled-back trail cannot be told from an "
                "intact one; write one with `python manage.py audit_checkpoint` (or pass --allow-no-checkpoint)"
            )
        if options["chain_only"]:
            return
        problems = 0
        for name, found in record_checks_run(report.witnessed):
            problems += len(found)
            for problem in found[:SHOWN_PROBLEMS]:
                self.stderr.write(f"{name}: {problem}")
            if len(found) > SHOWN_PROBLEMS:
                self.stderr.write(f"{name}: … and {len(found) - SHOWN_PROBLEMS} more")
            if not found:
                self.stdout.write(f"{name}: intact")
        if problems:
            raise CommandError(f"{problems} record{'s' if problems != 1 else ''} do not hold up (listed above)")
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {report.events} events; every record holds up."))
