"""Pull requests (GitHub ``pull_request``, ``pull_request_review``) and merge requests (GitLab
``Merge Request Hook``) from the webhooks: recording a delivery.

A delivery is read in full first (``pull_request_payloads``: a payload that lacks what it must
carry is a 400 naming the field, and nothing is stored). Recording is idempotent:
a delivery that changes nothing (the same payload again) writes nothing; one that changes
something writes one audit event (``pull_request.created`` or ``pull_request.updated``, with the
record before and after).

Ordering: deliveries may arrive late or be sent again. The pull request's own fields follow the
delivery whose provider ``updated_at`` is newest (an older one never rolls them back), and a merged
pull request stays merged. A GitHub review's verdict never changes once submitted, except that a
dismissal is final. A GitLab approval (actions ``approved`` / ``approval``) and its withdrawal
(``unapproved`` / ``unapproval``) are one row per approver, ``approved`` or ``dismissed``; GitLab
sends no time for them, so the time the delivery is received is recorded.

Keys that the title or description names link the pull request to items, as commit messages do
(``traceability.services.evidence.references``): ``Implements: SRS-12`` → implements, ``Fixes:
ANOM-3`` → fixes, any other key → mentions; the links follow the text when it is edited.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from qms.services import audit_record
from traceability.models import (
    Item,
    Product,
    PullRequest,
    PullRequestLink,
    PullRequestProvider,
    PullRequestReview,
    PullRequestState,
    ReviewState,
)
from traceability.models.pull_requests import pull_request_state
from traceability.services.evidence.pull_request_payloads import PullRequestInput, ReviewInput
from traceability.services.evidence.references import commit_message_references

UNRESOLVED_SHOWN = 100


@dataclass
class PullRequestReport:
    pull_request: PullRequest
    created: bool = False
    changed: bool = False
    links_created: int = 0
    links_removed: int = 0
    unresolved: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        pull_request = self.pull_request
        return {
            "status": "recorded" if self.changed else "unchanged",
            "pull_request": {
                "provider": pull_request.provider,
                "repository": pull_request.repository,
                "number": pull_request.number,
                "state": pull_request.state,
            },
            "links_created": self.links_created,
            "links_removed": self.links_removed,
            "unresolved": self.unresolved,
        }


def _fields_apply(pull_request: PullRequest, delivery: PullRequestInput, now: datetime) -> None:
    """The delivery's view of the pull request, unless it is older than what is recorded (the
    author, which never changes, is taken from any delivery that names it)."""
    pull_request.author = delivery.author or pull_request.author
    pull_request.author_id = delivery.author_id or pull_request.author_id
    known = pull_request.provider_updated_at
    if known is not None and delivery.updated_at is not None and delivery.updated_at < known:
        return  # a late or repeated older delivery
    was_merged = pull_request.state == PullRequestState.MERGED
    pull_request.title = delivery.title
    pull_request.body = delivery.body
    pull_request.url = delivery.url or pull_request.url
    pull_request.head_sha = delivery.head_sha or pull_request.head_sha
    if not was_merged:  # merged is final: its merge commit and time stay as first reported
        pull_request.state = delivery.state
        if delivery.state == PullRequestState.MERGED:
            pull_request.merge_commit_sha = delivery.merge_commit_sha
            pull_request.merged_at = delivery.merged_at or now
    if delivery.updated_at is not None:
        pull_request.provider_updated_at = delivery.updated_at


def _review_apply(
    reviews: dict[str, PullRequestReview], review: ReviewInput, *, provider: str, now: datetime
) -> PullRequestReview | None:
    """The review row to save, or None when the delivery changes nothing about it."""
    existing = reviews.get(review.external_id)
    if existing is None:
        return PullRequestReview(
            external_id=review.external_id,
            reviewer=review.reviewer,
            reviewer_id=review.reviewer_id,
            state=review.state,
            submitted_at=review.submitted_at or now,
            commit_sha=review.commit_sha,
            created_at=now,
            updated_at=now,
        )
    if provider == PullRequestProvider.GITLAB:
        if existing.state == review.state:
            return None
        existing.state, existing.submitted_at, existing.commit_sha = review.state, now, review.commit_sha
    else:  # a GitHub review keeps its verdict; only a dismissal changes it, for good
        if existing.state == ReviewState.DISMISSED or review.state != ReviewState.DISMISSED:
            return None
        existing.state = ReviewState.DISMISSED
    existing.updated_at = now
    return existing


def _links_wanted(product: Product, pull_request: PullRequest) -> tuple[dict[str, str], dict[str, int], list[str]]:
    """The items the title and description name (key → kind), their ids, and keys naming no item."""
    references = commit_message_references(f"{pull_request.title}\n\n{pull_request.body}", product.key_pattern)
    ids = dict(Item.objects.filter(product=product, key__in=[key for key, _ in references]).values_list("key", "pk"))
    wanted = {key: str(kind) for key, kind in references if key in ids}
    return wanted, ids, [key for key, _ in references if key not in ids]


@transaction.atomic
def pull_request_record(*, product: Product, delivery: PullRequestInput, via: str) -> PullRequestReport:
    """Create or update the pull request a webhook delivery reports (and the review it carries).

    One audit event when something changed (``pull_request.created`` / ``pull_request.updated``,
    before and after); nothing at all when the delivery changes nothing.
    """
    product = Product.objects.select_for_update().get(pk=product.pk)  # deliveries of a product one at a time
    now = timezone.now()
    pull_request = PullRequest.objects.filter(
        product=product, provider=delivery.provider, repository=delivery.repository, number=delivery.number
    ).first()
    created = pull_request is None
    if pull_request is None:
        pull_request = PullRequest(
            product=product,
            provider=delivery.provider,
            repository=delivery.repository,
            number=delivery.number,
            created_at=now,
        )
        reviews: dict[str, PullRequestReview] = {}
        links: dict[str, PullRequestLink] = {}
    else:
        reviews = {review.external_id: review for review in pull_request.reviews.all()}
        links = {link.item.key: link for link in pull_request.item_links.select_related("item")}
    before = (
        None
        if created
        else pull_request_state(pull_request, list(reviews.values()), {key: link.kind for key, link in links.items()})
    )
    _fields_apply(pull_request, delivery, now)
    review = _review_apply(reviews, delivery.review, provider=delivery.provider, now=now) if delivery.review else None
    if review is not None:
        reviews[review.external_id] = review
    wanted, item_ids, unresolved = _links_wanted(product, pull_request)
    report = PullRequestReport(pull_request=pull_request, created=created, unresolved=unresolved[:UNRESOLVED_SHOWN])
    after = pull_request_state(pull_request, list(reviews.values()), wanted)
    if after == before:
        return report
    pull_request.updated_at = now
    pull_request.save()
    if review is not None:
        review.pull_request = pull_request
        review.save()
    stale = [link.pk for key, link in links.items() if wanted.get(key) != link.kind]
    PullRequestLink.objects.filter(pk__in=stale).delete()
    fresh = [key for key, kind in wanted.items() if key not in links or links[key].kind != kind]
    PullRequestLink.objects.bulk_create(
        [PullRequestLink(pull_request=pull_request, item_id=item_ids[key], kind=wanted[key]) for key in fresh]
    )
    report.changed = True
    report.links_created = len([key for key in fresh if key not in links])
    report.links_removed = len([key for key in links if key not in wanted])
    audit_record(
        actor=None,
        action="pull_request.created" if created else "pull_request.updated",
        obj=pull_request,
        scope=product.key,
        object_repr=f"{product.key} {pull_request}",
        before=before,
        after=after,
        note=via,
    )
    return report
