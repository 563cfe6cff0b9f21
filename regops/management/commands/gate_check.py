import time
from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from regops.selectors import environment_get
from regops.services.decisions import ENGINES, gate_decide
from traceability.selectors import product_get

POLL_SECONDS = 10


class Command(DomainCommand):
    help = (
        "Ask the RegOps gate whether artifacts may go to an environment: exit 0 when allowed, 1 when denied, "
        "printing every gate with its reasons. Ask by --digest (repeatable), --version or --commit. The "
        "question and answer are kept in the gate-decision ledger. --wait SECONDS asks again every 10 s until "
        "allowed or the time is up (for a pending integration or release approval)."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        # --version names the release here, replacing Django's "show the Django version".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("environment", help="Environment key, e.g. production")
        parser.add_argument("--digest", action="append", default=[], help="sha256:<64 hex> (repeat for several)")
        parser.add_argument("--version", dest="release_version", default="", help="Release version")
        parser.add_argument("--commit", default="", help="Commit SHA of a release")
        parser.add_argument("--wait", type=int, default=0, metavar="SECONDS", help="Ask again until allowed")
        parser.add_argument("--engine", default="cli", choices=ENGINES, help="Who asks (kept in the ledger)")
        parser.add_argument("--external-id", default="", help="The engine's own id of this deployment or run")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["wait"] < 0:
            raise CommandError("--wait takes a number of seconds, 0 or more")
        product = product_get(options["product"])
        environment = environment_get(product=product, key=options["environment"])
        deadline = time.monotonic() + options["wait"]
        while True:
            decision, answer = gate_decide(
                environment=environment,
                actor=self.actor(options),
                digests=options["digest"],
                version=options["release_version"],
                commit=options["commit"],
                engine=options["engine"],
                external={"id": options["external_id"]} if options["external_id"] else {},
            )
            if answer.allowed or time.monotonic() + POLL_SECONDS > deadline:
                break
            self.stdout.write(f"denied (decision #{decision.pk}); asking again in {POLL_SECONDS} s")
            time.sleep(POLL_SECONDS)
        release = answer.release.version if answer.release is not None else "no release"
        self.stdout.write(f"{product.key} → {environment.key} ({environment.tier}): {release}; decision #{decision.pk}")
        for result in answer.gates:
            marker = "" if result.required else " (not required here)"
            self.stdout.write(f"  {result.gate} {result.status}{marker}")
            for reason in result.reasons:
                self.stdout.write(f"      {reason}")
        if not answer.allowed:
            raise CommandError("denied: " + "; ".join(answer.reasons))
        self.stdout.write(self.style.SUCCESS(f"allowed: {', '.join(answer.digests)}"))
