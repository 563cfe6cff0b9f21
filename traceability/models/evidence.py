from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from traceability.models.items import Item
from traceability.models.products import Product
from traceability.models.releases import SHA_VALIDATOR


class TestRunSource(models.TextChoices):
    JUNIT = "junit", "JUnit XML"
    MANUAL = "manual", "Manual execution"
    API = "api", "API"


class ResultStatus(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"
    SKIPPED = "skipped", "Skipped"
    PASSED_WITH_EXCEPTION = "passed_with_exception", "Passed with exception"
    FAILED_ACCEPTED = "failed_accepted", "Failed, accepted"


PASSING_STATUSES = frozenset({ResultStatus.PASSED, ResultStatus.PASSED_WITH_EXCEPTION, ResultStatus.FAILED_ACCEPTED})
FAILING_STATUSES = frozenset({ResultStatus.FAILED, ResultStatus.ERROR})
REVIEWED_STATUSES = frozenset({ResultStatus.PASSED_WITH_EXCEPTION, ResultStatus.FAILED_ACCEPTED})
# Within one run, a test case reported more than once counts with its worst result: higher wins.
STATUS_SEVERITY: dict[str, int] = {
    ResultStatus.ERROR: 5,
    ResultStatus.FAILED: 4,
    ResultStatus.SKIPPED: 3,
    ResultStatus.FAILED_ACCEPTED: 2,
    ResultStatus.PASSED_WITH_EXCEPTION: 1,
    ResultStatus.PASSED: 0,
}


class TestRun(models.Model):
    """One execution of tests (a CI job, an uploaded JUnit file, a manual session) for a version or commit."""

    __test__ = False  # not a pytest test class

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="test_runs")
    version = models.CharField(max_length=64, blank=True, db_index=True)
    commit_sha = models.CharField(max_length=40, blank=True, db_index=True, validators=[SHA_VALIDATOR])
    source = models.CharField(max_length=16, choices=TestRunSource.choices, default=TestRunSource.API)
    name = models.CharField(max_length=255, blank=True)
    ci_job_url = models.URLField(max_length=500, blank=True)
    environment = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the uploaded payload")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    token = models.ForeignKey("qms.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["product_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "digest"], condition=~Q(digest=""), name="test_run_unique_payload"
            ),
        ]

    def __str__(self) -> str:
        target = self.version or self.commit_sha[:12] or "unbound"
        return f"{self.product.key} run #{self.pk} ({target})"


class TestResult(models.Model):
    __test__ = False

    run = models.ForeignKey(TestRun, on_delete=models.PROTECT, related_name="results")
    # No index of its own: result_case_run_idx (test_case, run) leads with it, and one index fewer
    # is less to write for every result of a 10,000-case run.
    test_case = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.PROTECT, related_name="results", db_index=False
    )
    test_identifier = models.CharField(max_length=500)
    status = models.CharField(max_length=32, choices=ResultStatus.choices)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds")
    message = models.TextField(blank=True, help_text="Failure, error or skip message; notes of a manual execution")
    output = models.TextField(blank=True, help_text="Captured system-out / system-err, truncated")
    rationale = models.TextField(blank=True, help_text="Why a reviewed status was accepted")
    executed_by = models.CharField(max_length=255, blank=True, help_text="Tester, for manual executions")
    executed_at = models.DateTimeField(null=True, blank=True)
    requirement_keys = models.JSONField(default=list, blank=True, help_text="Requirement keys the result named")

    class Meta:
        ordering = ["run_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ResultStatus.values), name="test_result_status_valid"),
            models.CheckConstraint(
                condition=~Q(status__in=sorted(REVIEWED_STATUSES)) | ~Q(rationale=""),
                name="test_result_reviewed_needs_rationale",
            ),
        ]
        indexes = [models.Index(fields=["test_case", "run"], name="result_case_run_idx")]

    def __str__(self) -> str:
        return f"{self.test_identifier}: {self.status}"


class ManualExecution(TestResult):
    """A result of a manual test execution (tester, date, result, notes); recorded in the admin."""

    __test__ = False

    class Meta:
        proxy = True
        verbose_name = "manual test execution"


class Commit(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="commits")
    repository = models.CharField(max_length=500, blank=True)
    sha = models.CharField(max_length=40, validators=[SHA_VALIDATOR])
    author_name = models.CharField(max_length=255, blank=True)
    author_email = models.CharField(max_length=255, blank=True)
    authored_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)
    parents = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product_id", "authored_at", "id"]
        constraints = [models.UniqueConstraint(fields=["product", "sha"], name="commit_unique_sha")]

    def __str__(self) -> str:
        return self.sha[:12]


class CommitLinkKind(models.TextChoices):
    MENTIONS = "mentions", "mentions"
    IMPLEMENTS = "implements", "implements"
    FIXES = "fixes", "fixes"


class CommitLink(models.Model):
    commit = models.ForeignKey(Commit, on_delete=models.PROTECT, related_name="item_links")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="commit_links")
    kind = models.CharField(max_length=16, choices=CommitLinkKind.choices, default=CommitLinkKind.MENTIONS)

    class Meta:
        ordering = ["commit_id", "item_id"]
        constraints = [models.UniqueConstraint(fields=["commit", "item"], name="commit_link_unique")]

    def __str__(self) -> str:
        return f"{self.commit} {self.kind} {self.item}"


class WebhookSecret(models.Model):
    """The shared secret that GitHub (HMAC of the body) and GitLab (token header) webhooks present.

    Kept in clear because an HMAC can only be checked with the secret itself; it is shown once,
    when it is set, and never in the admin or the API afterwards.
    """

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="webhook_secret")
    secret = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product_id"]

    def __str__(self) -> str:
        return f"webhook secret of {self.product_id}"
