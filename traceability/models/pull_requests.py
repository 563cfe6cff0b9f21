"""Pull requests (GitHub) and merge requests (GitLab) with their reviews: the evidence of change
review for RegOps gate G2 (IEC 62304 8.2, 6.2.4). Written only by the webhooks
(``traceability.services.evidence.pull_requests``), one audit event per delivery that changed
something."""

from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from traceability.models.evidence import CommitLinkKind
from traceability.models.items import Item
from traceability.models.products import Product
from traceability.models.releases import SHA_VALIDATOR


class PullRequestProvider(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"


class PullRequestState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed (not merged)"
    MERGED = "merged", "Merged"


class ReviewState(models.TextChoices):
    """A review's verdict, in GitHub's words. A GitLab approval is ``approved`` while it stands and
    ``dismissed`` once its approver withdraws it."""

    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    COMMENTED = "commented", "Commented"
    DISMISSED = "dismissed", "Dismissed"


class PullRequest(models.Model):
    """A pull or merge request of one of the product's repositories, as its provider last reported
    it. ``author_id`` and a reviewer's ``reviewer_id`` are the provider's numeric user ids (GitLab
    names the author only by id); ``provider_updated_at`` orders deliveries, so an older one
    delivered again never rolls the record back. ``merge_commit_sha`` is set once merged (GitHub's
    test merge commit of an open pull request is not kept)."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="pull_requests")
    provider = models.CharField(max_length=16, choices=PullRequestProvider.choices)
    repository = models.CharField(max_length=500, help_text="owner/name (GitHub) or group/project path (GitLab)")
    number = models.PositiveIntegerField(help_text="The pull request number (GitLab: the merge request's iid)")
    title = models.CharField(max_length=500)
    body = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    author = models.CharField(max_length=255, blank=True, help_text="Login / user name of the author")
    author_id = models.CharField(max_length=64, blank=True, help_text="The provider's user id of the author")
    state = models.CharField(max_length=16, choices=PullRequestState.choices, default=PullRequestState.OPEN)
    head_sha = models.CharField(max_length=40, blank=True, validators=[SHA_VALIDATOR])
    merge_commit_sha = models.CharField(max_length=40, blank=True, validators=[SHA_VALIDATOR])
    merged_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product_id", "provider", "repository", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "provider", "repository", "number"], name="pull_request_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=PullRequestProvider.values), name="pull_request_provider_valid"
            ),
            models.CheckConstraint(condition=Q(state__in=PullRequestState.values), name="pull_request_state_valid"),
            models.CheckConstraint(
                condition=~Q(state=PullRequestState.MERGED) | Q(merged_at__isnull=False),
                name="pull_request_merged_has_time",
            ),
        ]
        indexes = [models.Index(fields=["product", "state"], name="pull_request_product_state_idx")]

    def __str__(self) -> str:
        return f"{self.repository}{'!' if self.provider == PullRequestProvider.GITLAB else '#'}{self.number}"


class PullRequestReview(models.Model):
    """One review of a pull request (GitHub: by its review id), or one approver's approval of a
    merge request (GitLab: one row per approver, withdrawn approvals ``dismissed``)."""

    pull_request = models.ForeignKey(PullRequest, on_delete=models.PROTECT, related_name="reviews")
    external_id = models.CharField(max_length=64, help_text="GitHub review id; GitLab: approval:<user id>")
    reviewer = models.CharField(max_length=255)
    reviewer_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=32, choices=ReviewState.choices)
    submitted_at = models.DateTimeField()
    commit_sha = models.CharField(max_length=40, blank=True, validators=[SHA_VALIDATOR])
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pull_request_id", "submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pull_request", "external_id"], name="pull_request_review_unique"),
            models.CheckConstraint(condition=Q(state__in=ReviewState.values), name="pull_request_review_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.state}"


class PullRequestLink(models.Model):
    """An item the pull request's title or description names (as a commit message names one)."""

    pull_request = models.ForeignKey(PullRequest, on_delete=models.PROTECT, related_name="item_links")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="pull_request_links")
    kind = models.CharField(max_length=16, choices=CommitLinkKind.choices, default=CommitLinkKind.MENTIONS)

    class Meta:
        ordering = ["pull_request_id", "item_id"]
        constraints = [models.UniqueConstraint(fields=["pull_request", "item"], name="pull_request_link_unique")]

    def __str__(self) -> str:
        return f"{self.pull_request} {self.kind} {self.item}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def pull_request_state(
    pull_request: PullRequest, reviews: list[PullRequestReview], links: dict[str, str]
) -> dict[str, Any]:
    """The record as the audit trail holds it: its fields, reviews and the items it names
    (``audit_verify`` compares every pull request with the newest of its events)."""
    return {
        "provider": pull_request.provider,
        "repository": pull_request.repository,
        "number": pull_request.number,
        "title": pull_request.title,
        "body": pull_request.body,
        "url": pull_request.url,
        "author": pull_request.author,
        "author_id": pull_request.author_id,
        "state": pull_request.state,
        "head_sha": pull_request.head_sha,
        "merge_commit_sha": pull_request.merge_commit_sha,
        "merged_at": _iso(pull_request.merged_at),
        "reviews": [
            {
                "id": review.external_id,
                "reviewer": review.reviewer,
                "reviewer_id": review.reviewer_id,
                "state": review.state,
                "submitted_at": _iso(review.submitted_at),
                "commit_sha": review.commit_sha,
            }
            for review in sorted(reviews, key=lambda review: review.external_id)
        ],
        "items": [[key, kind] for key, kind in sorted(links.items())],
    }
