from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from qms.services import audit_checkpoint_write


class Command(DomainCommand):
    help = (
        "Sign the audit trail's length and head digest with the Ed25519 checkpoint key and write the checkpoint "
        "to AUDIT_CHECKPOINT_DIR (outside the database), and POST it to AUDIT_CHECKPOINT_URL when set. Run it "
        "on a schedule; one is also written after every release approval."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-post", action="store_true", help="Write the file only, even if a URL is set")

    def handle(self, *args: Any, **options: Any) -> None:
        written = audit_checkpoint_write(post=not options["no_post"])
        self.stdout.write(
            f"Checkpoint of {written.events} events (newest #{written.head_id}) written to {written.path}"
        )
        if written.posted_status is not None:
            self.stdout.write(f"Delivered to the checkpoint URL ({written.posted_status}).")
        if written.post_problem:
            raise CommandError(f"the checkpoint was written but not delivered: {written.post_problem}")
