"""Build a ``TraceGraph`` from the live database or from a frozen baseline.

Live loading costs a constant number of queries whatever the product's size (nine: standards,
applicable clauses, items, links, clause links, bound runs, bound results, commit links, signed
deviations in force; ten for a release: its artifacts), all ``values_list`` tuples, never model
instances. They run in one snapshot
(``qms.snapshot``): CI posting runs meanwhile cannot make a link, result or commit name an item
the items query did not see.

Evidence binding: a release's results are those of the product's test runs whose ``version``
equals the release version, or whose ``commit_sha`` names the same commit as the release's
``commit_sha`` (when set): equal, or one a prefix of the other (runs may be posted with a short
SHA of 7+ hex digits). Without a release, every run counts. Per test case the latest run wins,
ordered by (run.started_at or run.created_at, run.id); within one run (a test identifier
reported twice, e.g. the same jest test name in two files) the worst status wins
(``STATUS_SEVERITY``: error, failed, skipped, failed_accepted, passed_with_exception, passed),
then the highest result id. A skipped winning result counts as no result (see
``result_verdict``).
"""

import json
from datetime import UTC, datetime
from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, TextField, Value, When, Window
from django.db.models.functions import Cast, Coalesce, RowNumber

from qms.canonical import canonical_json, sha256_hex
from qms.snapshot import read_snapshot
from standards.models import Clause
from standards.selectors import class_filter
from traceability.graph.deviations import deviation_rows, deviations_from_rows, deviations_load
from traceability.graph.model import (
    ArtifactInfo,
    ClauseInfo,
    ProductInfo,
    ReleaseInfo,
    TraceCommit,
    TraceGraph,
    TraceItem,
    TraceLink,
    TraceResult,
    without_gc,
)
from traceability.models import (
    Artifact,
    ClauseLink,
    CommitLink,
    Item,
    Link,
    Product,
    Release,
    TestResult,
    TestRun,
)
from traceability.models.evidence import STATUS_SEVERITY
from traceability.models.releases import SHA_MIN_LENGTH

# /2 adds the signed deviations in force, /3 the release's artifacts (their digests); /1 and /2
# baselines (neither) still load and verify byte for byte.
BASELINE_FORMAT = "q-interface-baseline/3"
BASELINE_FORMATS = ("q-interface-baseline/1", "q-interface-baseline/2", BASELINE_FORMAT)

ITEM_FIELDS = ("key", "kind", "title", "text", "status", "attributes", "revision", "fingerprint")
LINK_FIELDS = ("source", "link_type", "target", "target_revision", "target_fingerprint")
RESULT_FIELDS = (
    "test_case",
    "status",
    "test_identifier",
    "run_id",
    "run_name",
    "run_version",
    "run_commit_sha",
    "run_environment",
    "run_ci_job_url",
    "run_at",
    "duration",
    "message",
    "rationale",
    "executed_by",
    "executed_at",
)
ARTIFACT_FIELDS = ("name", "kind", "uri", "digest", "size", "version", "commit_sha", "ci_job_url", "ci_run")
COMMIT_FIELDS = ("item", "sha", "kind", "repository", "author", "authored_at", "subject")
CLAUSE_FIELDS = ("ref", "standard", "number", "title", "is_heading")


class BaselineCorrupt(RuntimeError):
    """A stored baseline no longer matches its SHA-256: it was altered outside the application."""


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def product_info(product: Product, standards: list[str]) -> ProductInfo:
    return ProductInfo(
        key=product.key,
        name=product.name,
        safety_class=product.safety_class or "",
        risk_matrix=product.risk_matrix,
        gap_rules=dict(product.gap_rules or {}),
        standards=sorted(standards),
    )


def release_info(
    release: Release,
    *,
    baseline_sha256: str = "",
    taken_at: str | None = None,
    approved: bool = False,
    approval_signature_id: int | None = None,
) -> ReleaseInfo:
    return ReleaseInfo(
        version=release.version,
        state=release.state,
        git_tag=release.git_tag,
        commit_sha=release.commit_sha,
        frozen=bool(baseline_sha256),
        baseline_sha256=baseline_sha256,
        taken_at=taken_at,
        approved=approved,
        approval_signature_id=approval_signature_id,
    )


def _sha_prefixes(sha: str) -> list[str]:
    """The SHA and every shorter form of it a run or release may carry (7+ digits)."""
    return [sha[:length] for length in range(SHA_MIN_LENGTH, len(sha) + 1)]


def binding_q(*, version: str, sha: str, prefix: str = "") -> Q:
    """Runs and releases belong together by the same version, or by the same commit: one SHA starts
    with the other (7+ digits). Index-friendly, one condition: the query count stays constant."""
    bound = Q(**{f"{prefix}version": version}) if version else Q(pk__in=[])
    if sha:
        bound |= Q(**{f"{prefix}commit_sha__startswith": sha}) | Q(**{f"{prefix}commit_sha__in": _sha_prefixes(sha)})
    return bound


def _bound(release: Release | None, prefix: str = "") -> Q:
    if release is None:
        return Q()
    return binding_q(version=release.version, sha=release.commit_sha, prefix=prefix)


def releases_bound_to(run: TestRun) -> list[str]:
    """The versions of the product's releases this run counts for (one query)."""
    bound = binding_q(version=run.version, sha=run.commit_sha)
    return sorted(Release.objects.filter(bound, product_id=run.product_id).values_list("version", flat=True))


def _severity() -> Case:
    """The status's rank within one run: the worst result of a test case reported twice wins."""
    return Case(
        *(When(status=status, then=Value(rank)) for status, rank in STATUS_SEVERITY.items()),
        default=Value(0),
        output_field=IntegerField(),
    )


def bound_artifacts(*, product: Product, release: Release) -> list[ArtifactInfo]:
    """The artifacts CI registered for the release (the same binding as test runs), by name and digest
    (one query)."""
    rows = (
        Artifact.objects.filter(_bound(release), product=product)
        .order_by("name", "digest", "id")
        .values_list(*ARTIFACT_FIELDS)
    )
    seen: set[tuple[str, str]] = set()
    artifacts = []
    for row in rows:
        artifact = ArtifactInfo(*row)
        if (artifact.name, artifact.digest) not in seen:  # one per name and digest (by version and by commit)
            seen.add((artifact.name, artifact.digest))
            artifacts.append(artifact)
    return artifacts


def bound_runs(*, product: Product, release: Release | None) -> QuerySet[TestRun]:
    """The product's test runs whose results count for the release (all runs without one)."""
    return TestRun.objects.filter(_bound(release), product=product).order_by()


def bound_results(*, product: Product, release: Release | None) -> QuerySet[TestResult]:
    """The results that count, one per test case: of the latest run bound to the release, the worst."""
    results = TestResult.objects.filter(_bound(release, "run__"), run__product=product, test_case__product=product)
    ranked = results.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("test_case_id")],
            order_by=[
                Coalesce(F("run__started_at"), F("run__created_at")).desc(),
                F("run_id").desc(),
                _severity().desc(),
                F("id").desc(),
            ],
        )
    )
    return ranked.filter(rank=1).order_by()


@without_gc
@read_snapshot()
def graph_load_live(*, product: Product, release: Release | None = None) -> TraceGraph:
    """The product's trace graph as it is now, read in one snapshot; results bound to ``release``
    when given. Inside a transaction that is already open the caller makes it one moment
    (``release_freeze`` locks the trace tables first)."""
    standards = list(product.standards.values_list("slug", flat=True))
    clauses = [
        ClauseInfo(
            ref=f"{slug}:{number}",
            standard=f"{code}:{edition}",
            number=number,
            title=title,
            is_heading=is_heading,
        )
        for slug, code, edition, number, title, is_heading in Clause.objects.filter(
            class_filter(product.safety_class), is_active=True, standard__products=product
        )
        .order_by("standard__code", "standard__edition", "position")
        .values_list("standard__slug", "standard__code", "standard__edition", "number", "title", "is_heading")
    ]
    keys: dict[int, str] = {}
    items: dict[str, TraceItem] = {}
    loads = json.loads
    for pk, key, kind, title, text, status, attributes, revision, fingerprint in (
        Item.objects.filter(product=product)
        .order_by()
        .annotate(attributes_json=Cast("attributes", TextField()))
        .values_list("id", "key", "kind", "title", "text", "status", "attributes_json", "revision", "fingerprint")
    ):
        keys[pk] = key
        items[key] = TraceItem(
            key, kind, title, text, status, loads(attributes) if attributes != "{}" else {}, revision, fingerprint
        )
    links = [
        TraceLink(keys[source], link_type, keys[target], target_revision, target_fingerprint)
        for source, link_type, target, target_revision, target_fingerprint in Link.objects.filter(product=product)
        .order_by()
        .values_list("source_id", "link_type", "target_id", "target_revision", "target_fingerprint")
    ]
    clause_links: dict[str, list[str]] = {}
    for item_id, slug, number in (
        ClauseLink.objects.filter(product=product)
        .order_by()
        .values_list("item_id", "clause__standard__slug", "clause__number")
    ):
        clause_links.setdefault(keys[item_id], []).append(f"{slug}:{number}")
    runs = {
        run_id: (name, version, sha, environment, job_url, iso(started_at or created_at) or "")
        for run_id, name, version, sha, environment, job_url, started_at, created_at in bound_runs(
            product=product, release=release
        ).values_list("id", "name", "version", "commit_sha", "environment", "ci_job_url", "started_at", "created_at")
    }
    results: dict[str, TraceResult] = {}
    for case_id, status, identifier, run_id, duration, message, rationale, executed_by, executed_at in bound_results(
        product=product, release=release
    ).values_list(
        "test_case_id",
        "status",
        "test_identifier",
        "run_id",
        "duration",
        "message",
        "rationale",
        "executed_by",
        "executed_at",
    ):
        key = keys[case_id]
        name, version, sha, environment, job_url, run_at = runs[run_id]
        results[key] = TraceResult(
            key,
            status,
            identifier,
            run_id,
            name,
            version,
            sha,
            environment,
            job_url,
            run_at,
            duration,
            message,
            rationale,
            executed_by,
            iso(executed_at),
        )
    commits: dict[str, list[TraceCommit]] = {}
    for item_id, sha, kind, repository, author, authored_at, message in (
        CommitLink.objects.filter(item__product=product)
        .order_by()
        .values_list(
            "item_id",
            "commit__sha",
            "kind",
            "commit__repository",
            "commit__author_name",
            "commit__authored_at",
            "commit__message",
        )
    ):
        key = keys[item_id]
        subject = message.strip().splitlines()[0] if message.strip() else ""
        commits.setdefault(key, []).append(TraceCommit(key, sha, kind, repository, author, iso(authored_at), subject))
    for entries in commits.values():
        entries.sort(key=lambda commit: (commit.authored_at or "", commit.sha))
    for refs in clause_links.values():
        refs.sort()
    return TraceGraph(
        product=product_info(product, standards),
        release=release_info(release) if release is not None else None,
        source="live",
        items=items,
        links=links,
        clauses=clauses,
        clause_links=clause_links,
        results=results,
        commits=commits,
        deviations=deviations_load(product),
        artifacts=bound_artifacts(product=product, release=release) if release is not None else [],
    )


# --- baselines --------------------------------------------------------------------------------


def _row(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


@without_gc
def baseline_content(graph: TraceGraph, *, taken_at: str) -> dict[str, Any]:
    """The canonical content of a baseline: everything in the graph, in a fixed order."""
    release = graph.release
    product = graph.product
    return {
        "format": BASELINE_FORMAT,
        "taken_at": taken_at,
        "product": {
            "key": product.key,
            "name": product.name,
            "safety_class": product.safety_class,
            "risk_matrix": product.risk_matrix,
            "gap_rules": product.gap_rules,
            "standards": product.standards,
        },
        "release": {
            "version": release.version if release else "",
            "git_tag": release.git_tag if release else "",
            "commit_sha": release.commit_sha if release else "",
        },
        "items": [_row(graph.items[key], ITEM_FIELDS) for key in sorted(graph.items)],
        "links": [
            _row(link, LINK_FIELDS)
            for link in sorted(graph.links, key=lambda link: (link.source, link.link_type, link.target))
        ],
        "clauses": [_row(clause, CLAUSE_FIELDS) for clause in graph.clauses],
        "clause_links": [
            {"item": key, "clause": ref} for key in sorted(graph.clause_links) for ref in graph.clause_links[key]
        ],
        "results": [_row(graph.results[key], RESULT_FIELDS) for key in sorted(graph.results)],
        "commits": [
            _row(commit, COMMIT_FIELDS)
            for key in sorted(graph.commits)
            for commit in sorted(graph.commits[key], key=lambda commit: commit.sha)
        ],
        "deviations": deviation_rows(graph.deviations),
        "artifacts": [artifact.as_dict() for artifact in graph.artifacts],
    }


def baseline_serialise(content: dict[str, Any]) -> tuple[str, str]:
    """The stored text of a baseline and its SHA-256 (over the UTF-8 canonical JSON)."""
    data = canonical_json(content)
    return data.decode(), sha256_hex(data)


@without_gc
def graph_from_content(content: dict[str, Any], *, release: ReleaseInfo) -> TraceGraph:
    """Rebuild the graph from a baseline's content (the inverse of ``baseline_content``)."""
    if content.get("format") not in BASELINE_FORMATS:
        raise BaselineCorrupt(f"unknown baseline format {content.get('format')!r}")
    product = content["product"]
    clause_links: dict[str, list[str]] = {}
    for row in content["clause_links"]:
        clause_links.setdefault(row["item"], []).append(row["clause"])
    commits: dict[str, list[TraceCommit]] = {}
    for row in content["commits"]:
        commits.setdefault(row["item"], []).append(TraceCommit(**row))
    for entries in commits.values():
        entries.sort(key=lambda commit: (commit.authored_at or "", commit.sha))
    return TraceGraph(
        product=ProductInfo(
            key=product["key"],
            name=product["name"],
            safety_class=product["safety_class"],
            risk_matrix=product["risk_matrix"],
            gap_rules=product["gap_rules"],
            standards=product["standards"],
        ),
        release=release,
        source="baseline",
        items={row["key"]: TraceItem(**row) for row in content["items"]},
        links=[TraceLink(**row) for row in content["links"]],
        clauses=[ClauseInfo(**row) for row in content["clauses"]],
        clause_links=clause_links,
        results={row["test_case"]: TraceResult(**row) for row in content["results"]},
        commits=commits,
        deviations=deviations_from_rows(content.get("deviations", [])),
        artifacts=[ArtifactInfo(**row) for row in content.get("artifacts", [])],
    )


@without_gc
def baseline_verified(text: str, sha256: str, *, version: str) -> bytes:
    """The stored baseline text as bytes, once checked against its SHA-256 (BaselineCorrupt otherwise)."""
    data = text.encode()
    if sha256_hex(data) != sha256:
        raise BaselineCorrupt(f"baseline of {version} does not match its SHA-256 {sha256}")
    return data


def graph_from_baseline_text(text: str, sha256: str, *, release: ReleaseInfo) -> TraceGraph:
    """Verify the stored text against its hash, then rebuild the graph."""
    return graph_from_content(json.loads(baseline_verified(text, sha256, version=release.version)), release=release)
