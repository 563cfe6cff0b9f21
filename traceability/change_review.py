"""Change review, as pure functions: a pull request's review verdict, and walking the commit
history through its parents. ``traceability.evidence_selectors.pull_requests_in_release`` reads
the records and asks these (RegOps gate G2: IEC 62304 8.2 change control, 6.2.4 approval)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from traceability.graph.load import iso
from traceability.models import PullRequestProvider, ReviewState


@dataclass(frozen=True)
class ReviewInfo:
    reviewer: str
    state: str
    submitted_at: datetime
    commit_sha: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "reviewer": self.reviewer,
            "state": self.state,
            "submitted_at": iso(self.submitted_at),
            "commit_sha": self.commit_sha,
        }


@dataclass(frozen=True)
class PullRequestInfo:
    """A merged pull request of a release, whether its review approves it, and why."""

    provider: str
    repository: str
    number: int
    title: str
    url: str
    author: str
    state: str
    merged_at: datetime | None
    merge_commit_sha: str
    head_sha: str
    approved: bool
    approvers: tuple[str, ...]
    reasons: tuple[str, ...]
    items: tuple[str, ...]  # keys of the items its title and description name
    reviews: tuple[ReviewInfo, ...]

    @property
    def label(self) -> str:
        return pull_request_label(self.provider, self.repository, self.number)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pull_request": self.label,
            "provider": self.provider,
            "repository": self.repository,
            "number": self.number,
            "title": self.title,
            "url": self.url,
            "author": self.author,
            "state": self.state,
            "merged_at": iso(self.merged_at),
            "merge_commit_sha": self.merge_commit_sha,
            "head_sha": self.head_sha,
            "approved": self.approved,
            "approvers": list(self.approvers),
            "reasons": list(self.reasons),
            "items": list(self.items),
            "reviews": [review.as_dict() for review in self.reviews],
        }


@dataclass(frozen=True)
class PullRequestsInRelease:
    """The merged pull requests a release brings (since the previous frozen release), and what
    kept the answer from being complete (``problems``, empty when it is)."""

    version: str
    commit_sha: str
    previous: str | None  # the previous frozen release's version
    prs: list[PullRequestInfo]
    problems: list[str]

    @property
    def complete(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "commit_sha": self.commit_sha,
            "previous": self.previous,
            "complete": self.complete,
            "pull_requests": [info.as_dict() for info in self.prs],
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class ReviewRecord:
    reviewer: str
    reviewer_id: str
    state: str
    submitted_at: datetime
    commit_sha: str
    pk: int


def _same_person(login: str, user_id: str, other_login: str, other_id: str) -> bool:
    if user_id and other_id:
        return user_id == other_id
    return bool(login) and login.lower() == other_login.lower()


def review_verdict(
    *, author: str, author_id: str, merged_at: datetime | None, provider: str, reviews: list[ReviewRecord]
) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """Whether the reviews approve the change, who approved, and the reasons in words.

    Approved: at least one approval by someone other than the author, and no reviewer whose
    latest verdict is a request for changes. Each reviewer's latest verdict (approved or changes
    requested) counts; comments do not change it, and dismissed reviews (GitLab: withdrawn
    approvals) do not count. The author's own reviews never count, nor do reviews submitted after
    the merge.
    """
    reasons: list[str] = []
    latest: dict[str, ReviewRecord] = {}
    for review in sorted(reviews, key=lambda review: (review.submitted_at, review.pk)):
        who = review.reviewer
        if _same_person(author, author_id, review.reviewer, review.reviewer_id):
            if review.state == ReviewState.APPROVED:
                reasons.append(
                    f"the approval of {who} ({iso(review.submitted_at)}) is the author's own and does not count"
                )
            continue
        if merged_at is not None and review.submitted_at > merged_at:
            reasons.append(f"the review of {who} ({iso(review.submitted_at)}) came after the merge and does not count")
            continue
        if review.state == ReviewState.DISMISSED:
            withdrawn = (
                "withdrew their approval" if provider == PullRequestProvider.GITLAB else "had a review dismissed"
            )
            reasons.append(f"{who} {withdrawn} ({iso(review.submitted_at)})")
            continue
        if review.state in (ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED):
            latest[review.reviewer_id or who.lower()] = review
    approvers = tuple(review.reviewer for review in latest.values() if review.state == ReviewState.APPROVED)
    blocking = [review for review in latest.values() if review.state == ReviewState.CHANGES_REQUESTED]
    for review in blocking:
        reasons.append(
            f"changes requested by {review.reviewer} ({iso(review.submitted_at)}) are unresolved: "
            f"{review.reviewer} has not approved since and the review was not dismissed"
        )
    if approvers:
        reasons.insert(0, f"approved by {', '.join(approvers)}")
    else:
        reasons.insert(0, f"no approving review by anyone other than the author ({author or f'user id {author_id}'})")
    return bool(approvers) and not blocking, approvers, tuple(reasons)


def pull_request_label(provider: str, repository: str, number: int) -> str:
    return f"{repository}{'!' if provider == PullRequestProvider.GITLAB else '#'}{number}"


def commits_named(sha: str, parents: dict[str, list[str]]) -> list[str]:
    """The ingested commits a (possibly short) SHA names."""
    if sha in parents:
        return [sha]
    return [known for known in parents if known.startswith(sha)] if len(sha) < 40 else []


def commit_ancestors(start: str, parents: dict[str, list[str]]) -> tuple[set[str], set[str]]:
    """The commit and its ancestors among the ingested ones, and the parents named but not ingested."""
    seen: set[str] = set()
    missing: set[str] = set()
    stack = [start]
    while stack:
        sha = stack.pop()
        if sha in seen or sha in missing:
            continue
        if sha not in parents:
            missing.add(sha)
            continue
        seen.add(sha)
        stack.extend(parents[sha])
    return seen, missing
