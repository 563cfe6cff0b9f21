"""Reads of test and commit evidence. Selectors own the query shape.

How evidence binds to a release (the trace engine relies on this meaning):
a release's results are those of the product's test runs whose ``version`` equals the release
version or whose ``commit_sha`` names the release's commit (equal, or one a prefix of the other);
per test case the latest run wins, ordered by (run started_at or created_at, run id), and within
a run the worst result (``STATUS_SEVERITY``); passed / passed_with_exception / failed_accepted
verify, failed / error fail, skipped is no result. ``traceability.graph.load.bound_results``
implements it.

The pull requests a release brings (RegOps gate G2): ``pull_requests_in_release``; their review
verdict and the walk through the commit history are pure functions in ``traceability.change_review``.
"""

from collections import defaultdict

from django.db.models import Count, Prefetch, Q, QuerySet

from qms.errors import NotFound
from qms.snapshot import read_snapshot
from traceability.change_review import (
    PullRequestInfo,
    PullRequestsInRelease,
    ReviewInfo,
    ReviewRecord,
    commit_ancestors,
    commits_named,
    pull_request_label,
    review_verdict,
)
from traceability.models import (
    Artifact,
    Commit,
    CommitLink,
    Product,
    PullRequest,
    PullRequestLink,
    PullRequestReview,
    PullRequestState,
    Release,
    ReleaseState,
    ResultStatus,
    TestResult,
    TestRun,
)


def _status_count(status: str) -> Count:
    return Count("results", filter=Q(results__status=status))


def run_list(*, product: Product) -> QuerySet[TestRun]:
    """Runs, newest first, with result counts per status (one query per page)."""
    return (
        TestRun.objects.filter(product=product)
        .select_related("product", "created_by", "token")
        .annotate(
            result_count=Count("results"),
            passed_count=_status_count(ResultStatus.PASSED),
            failed_count=_status_count(ResultStatus.FAILED),
            error_count=_status_count(ResultStatus.ERROR),
            skipped_count=_status_count(ResultStatus.SKIPPED),
            passed_with_exception_count=_status_count(ResultStatus.PASSED_WITH_EXCEPTION),
            failed_accepted_count=_status_count(ResultStatus.FAILED_ACCEPTED),
        )
        .order_by("-created_at", "-id")
    )


def run_get(*, product: Product, pk: int) -> TestRun:
    run = run_list(product=product).filter(pk=pk).first()
    if run is None:
        raise NotFound(f"{product.key} has no test run #{pk}", product=product.key)
    return run


def result_list(*, product: Product) -> QuerySet[TestResult]:
    return (
        TestResult.objects.filter(run__product=product)
        .select_related("run", "test_case")
        .order_by("-run__created_at", "-run_id", "id")
    )


def artifact_list(*, product: Product) -> QuerySet[Artifact]:
    """Artifacts, newest first (one query per page)."""
    return Artifact.objects.filter(product=product).select_related("created_by").order_by("-created_at", "-id")


def commit_list(*, product: Product) -> QuerySet[Commit]:
    """Commits, newest first, with their item links (two queries per page)."""
    links = CommitLink.objects.select_related("item").order_by("item__key")
    return (
        Commit.objects.filter(product=product)
        .select_related("created_by")
        .prefetch_related(Prefetch("item_links", queryset=links))
        .order_by("-authored_at", "-id")
    )


def commit_get(*, product: Product, sha: str) -> Commit:
    """A commit by its SHA or an unambiguous prefix of at least 7 hex digits."""
    sha = sha.lower()
    matches = list(commit_list(product=product).filter(sha__startswith=sha)[:2]) if len(sha) >= 7 else []
    if len(matches) != 1:
        problem = "is ambiguous" if len(matches) > 1 else "is not a stored commit"
        raise NotFound(f"{sha!r} {problem} of {product.key}", product=product.key, sha=sha)
    return matches[0]


# --- pull requests of a release (RegOps gate G2) -----------------------------------------------


def _previous_frozen(release: Release) -> Release | None:
    """The product's frozen release before this one (by freezing time; withdrawn ones aside: their
    changes never shipped, so the next release carries them)."""
    releases = Release.objects.filter(product_id=release.product_id, frozen_at__isnull=False).exclude(
        Q(pk=release.pk) | Q(state=ReleaseState.WITHDRAWN)
    )
    if release.frozen_at is not None:
        releases = releases.filter(
            Q(frozen_at__lt=release.frozen_at) | Q(frozen_at=release.frozen_at, pk__lt=release.pk)
        )
    return releases.order_by("-frozen_at", "-pk").first()


def _reachable(
    label: str, sha: str, parents: dict[str, list[str]], problems: list[str], *, unfound: str
) -> set[str] | None:
    """The commit and its ancestors (None when the commit cannot be found: ``unfound`` says what
    follows), recording in ``problems`` where the history is incomplete."""
    found = commits_named(sha, parents)
    if len(found) != 1:
        why = "names more than one of the" if found else "is not among the"
        problems.append(
            f"the commit {sha[:12]} of {label} {why} ingested commits ({unfound}): send the history with "
            "parents (ingest_git, or POST .../commits/ with 'parents')"
        )
        return None
    reachable, missing = commit_ancestors(found[0], parents)
    if missing:
        problems.append(
            f"the history behind {label} is incomplete: {len(missing)} parent commit(s) were not ingested "
            f"(e.g. {sorted(missing)[0][:12]}); pull requests merged there cannot be placed"
        )
    roots = [commit for commit in reachable if not parents[commit]]
    if len(roots) > 1:
        problems.append(
            f"{len(roots)} commits behind {label} have no parents recorded (commits from GitHub push webhooks "
            "carry none): the history is cut there; ingest it with ingest_git or the commits API with parents"
        )
    return reachable


@read_snapshot()
def pull_requests_in_release(*, release: Release) -> PullRequestsInRelease:
    """The merged pull requests of a release: those whose merge commit is the release's commit
    or one of its ancestors, and not the previous frozen release's commit or one of its
    ancestors (``git log previous..release``), each with its review verdict
    (:func:`review_verdict`). Six queries, whatever the number of commits and pull requests: the
    product's ingested commits are walked in memory through their parents.

    What keeps the answer from being complete is said in ``problems``, never silently dropped:
    a release without a commit SHA (no pull requests), a commit that was not ingested (none), a
    history with holes (the pull requests merged where it can reach), a previous release whose
    commit cannot be found (every reachable pull request counts), merged pull requests whose merge
    commit was never ingested (listed: they may belong to the release).
    """
    release = Release.objects.select_related("product").get(pk=release.pk)
    product = release.product
    label = f"{product.key} {release.version}"
    if not release.commit_sha:
        problem = (
            f"{label} names no commit (commit_sha), so the pull requests merged into it cannot be found: "
            "give the commit when freezing (release_freeze --commit, or POST .../freeze/ with commit_sha)"
        )
        return PullRequestsInRelease(release.version, "", None, [], [problem])
    previous = _previous_frozen(release)
    previous_version = previous.version if previous is not None else None
    parents = {sha: list(shas) for sha, shas in Commit.objects.filter(product=product).values_list("sha", "parents")}
    problems: list[str] = []
    reachable = _reachable(label, release.commit_sha, parents, problems, unfound="no pull request can be placed")
    if reachable is None:
        return PullRequestsInRelease(release.version, release.commit_sha, previous_version, [], problems)
    before: set[str] = set()
    if previous is not None:
        previous_label = f"the previous release {previous.version}"
        counted = "pull requests merged before it cannot be told apart and count in this release"
        if not previous.commit_sha:
            problems.append(f"{previous_label} names no commit: {counted}")
        else:
            before = _reachable(previous_label, previous.commit_sha, parents, problems, unfound=counted) or set()
    merged = list(
        PullRequest.objects.filter(product=product, state=PullRequestState.MERGED)
        .order_by("merged_at", "pk")
        .values_list(
            "pk",
            "provider",
            "repository",
            "number",
            "title",
            "url",
            "author",
            "author_id",
            "merged_at",
            "merge_commit_sha",
            "head_sha",
        )
    )
    included = [row for row in merged if row[9] in reachable and row[9] not in before]
    since = previous.frozen_at if previous is not None else None
    unplaced = [row for row in merged if row[9] not in parents and (since is None or row[8] is None or row[8] > since)]
    if unplaced:
        listed = ", ".join(
            f"{pull_request_label(row[1], row[2], row[3])} ({row[9][:12] or 'no merge commit'})"
            for row in unplaced[:20]
        )
        more = f" and {len(unplaced) - 20} more" if len(unplaced) > 20 else ""
        problems.append(
            f"{len(unplaced)} merged pull request(s) name a merge commit that was not ingested, so they cannot be "
            f"placed in or out of {label}: {listed}{more}"
        )
    # the reviews and links of the product's merged pull requests (no IN list of ids, however many)
    ids = {row[0] for row in included}
    of_merged = {"pull_request__product": product, "pull_request__state": PullRequestState.MERGED}
    reviews: dict[int, list[ReviewRecord]] = defaultdict(list)
    for pull_request_id, reviewer, reviewer_id, state, submitted_at, commit_sha, pk in (
        PullRequestReview.objects.filter(**of_merged)
        .order_by()
        .values_list("pull_request_id", "reviewer", "reviewer_id", "state", "submitted_at", "commit_sha", "pk")
    ):
        if pull_request_id in ids:
            reviews[pull_request_id].append(ReviewRecord(reviewer, reviewer_id, state, submitted_at, commit_sha, pk))
    items: dict[int, list[str]] = defaultdict(list)
    for pull_request_id, key in (
        PullRequestLink.objects.filter(**of_merged).order_by("item__key").values_list("pull_request_id", "item__key")
    ):
        if pull_request_id in ids:
            items[pull_request_id].append(key)
    prs = []
    for pk, provider, repository, number, title, url, author, author_id, merged_at, merge_sha, head_sha in included:
        ordered = sorted(reviews[pk], key=lambda review: (review.submitted_at, review.pk))
        approved, approvers, reasons = review_verdict(
            author=author, author_id=author_id, merged_at=merged_at, provider=provider, reviews=ordered
        )
        prs.append(
            PullRequestInfo(
                provider=provider,
                repository=repository,
                number=number,
                title=title,
                url=url,
                author=author,
                state=PullRequestState.MERGED,
                merged_at=merged_at,
                merge_commit_sha=merge_sha,
                head_sha=head_sha,
                approved=approved,
                approvers=approvers,
                reasons=reasons,
                items=tuple(items[pk]),
                reviews=tuple(
                    ReviewInfo(review.reviewer, review.state, review.submitted_at, review.commit_sha)
                    for review in ordered
                ),
            )
        )
    return PullRequestsInRelease(release.version, release.commit_sha, previous_version, prs, problems)
