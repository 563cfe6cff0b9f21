"""The demo product (``fixtures/demo/``): BolusCalc, an IEC 62304 class C insulin bolus calculator."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from qms.errors import InvalidInput
from qms.roles import Role
from qms.services import audit_record, user_role_set
from traceability.itemfile import item_rows_from_yaml, yaml_file_read
from traceability.models import Item, Product, Release
from traceability.services.evidence import (
    commit_inputs_parse,
    commits_ingest,
    junit_ingest,
    manual_executions_record,
    run_input_clean,
)
from traceability.services.imports import ImportReport, ItemRow, items_import
from traceability.services.products import product_create
from traceability.services.releases import release_create, release_freeze

DEMO_FILE = "bolus.yaml"
CHANGES_FILE = "bolus-1.1.0-changes.yaml"
FROZEN_VERSION = "1.0.0"  # the content of DEMO_FILE, frozen
CURRENT_VERSION = "1.1.0"  # in progress: DEMO_FILE with CHANGES_FILE applied
CHANGE_SECTIONS = ("update", "create", "obsolete")
EVIDENCE_DIR = "evidence"  # JUnit XML and manual executions per version, commits.json
CI_JOB_URL = "https://git.boluscalc.example/boluscalc/app/-/pipelines/{version}"
PRODUCT_KEYS = {"key", "name", "intended_use", "safety_class", "standards", "key_pattern", "risk_matrix", "gap_rules"}

# One demo account per role; the password is the user name followed by "-demo".
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("qm", "Quinn Manager", Role.QUALITY_MANAGER),
    ("dev", "Dana Developer", Role.DEVELOPER),
    ("auditor", "Avery Auditor", Role.AUDITOR),
)


@dataclass
class DemoReport:
    product_created: bool = False
    users_created: list[str] = field(default_factory=list)
    items: ImportReport = field(default_factory=ImportReport)
    changes: ImportReport = field(default_factory=ImportReport)
    releases_frozen: list[str] = field(default_factory=list)
    releases_created: list[str] = field(default_factory=list)
    runs_created: int = 0
    commits_created: int = 0
    skipped: list[str] = field(default_factory=list)  # what existed and was left exactly as it is

    @property
    def changed(self) -> bool:
        return bool(
            self.product_created
            or self.users_created
            or self.items.changed
            or self.changes.changed
            or self.releases_frozen
            or self.releases_created
            or self.runs_created
            or self.commits_created
        )


def _product_spec(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: 'product' must be a mapping", code="demo_invalid")
    unknown = sorted(set(data) - PRODUCT_KEYS)
    if unknown:
        raise InvalidInput(f"{source}: product: unknown field '{unknown[0]}'", code="demo_invalid")
    for required in ("key", "name"):
        if not data.get(required):
            raise InvalidInput(f"{source}: product: '{required}' is required", code="demo_invalid")
    return dict(data)


def demo_users_ensure(*, actor: User | None, report: DemoReport) -> None:
    """Create the demo users that do not exist; an existing one keeps its name, password and roles."""
    existing = []
    for username, full_name, role in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            existing.append(username)
            continue
        first, last = full_name.split(" ", 1)
        user = User(username=username, first_name=first, last_name=last, is_staff=True)
        user.set_password(f"{username}-demo")
        user.save()
        audit_record(actor=actor, action="user.created", obj=user, object_repr=username, after={"username": username})
        user_role_set(user=user, roles=[role], actor=actor)
        report.users_created.append(username)
    if existing:
        report.skipped.append(f"user{'s' if len(existing) > 1 else ''} {', '.join(existing)}")


def _change_rows(path: Path) -> list[tuple[str, list[ItemRow]]]:
    """The changes file: items to ``update`` (partial rows), to ``create``, and keys made ``obsolete``."""
    data = yaml_file_read(path)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path.name}: must be a mapping with {', '.join(CHANGE_SECTIONS)}", code="demo_invalid")
    unknown = sorted(set(data) - set(CHANGE_SECTIONS))
    if unknown:
        raise InvalidInput(f"{path.name}: unknown top-level key '{unknown[0]}'", code="demo_invalid")
    sections = []
    for section in ("update", "create"):
        if data.get(section):
            sections.append((section, item_rows_from_yaml(data[section], source=f"{path.name} ({section})")))
    obsolete = data.get("obsolete") or []
    if not isinstance(obsolete, list) or not all(isinstance(key, str) for key in obsolete):
        raise InvalidInput(f"{path.name}: 'obsolete' must be a list of item keys", code="demo_invalid")
    if obsolete:
        sections.append(
            ("obsolete", [ItemRow(row=index + 1, key=key, status="obsolete") for index, key in enumerate(obsolete)])
        )
    return sections


def demo_evidence_load(*, product: Product, directory: Path, version: str, report: DemoReport) -> str:
    """Commits, JUnit XML and manual executions of one demo version, posted as the demo developer
    and tester would from CI. Idempotent (runs by payload digest, commits by SHA). Returns the
    version's last commit SHA."""
    evidence = directory / EVIDENCE_DIR
    developer = User.objects.get(username="dev")
    quality = User.objects.get(username="qm")
    commits_file = evidence / "commits.json"
    batches = yaml_file_read(commits_file)
    if not isinstance(batches, dict) or not isinstance(batches.get(version), list):
        raise InvalidInput(f"{commits_file.name}: needs a list of commits for {version}", code="demo_invalid")
    commits = commit_inputs_parse(batches[version], source=f"{commits_file.name}[{version}]")
    report.commits_created += commits_ingest(product=product, commits=commits, actor=developer, via="demo").created
    head = commits[-1].sha
    folder = evidence / version
    files = [(path.name, path.read_bytes()) for path in sorted(folder.glob("*.xml"))]
    if files:
        run = run_input_clean(
            version=version,
            commit_sha=head,
            name="boluscalc CI",
            environment="Android emulator API 34",
            ci_job_url=CI_JOB_URL.format(version=version),
        )
        report.runs_created += junit_ingest(product=product, files=files, run=run, actor=developer).created
    manual = folder / "manual.json"
    if manual.exists():
        data = yaml_file_read(manual)
        run = run_input_clean(version=version, commit_sha=head, environment=data.get("environment", ""))
        executions = manual_executions_record(
            product=product, run=run, executions=data.get("executions"), actor=quality
        )
        report.runs_created += executions.created
    return head


def _merge(total: ImportReport, part: ImportReport) -> None:
    for name in vars(total):
        setattr(total, name, getattr(total, name) + getattr(part, name))


def _new_rows(rows: list[ItemRow], keep: Callable[[str], bool], what: str, report: DemoReport) -> list[ItemRow]:
    """The rows ``keep`` accepts; the keys of the others are reported as skipped (``what``)."""
    kept = [row for row in rows if keep(row.key)]
    left = sorted({row.key for row in rows} - {row.key for row in kept})
    if left:
        shown = ", ".join(left[:10]) + (f" and {len(left) - 10} more" if len(left) > 10 else "")
        report.skipped.append(f"{what} ({len(left)}): {shown}")
    return kept


@transaction.atomic
def demo_load(*, directory: Path, actor: User | None) -> DemoReport:
    """Create what is missing of the demo: the product, the demo users, release 1.0.0 frozen from
    the demo file and 1.1.0 in progress with the changes file applied, with their evidence.

    What exists is left exactly as it is, since people may have edited it, and is listed in
    ``report.skipped``: an existing product, user or item is never updated (an item keeps its
    links and clauses too), and a release that exists is not loaded again (neither its items nor
    its evidence). The changes of 1.1.0 update only items this run created. So a second run
    changes nothing and writes no audit event."""
    path = directory / DEMO_FILE
    data = yaml_file_read(path)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path.name}: must be a mapping with 'product' and 'items'", code="demo_invalid")
    unknown = sorted(set(data) - {"product", "items"})
    if unknown:
        raise InvalidInput(f"{path.name}: unknown top-level key '{unknown[0]}'", code="demo_invalid")
    spec = _product_spec(data.get("product"), path.name)
    report = DemoReport()
    key = spec.pop("key")
    product = Product.objects.filter(key=key).first()
    if product is None:
        product = product_create(key=key, actor=actor, **spec)
        report.product_created = True
    else:
        report.skipped.append(f"product {key}")
    demo_users_ensure(actor=actor, report=report)
    rows = item_rows_from_yaml(data.get("items"), source=path.name)
    existing = set(Item.objects.filter(product=product).values_list("key", flat=True))
    created: set[str] = set()  # items of this run: the 1.1.0 changes may update these only
    if Release.objects.filter(product=product, version=FROZEN_VERSION).exists():
        report.skipped.append(f"release {FROZEN_VERSION} (its items and evidence are not loaded again)")
    else:
        new = _new_rows(rows, lambda key: key not in existing, "items that exist", report)
        if new:
            report.items = items_import(product=product, rows=new, actor=actor, source=path.name)
            created |= {row.key for row in new}
        head = demo_evidence_load(product=product, directory=directory, version=FROZEN_VERSION, report=report)
        release_freeze(
            product=product,
            version=FROZEN_VERSION,
            actor=User.objects.get(username="qm"),
            git_tag=f"v{FROZEN_VERSION}",
            commit_sha=head,
        )
        report.releases_frozen.append(FROZEN_VERSION)
    changes = directory / CHANGES_FILE
    if not changes.exists():
        return report
    if Release.objects.filter(product=product, version=CURRENT_VERSION).exists():
        report.skipped.append(f"release {CURRENT_VERSION} (its changes and evidence are not loaded again)")
        return report
    existing = set(Item.objects.filter(product=product).values_list("key", flat=True))
    for section, change_rows in _change_rows(changes):
        if section == "create":
            change_rows = _new_rows(change_rows, lambda key: key not in existing, "items that exist", report)
        else:
            change_rows = _new_rows(
                change_rows,
                lambda key: key in created,
                f"items this run did not create, for the {section} of 1.1.0",
                report,
            )
        if change_rows:
            part = items_import(product=product, rows=change_rows, actor=actor, source=f"{changes.name} ({section})")
            _merge(report.changes, part)
    release_create(
        product=product,
        version=CURRENT_VERSION,
        actor=actor,
        notes="In progress: CR-003 (lower maximum bolus ceiling, rolling two-hour limit).",
    )
    report.releases_created.append(CURRENT_VERSION)
    demo_evidence_load(product=product, directory=directory, version=CURRENT_VERSION, report=report)
    return report
