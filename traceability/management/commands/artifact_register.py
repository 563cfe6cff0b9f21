import json
from typing import Any

from qms.management.base import DomainCommand
from traceability.models import ArtifactKind
from traceability.selectors import product_get
from traceability.services.evidence import artifact_register


class Command(DomainCommand):
    help = (
        "Register an artifact CI built for a version (and/or --commit): its name, URI and SHA-256 digest "
        "(sha256:<64 hex>, the OCI descriptor form). The frozen baseline holds the release's artifacts, so the "
        "release approval signs their digests, and deployment gates answer by digest. Idempotent."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        # VERSION names the release here; --version would be Django's "show the Django version".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("version", help="Release version the artifact is built for ('' with --commit only)")
        parser.add_argument("name", help="Artifact name, e.g. bolus-app")
        parser.add_argument("uri", help="https://…, file://…, or registry/repository@sha256:… for an OCI image")
        parser.add_argument("--digest", required=True, help="sha256:<64 lower-case hex digits>")
        parser.add_argument("--kind", choices=ArtifactKind.values, default=ArtifactKind.FILE)
        parser.add_argument("--size", type=int, default=None, help="Bytes")
        parser.add_argument("--commit", default="", help="Commit SHA it was built from")
        parser.add_argument("--ci-job-url", default="", help="Link to the CI job")
        parser.add_argument("--ci-run", default="", help="The CI run, e.g. a pipeline id")
        parser.add_argument("--json", action="store_true", help="Print a JSON summary")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        registration = artifact_register(
            product=product,
            name=options["name"],
            uri=options["uri"],
            digest=options["digest"],
            kind=options["kind"],
            size=options["size"],
            version=options["version"],
            commit_sha=options["commit"],
            ci_job_url=options["ci_job_url"],
            ci_run=options["ci_run"],
            actor=self.actor(options),
        )
        summary = registration.summary()
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, sort_keys=True))
            return
        verb = "registered" if registration.created else "already registered"
        counts = f"; counts for {', '.join(registration.releases)}" if registration.releases else "; no release yet"
        self.stdout.write(f"{product.key}: {summary['name']} {summary['digest']} {verb}{counts}")
