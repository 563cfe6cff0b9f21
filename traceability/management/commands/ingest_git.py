import json
from pathlib import Path
from typing import Any

from qms.management.base import DomainCommand
from traceability.gitlog import git_log_read
from traceability.selectors import product_get
from traceability.services.evidence import commits_ingest


class Command(DomainCommand):
    help = (
        "Store the commits of a local git repository (git log) for a product and link them to the items "
        "their messages name. Idempotent by SHA."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("repo", type=Path, metavar="REPO_PATH", help="Folder of the git repository")
        parser.add_argument("--rev-range", default=None, help="Revisions to read, e.g. v1.0.0..HEAD (default: HEAD)")
        parser.add_argument("--max-count", type=int, default=None, help="Read at most this many commits")
        parser.add_argument("--repository", default=None, help="Repository name to record (default: origin URL)")
        parser.add_argument("--json", action="store_true", help="Print a JSON summary")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        commits = git_log_read(
            repo=options["repo"],
            rev_range=options["rev_range"],
            max_count=options["max_count"],
            repository=options["repository"],
        )
        report = commits_ingest(product=product, commits=commits, actor=self.actor(options), via="ingest_git")
        summary = report.summary()
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, sort_keys=True))
            return
        self.stdout.write(
            f"{product.key}: {summary['received']} commits read, {summary['created']} stored, "
            f"{summary['unchanged']} already stored, {summary['links_created']} item link(s)"
        )
        for problem in summary["unresolved"]:
            self.stderr.write(f"warning: {problem['sha'][:12]}: {problem['key']}: {problem['problem']}")
