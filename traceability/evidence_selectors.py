"""Reads of test and commit evidence. Selectors own the query shape.

How evidence binds to a release (the trace engine relies on this meaning):
a release's results are those of the product's test runs whose ``version`` equals the release
version or whose ``commit_sha`` names the release's commit (equal, or one a prefix of the other);
per test case the latest run wins, ordered by (run started_at or created_at, run id), and within
a run the worst result (``STATUS_SEVERITY``); passed / passed_with_exception / failed_accepted
verify, failed / error fail, skipped is no result. ``traceability.graph.load.bound_results``
implements it.
"""

from django.db.models import Count, Prefetch, Q, QuerySet

from qms.errors import NotFound
from traceability.models import Artifact, Commit, CommitLink, Product, ResultStatus, TestResult, TestRun


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
