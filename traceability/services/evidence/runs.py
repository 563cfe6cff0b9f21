"""Writes of test evidence: a test run with its results, from JUnit XML, JSON or manual executions.

One entry point, :func:`run_ingest`, does the work for every source, in bulk:

- each result is matched to a test-case item by the item attribute ``test_id``; an unknown
  identifier creates a draft test-case item flagged ``unlinked`` (key: the next free key of the
  product's test cases, e.g. ``TC-081``);
- requirement keys the result names (a ``requirements`` property, or keys of the product's
  ``key_pattern`` in the test name, docstring or message) become ``verifies`` links (``validates``
  for a user need), checked against the link rules; an explicit key that names no item, or any
  key naming an item a test cannot verify, is reported and skipped (a key-like word in a name or
  message that names no item, e.g. ``UTF-8``, is ignored);
- the run is stored once: its ``digest`` covers the payload and what it is bound to, so posting
  the same run again returns the stored run and changes nothing.

Audit: one ``test_run.created`` event per run (not per result), plus ``item.created`` for every
test case created and ``link.created`` for every link created, so item histories stay complete.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from qms.bulk import insert_many, wide_batches
from qms.errors import Forbidden, InvalidInput
from qms.models import ApiToken
from qms.roles import Scope, scope_refusal
from qms.services import AuditEntry, audit_record_many
from traceability.graph.load import releases_bound_to
from traceability.graph.model import without_gc
from traceability.kinds import ItemKind, ItemStatus, LinkType, link_allowed
from traceability.models import Item, Link, Product, ResultStatus, TestResult, TestRun
from traceability.models.evidence import REVIEWED_STATUSES
from traceability.models.items import ITEM_KEY_RE
from traceability.services.evidence.inputs import CaseInput, RunInput
from traceability.services.evidence.references import keys_in
from traceability.services.items import item_fingerprint

KEY_CHUNK = 2000
UNRESOLVED_SHOWN = 100
REQUIREMENT_LINK_TYPES = (LinkType.VERIFIES, LinkType.VALIDATES)
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")
STATUSES = frozenset(ResultStatus.values)
RESULT_COLUMNS = (
    "run_id",
    "test_case_id",
    "test_identifier",
    "status",
    "duration",
    "message",
    "output",
    "rationale",
    "executed_by",
    "executed_at",
    "requirement_keys",
)
NEW_TEST_CASE_TEXT = "Created from a test result whose test id matched no test case."


class ItemRef(NamedTuple):
    """What ingestion needs of an item, read as plain values (no model instances for 10,000 rows;
    a tuple, as cheap to build as the rows it comes from)."""

    pk: int
    key: str
    kind: str
    attributes: dict[str, Any]
    fingerprint: str = ""
    revision: int = 1
    title: str = ""

    @classmethod
    def of(cls, item: Item) -> "ItemRef":
        return cls(item.pk, item.key, item.kind, item.attributes, item.fingerprint, item.revision, item.title)


@dataclass
class IngestReport:
    run: TestRun
    created: bool
    counts: dict[str, int]
    test_cases_created: int = 0
    links_created: int = 0
    unresolved: list[dict[str, str]] = field(default_factory=list)
    unresolved_count: int = 0
    flavours: list[str] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """What the poster should know: a run that binds to no release yet is kept, not refused."""
        if self.releases:
            return []
        named = " or ".join(
            part
            for part in (
                f"version {self.run.version!r}" if self.run.version else "",
                f"commit {self.run.commit_sha}" if self.run.commit_sha else "",
            )
            if part
        )
        return [
            f"{self.run.product.key} has no release with {named} yet: the run is stored "
            "and counts for a release once one with that version or commit exists"
        ]

    def summary(self) -> dict[str, Any]:
        """The summary printed by ``ingest_junit --json`` and returned by the API."""
        return {
            "run": self.run.pk,
            "created": self.created,
            "product": self.run.product.key,
            "version": self.run.version,
            "commit": self.run.commit_sha,
            "source": self.run.source,
            "flavours": self.flavours,
            **self.counts,
            "test_cases_created": self.test_cases_created,
            "links_created": self.links_created,
            "unresolved_count": self.unresolved_count,
            "unresolved": self.unresolved,
            "releases": self.releases,
            "notes": self.notes,
        }


def _cases_check(cases: list[CaseInput]) -> None:
    """A backstop for every source (the JSON and manual parsers already name the entry the same way)."""
    if not cases:
        raise InvalidInput("the run holds no test results", field="results")
    for index, case in enumerate(cases):
        where = case.where or f"results[{index}]"
        if not case.identifier and case.test_case is None:
            raise InvalidInput(f"{where}.test_id: a result needs a test identifier", field="test_id", entry=where)
        if case.status not in STATUSES:
            raise InvalidInput(
                f"{where}.status: unknown status {case.status!r} (statuses: {', '.join(ResultStatus.values)})",
                field="status",
                entry=f"{where}.status",
            )
        if case.status in REVIEWED_STATUSES and not case.rationale.strip():
            raise InvalidInput(
                f"{where}.rationale: status {case.status} needs a rationale",
                field="rationale",
                entry=f"{where}.rationale",
            )


def review_scope_check(*, actor: User | None, token: ApiToken | None, status: str, where: str) -> None:
    """A reviewed status (passed with exception, failed accepted) is a review decision: it needs the
    ``approvals`` scope (a quality manager; an API token must carry it too). ``actor=None`` is the
    system (a management command run on the server). Forbidden otherwise, naming ``where``."""
    if status not in REVIEWED_STATUSES or actor is None:
        return
    lacking = scope_refusal(actor, Scope.APPROVALS, token.scopes if token is not None else None)
    if lacking is None:
        return
    raise Forbidden(
        f"{where}: {status} is a review decision and needs the 'approvals' scope (a quality manager); {lacking}",
        code="review_forbidden",
        field="status",
        entry=where,
    )


def _reviews_check(cases: list[CaseInput], actor: User | None, token: ApiToken | None) -> list[CaseInput]:
    """The reviewed results, once the first has passed :func:`review_scope_check`."""
    reviewed = [case for case in cases if case.status in REVIEWED_STATUSES]
    if reviewed:
        first = reviewed[0]
        where = f"{first.where or f'results[{cases.index(first)}]'}.status"
        review_scope_check(actor=actor, token=token, status=first.status, where=where)
    return reviewed


def run_counts(run: TestRun) -> dict[str, int]:
    """Results by status and how many are linked to a requirement (two queries)."""
    by_status = dict(Counter(run.results.values_list("status", flat=True).order_by()))
    linked = (
        run.results.filter(test_case__links_out__link_type__in=REQUIREMENT_LINK_TYPES).values("pk").distinct().count()
    )
    return _counts(by_status, linked)


def _counts(by_status: dict[str, int], linked: int) -> dict[str, int]:
    return {
        "results": sum(by_status.values()),
        "passed": by_status.get(ResultStatus.PASSED, 0),
        "failed": by_status.get(ResultStatus.FAILED, 0),
        "errors": by_status.get(ResultStatus.ERROR, 0),
        "skipped": by_status.get(ResultStatus.SKIPPED, 0),
        "passed_with_exception": by_status.get(ResultStatus.PASSED_WITH_EXCEPTION, 0),
        "failed_accepted": by_status.get(ResultStatus.FAILED_ACCEPTED, 0),
        "linked": linked,
    }


def _key_scheme(keys: list[str], key_pattern: str) -> tuple[str, int, int]:
    """Prefix, digit width and highest number of the product's test-case keys (``TC-``, 3, 80).

    Without test cases yet: ``TC-`` and the first width of 3, 4, 5, 6, 2, 1 digits that the key
    pattern accepts.
    """
    schemes: Counter[tuple[str, int]] = Counter()
    highest: dict[str, int] = {}
    for key in keys:
        match = _NUMBERED.match(key)
        if match:
            prefix, number = match.group("prefix"), match.group("number")
            schemes[(prefix, len(number))] += 1
            highest[prefix] = max(highest.get(prefix, 0), int(number))
    if not schemes:
        width = next((w for w in (3, 4, 5, 6, 2, 1) if re.fullmatch(key_pattern, f"TC-{1:0{w}d}")), 3)
        return "TC-", width, 0
    (prefix, width), _ = schemes.most_common(1)[0]
    return prefix, width, highest[prefix]


def _new_keys(product: Product, test_case_keys: list[str], count: int, first_identifier: str) -> list[str]:
    """``count`` free keys after the product's highest test-case key, each matching its key pattern."""
    prefix, width, number = _key_scheme(test_case_keys, product.key_pattern)
    keys: list[str] = []
    while len(keys) < count:
        wanted = count - len(keys)
        candidates = [f"{prefix}{number + i:0{width}d}" for i in range(1, wanted + 1)]
        number += wanted
        for key in candidates:
            if not re.fullmatch(product.key_pattern, key) or not re.fullmatch(ITEM_KEY_RE, key):
                raise InvalidInput(
                    f"no test case has test_id {first_identifier!r}, and the next test-case key {key} does not match "
                    f"the key pattern of {product.key} ({product.key_pattern}); create the test case with that test_id",
                    code="test_case_key",
                )
        taken = set(Item.objects.filter(product=product, key__in=candidates).values_list("key", flat=True))
        keys += [key for key in candidates if key not in taken]
    return keys


def _run_state(run: TestRun, counts: dict[str, int], flavours: list[str]) -> dict[str, Any]:
    return {
        "version": run.version,
        "commit_sha": run.commit_sha,
        "source": run.source,
        "name": run.name,
        "environment": run.environment,
        "ci_job_url": run.ci_job_url,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "digest": run.digest,
        "token": run.token.name if run.token else None,
        "flavours": flavours,
        **counts,
    }


def _review_state(reviewed: list[CaseInput], actor: User | None) -> dict[str, Any]:
    """Who recorded the run, and for reviewed results who reviewed them (the acting user)."""
    state: dict[str, Any] = {"created_by": actor.get_username() if actor else "system"}
    if reviewed:
        state["reviewed_by"] = state["created_by"]
        state["reviewed"] = [
            {"test": case.identifier, "status": case.status, "rationale": case.rationale}
            for case in reviewed[:UNRESOLVED_SHOWN]
        ]
    return state


def _targets(product: Product, keys: set[str]) -> dict[str, ItemRef]:
    found: dict[str, ItemRef] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), KEY_CHUNK):
        for pk, key, kind, fingerprint, revision in Item.objects.filter(
            product=product, key__in=ordered[start : start + KEY_CHUNK]
        ).values_list("pk", "key", "kind", "fingerprint", "revision"):
            found[key] = ItemRef(pk, key, kind, {}, fingerprint, revision)
    return found


@dataclass
class _Plan:
    entries: list[AuditEntry] = field(default_factory=list)
    unresolved: list[dict[str, str]] = field(default_factory=list)
    new_links: list[dict[str, Any]] = field(default_factory=list)  # Link rows by attribute name
    linked: set[int] = field(default_factory=set)  # test-case pks with a verifies / validates link


def _plan_links(
    product: Product,
    cases: list[CaseInput],
    case_items: list[ItemRef],
    targets: dict[str, ItemRef],
    case_keys: list[list[str]],
    actor: User | None,
) -> _Plan:
    plan = _Plan()
    now = timezone.now()
    existing = set(
        Link.objects.filter(product=product, link_type__in=REQUIREMENT_LINK_TYPES).values_list(
            "source_id", "target_id", "link_type"
        )
    )
    link_types: dict[tuple[str, str], str | None] = {}
    for case, item, keys in zip(cases, case_items, case_keys, strict=True):
        for key in keys:
            target = targets.get(key)
            if target is None:
                plan.unresolved.append({"test": case.identifier, "key": key, "problem": "no such item"})
                continue
            kinds = (item.kind, target.kind)
            if kinds not in link_types:
                link_types[kinds] = next(
                    (t for t in REQUIREMENT_LINK_TYPES if link_allowed(item.kind, t, target.kind)), None
                )
            link_type = link_types[kinds]
            if link_type is None or target.pk == item.pk:
                plan.unresolved.append(
                    {"test": case.identifier, "key": key, "problem": f"a test case cannot verify a {target.kind}"}
                )
                continue
            edge = (item.pk, target.pk, link_type)
            if edge in existing:
                continue
            existing.add(edge)
            plan.new_links.append(
                {
                    "product_id": product.pk,
                    "source_id": item.pk,
                    "target_id": target.pk,
                    "link_type": link_type,
                    "source_kind": item.kind,
                    "target_kind": target.kind,
                    "target_fingerprint": target.fingerprint,
                    "target_revision": target.revision,
                    "created_at": now,
                    "created_by_id": actor.pk if actor else None,
                }
            )
    plan.linked = {source for source, _, _ in existing}
    return plan


def _create_test_cases(
    product: Product,
    cases: list[CaseInput],
    by_test_id: dict[str, ItemRef],
    test_case_keys: list[str],
    actor: User | None,
) -> list[ItemRef]:
    """Draft test-case items, flagged unlinked, for identifiers no test case claims."""
    unknown = list(dict.fromkeys(c.identifier for c in cases if c.test_case is None and c.identifier not in by_test_id))
    if not unknown:
        return []
    titles: dict[str, str] = {}
    for case in cases:
        titles.setdefault(case.identifier, case.title or case.identifier)
    keys = _new_keys(product, test_case_keys, len(unknown), unknown[0])
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    for key, identifier in zip(keys, unknown, strict=True):
        attributes = {"test_id": identifier, "unlinked": True}
        title = titles[identifier][:500].strip() or identifier[:500]
        rows.append(
            {
                "product_id": product.pk,
                "key": key,
                "kind": ItemKind.TEST_CASE,
                "title": title,
                "text": NEW_TEST_CASE_TEXT,
                "status": ItemStatus.DRAFT,
                "attributes": attributes,
                "revision": 1,
                "fingerprint": item_fingerprint(title=title, text=NEW_TEST_CASE_TEXT, attributes=attributes),
                "created_at": now,
                "created_by_id": actor.pk if actor else None,
                "updated_at": now,
                "updated_by_id": actor.pk if actor else None,
            }
        )
    insert_many(Item, rows)
    pks: dict[str, int] = {}
    for start in range(0, len(keys), KEY_CHUNK):
        pks |= dict(
            Item.objects.filter(product=product, key__in=keys[start : start + KEY_CHUNK]).values_list("key", "pk")
        )
    created = []
    for row in rows:
        ref = ItemRef(pks[row["key"]], row["key"], row["kind"], row["attributes"], row["fingerprint"], 1, row["title"])
        by_test_id[row["attributes"]["test_id"]] = ref
        created.append(ref)
    return created


@without_gc  # rows for 10,000 results, no reference cycles: the collector would rescan them over and over
@transaction.atomic
def run_ingest(
    *,
    product: Product,
    run: RunInput,
    cases: list[CaseInput],
    source: str,
    digest: str,
    actor: User | None,
    token: ApiToken | None = None,
    flavours: list[str] | None = None,
) -> IngestReport:
    """Store a run and its results (see the module documentation); idempotent by ``digest``."""
    flavours = flavours or []
    reviewed = _reviews_check(cases, actor, token)
    product = Product.objects.select_for_update().get(pk=product.pk)  # one ingestion per product at a time
    existing = TestRun.objects.filter(product=product, digest=digest).select_related("product").first()
    if existing is not None:
        return IngestReport(
            run=existing,
            created=False,
            counts=run_counts(existing),
            flavours=flavours,
            releases=releases_bound_to(existing),
        )
    _cases_check(cases)

    by_test_id: dict[str, ItemRef] = {}
    test_case_keys: list[str] = []
    claimed: dict[str, list[str]] = {}  # test ids claimed by more than one test case
    test_case = ItemKind.TEST_CASE
    for pk, key, test_id in (
        Item.objects.filter(product=product, kind=ItemKind.TEST_CASE)
        .annotate(test_id=KeyTextTransform("test_id", "attributes"))  # text, no JSON decoding per row
        .order_by("key")
        .values_list("pk", "key", "test_id")
    ):
        test_case_keys.append(key)
        if test_id and isinstance(test_id, str):
            first = by_test_id.get(test_id)
            if first is None:
                by_test_id[test_id] = ItemRef(pk, key, test_case, {"test_id": test_id})
            else:
                claimed.setdefault(test_id, [first.key]).append(key)
    created_items = _create_test_cases(product, cases, by_test_id, test_case_keys, actor)
    case_items = [ItemRef.of(case.test_case) if case.test_case else by_test_id[case.identifier] for case in cases]

    found = [keys_in("\n".join([text for text in case.texts if text]), product.key_pattern) for case in cases]
    targets = _targets(
        product, {key for keys in found for key in keys} | {k for c in cases for k in c.requirement_keys}
    )
    # A key found in a name or message counts only when it names an item; explicit keys always count.
    case_keys = [
        list(dict.fromkeys([*case.requirement_keys, *[key for key in keys if key in targets]]))
        if keys or case.requirement_keys
        else []
        for case, keys in zip(cases, found, strict=True)
    ]
    plan = _plan_links(product, cases, case_items, targets, case_keys, actor)
    insert_many(Link, plan.new_links)

    started_at = run.started_at or min((c.executed_at for c in cases if c.executed_at), default=None)
    test_run = TestRun.objects.create(
        product=product,
        version=run.version,
        commit_sha=run.commit_sha,
        source=source,
        name=run.name,
        ci_job_url=run.ci_job_url,
        environment=run.environment,
        started_at=started_at,
        finished_at=run.finished_at,
        digest=digest,
        created_by=actor,
        token=token,
    )
    run_pk = test_run.pk
    insert_many(
        TestResult,
        [
            (
                run_pk,
                item.pk,
                (case.identifier or item.attributes.get("test_id") or item.key)[:500],
                case.status,
                case.duration,
                case.message,
                case.output,
                case.rationale,
                case.executed_by[:255],
                case.executed_at,
                keys,
            )
            for case, item, keys in zip(cases, case_items, case_keys, strict=True)
        ],
        names=RESULT_COLUMNS,
    )
    # What was just written, counted without reading it back (run_counts gives the same figures).
    linked = plan.linked
    counts = _counts(Counter([case.status for case in cases]), sum(1 for item in case_items if item.pk in linked))
    entries = [
        AuditEntry(
            action="item.created",
            object_type="traceability.item",
            object_id=str(item.pk),
            object_repr=f"{product.key}/{item.key}",
            scope=product.key,
            after={
                "key": item.key,
                "kind": item.kind,
                "title": item.title,
                "text": NEW_TEST_CASE_TEXT,
                "status": ItemStatus.DRAFT,
                "attributes": item.attributes,
                "revision": item.revision,
            },
            note=f"created for an unknown test id in run #{test_run.pk}",
        )
        for item in created_items
    ]
    if plan.new_links:
        keys_by_pk = {item.pk: item.key for item in case_items} | {item.pk: item.key for item in targets.values()}
        link_ids = {
            (s, t, lt): pk
            for pk, s, t, lt in Link.objects.filter(product=product, link_type__in=REQUIREMENT_LINK_TYPES).values_list(
                "pk", "source_id", "target_id", "link_type"
            )
        }
        for link in plan.new_links:
            source_key, target_key = keys_by_pk[link["source_id"]], keys_by_pk[link["target_id"]]
            entries.append(
                AuditEntry(
                    action="link.created",
                    object_type="traceability.link",
                    object_id=str(link_ids[(link["source_id"], link["target_id"], link["link_type"])]),
                    object_repr=f"{product.key}/{source_key} {link['link_type']} {target_key}",
                    scope=product.key,
                    after={
                        "source": source_key,
                        "link_type": link["link_type"],
                        "target": target_key,
                        "target_revision": link["target_revision"],
                    },
                    note=f"named by a result of run #{test_run.pk}",
                )
            )
    duplicates = sorted(claimed)
    entries.append(
        AuditEntry(
            action="test_run.created",
            object_type="traceability.testrun",
            object_id=str(test_run.pk),
            object_repr=f"{product.key}/run #{test_run.pk}",
            scope=product.key,
            after=_run_state(test_run, counts, flavours)
            | {"test_cases_created": len(created_items), "links_created": len(plan.new_links)}
            | _review_state(reviewed, actor),
            note="; ".join(f"test id {t!r} is claimed by {', '.join(claimed[t])}" for t in duplicates[:5]),
        )
    )
    with wide_batches():
        audit_record_many(actor=actor, entries=entries)
    return IngestReport(
        run=test_run,
        created=True,
        counts=counts,
        test_cases_created=len(created_items),
        links_created=len(plan.new_links),
        unresolved=plan.unresolved[:UNRESOLVED_SHOWN],
        unresolved_count=len(plan.unresolved),
        flavours=flavours,
        releases=releases_bound_to(test_run),
    )
