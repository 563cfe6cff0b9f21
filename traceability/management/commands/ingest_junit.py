import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from qms.management.base import DomainCommand
from traceability.selectors import product_get
from traceability.services.evidence import junit_ingest, run_input_clean


class Command(DomainCommand):
    help = (
        "Store JUnit XML files (pytest, Maven Surefire, ctest, jest-junit, go-junit-report) as one test run "
        "of a product, for a version and/or a commit. Idempotent: the same files again change nothing."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        # --version names the release here, replacing Django's "show the Django version".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="JUnit XML file(s)")
        parser.add_argument("--version", dest="run_version", default="", help="Release version, e.g. 1.2.0")
        parser.add_argument("--commit", default="", help="Commit SHA the tests ran on")
        parser.add_argument("--name", default="", help="Name of the run, e.g. the CI job")
        parser.add_argument("--environment", default="", help="Where the tests ran")
        parser.add_argument("--ci-job-url", default="", help="Link to the CI job")
        parser.add_argument("--json", action="store_true", help="Print a JSON summary")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        run = run_input_clean(
            version=options["run_version"],
            commit_sha=options["commit"],
            name=options["name"],
            environment=options["environment"],
            ci_job_url=options["ci_job_url"],
        )
        files = []
        for path in options["files"]:
            try:
                files.append((path.name, path.read_bytes()))
            except OSError as exc:
                raise CommandError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        report = junit_ingest(product=product, files=files, run=run, actor=self.actor(options))
        summary = report.summary()
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, sort_keys=True))
            return
        verb = "stored as" if report.created else "already stored as"
        self.stdout.write(
            f"{product.key}: {summary['results']} results {verb} run #{summary['run']} "
            f"({summary['passed']} passed, {summary['failed']} failed, {summary['errors']} errors, "
            f"{summary['skipped']} skipped; {summary['linked']} linked to a requirement)"
        )
        if report.created:
            self.stdout.write(
                f"{summary['test_cases_created']} test case(s) created, {summary['links_created']} link(s) created"
            )
        for problem in summary["unresolved"]:
            self.stderr.write(f"warning: {problem['test']}: {problem['key']}: {problem['problem']}")
        if summary["unresolved_count"] > len(summary["unresolved"]):
            self.stderr.write(f"warning: … {summary['unresolved_count'] - len(summary['unresolved'])} more")
        for note in summary["notes"]:
            self.stderr.write(f"note: {note}")
