"""Reading the webhook deliveries of pull requests (GitHub ``pull_request``,
``pull_request_review``) and merge requests (GitLab ``Merge Request Hook``) into
``PullRequestInput``, without touching the database.

A delivery is read in full before anything is written: a payload that lacks what it must carry
is a 400 naming the field (``payload_invalid``). Recording it is
``traceability.services.evidence.pull_requests.pull_request_record``.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from qms.errors import InvalidInput
from traceability.models import PullRequestProvider, PullRequestState, ReviewState
from traceability.services.evidence.inputs import moment_parse

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
MAX_NUMBER = 2**31 - 1
GITLAB_APPROVALS = {"approved": ReviewState.APPROVED, "approval": ReviewState.APPROVED}
GITLAB_WITHDRAWALS = {"unapproved": ReviewState.DISMISSED, "unapproval": ReviewState.DISMISSED}
GITLAB_STATES = {"opened": PullRequestState.OPEN, "locked": PullRequestState.OPEN, "closed": PullRequestState.CLOSED}


@dataclass(frozen=True)
class ReviewInput:
    external_id: str
    reviewer: str
    reviewer_id: str
    state: str
    submitted_at: datetime | None  # None: the time the delivery is received (GitLab approvals)
    commit_sha: str = ""


@dataclass(frozen=True)
class PullRequestInput:
    """What one delivery says about a pull or merge request (and, for a review event, one review)."""

    provider: str
    repository: str
    number: int
    title: str
    body: str
    url: str
    author: str  # "" when the delivery does not name the author (GitLab names it by id only)
    author_id: str
    state: str
    head_sha: str
    merge_commit_sha: str
    merged_at: datetime | None
    updated_at: datetime | None
    review: ReviewInput | None = None


def _invalid(where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{where}: {problem}", code="payload_invalid", field=where)


def _object(parent: dict[str, Any], name: str, where: str = "") -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise _invalid(f"{where}{name}", "must be an object")
    return value


def _text(
    parent: dict[str, Any], name: str, where: str, *, limit: int, required: bool = False, strip: bool = True
) -> str:
    value = parent.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _invalid(f"{where}{name}", "must be text" + (" (not empty)" if required else ""))
    if len(value) > limit:
        raise _invalid(f"{where}{name}", f"at most {limit} characters")
    return value.strip() if strip else value


def _url(parent: dict[str, Any], name: str, where: str) -> str:
    value = _text(parent, name, where, limit=500)
    if value:
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError as exc:
            raise _invalid(f"{where}{name}", f"must be an http(s) URL, got {value!r}") from exc
    return value


def _number(parent: dict[str, Any], name: str, where: str) -> int:
    value = parent.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_NUMBER:
        raise _invalid(f"{where}{name}", f"must be a positive whole number, got {value!r}")
    return value


def _user_id(parent: dict[str, Any], name: str, where: str) -> str:
    value = parent.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{where}{name}", f"must be a whole number, got {value!r}")
    return str(value)


def _sha(value: Any, where: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not FULL_SHA.fullmatch(value.strip().lower()):
        raise _invalid(where, f"must be a full commit SHA (40 hex digits), got {value!r}")
    return value.strip().lower()


def _moment(value: Any, where: str) -> datetime | None:
    """An ISO 8601 time, or GitLab's ``2013-12-03 17:23:34 UTC``."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.endswith(" UTC"):
        value = value[: -len(" UTC")].replace(" ", "T", 1) + "+00:00"
    try:
        return moment_parse(value, where)
    except InvalidInput as exc:
        raise _invalid(where, exc.message.split(": ", 1)[-1]) from exc


def github_pull_request_parse(payload: dict[str, Any], *, event: str) -> PullRequestInput:
    """A GitHub ``pull_request`` delivery (any action: the pull request as it is now), or a
    ``pull_request_review`` delivery (``submitted``, ``edited``, ``dismissed``: the review, and the
    pull request it carries)."""
    repository = _text(_object(payload, "repository"), "full_name", "repository.", limit=500, required=True)
    pull = _object(payload, "pull_request")
    where = "pull_request."
    user = _object(pull, "user", where)
    head = _object(pull, "head", where)
    raw_state = pull.get("state")
    if raw_state not in ("open", "closed"):
        raise _invalid(f"{where}state", f"must be 'open' or 'closed', got {raw_state!r}")
    merged_at = _moment(pull.get("merged_at"), f"{where}merged_at")
    merged = merged_at is not None or pull.get("merged") is True
    if merged and merged_at is None:
        raise _invalid(f"{where}merged_at", "a merged pull request needs the time it was merged")
    state = PullRequestState.MERGED if merged else raw_state
    review = None
    if event == "pull_request_review":
        raw = _object(payload, "review")
        reviewer = _object(raw, "user", "review.")
        verdict = raw.get("state")
        verdict = verdict.lower() if isinstance(verdict, str) else verdict
        if verdict not in ReviewState.values:
            raise _invalid("review.state", f"must be one of {', '.join(ReviewState.values)}, got {raw.get('state')!r}")
        if payload.get("action") == "dismissed":
            verdict = ReviewState.DISMISSED
        review = ReviewInput(
            external_id=str(_number(raw, "id", "review.")),
            reviewer=_text(reviewer, "login", "review.user.", limit=255, required=True),
            reviewer_id=_user_id(reviewer, "id", "review.user."),
            state=verdict,
            submitted_at=_moment(raw.get("submitted_at"), "review.submitted_at"),
            commit_sha=_sha(raw.get("commit_id"), "review.commit_id"),
        )
    return PullRequestInput(
        provider=PullRequestProvider.GITHUB,
        repository=repository,
        number=_number(pull, "number", where),
        title=_text(pull, "title", where, limit=500, required=True),
        body=_text(pull, "body", where, limit=262_144, strip=False),
        url=_url(pull, "html_url", where),
        author=_text(user, "login", f"{where}user.", limit=255, required=True),
        author_id=_user_id(user, "id", f"{where}user."),
        state=state,
        head_sha=_sha(head.get("sha"), f"{where}head.sha"),
        merge_commit_sha=_sha(pull.get("merge_commit_sha"), f"{where}merge_commit_sha") if merged else "",
        merged_at=merged_at,
        updated_at=_moment(pull.get("updated_at"), f"{where}updated_at"),
        review=review,
    )


def gitlab_merge_request_parse(payload: dict[str, Any]) -> PullRequestInput:
    """A GitLab ``Merge Request Hook`` delivery (``object_kind: merge_request``). Actions ``open``,
    ``update``, ``reopen``, ``close``, ``merge`` carry the merge request; ``approved``/``approval``
    and ``unapproved``/``unapproval`` also an approval given or withdrawn by the delivery's ``user``.

    GitLab names the author by ``author_id`` only: the author's user name is taken when the
    delivery's ``user`` is the author (an ``open`` by its author). A merge without a merge commit
    (a fast-forward merge) lands the head commit itself, so the head is taken as the commit that
    merged it."""
    if payload.get("object_kind") != "merge_request":
        raise _invalid(
            "object_kind", f"a Merge Request Hook has object_kind 'merge_request', got {payload.get('object_kind')!r}"
        )
    repository = _text(_object(payload, "project"), "path_with_namespace", "project.", limit=500, required=True)
    attributes = _object(payload, "object_attributes")
    where = "object_attributes."
    action = attributes.get("action") or ""
    raw_state = attributes.get("state")
    if raw_state not in (*GITLAB_STATES, "merged"):
        raise _invalid(f"{where}state", f"must be one of opened, closed, merged, locked; got {raw_state!r}")
    merged = raw_state == "merged" or action == "merge"
    state = PullRequestState.MERGED if merged else GITLAB_STATES[raw_state]
    last_commit = attributes.get("last_commit")
    head_sha = _sha(last_commit.get("id"), f"{where}last_commit.id") if isinstance(last_commit, dict) else ""
    updated_at = _moment(attributes.get("updated_at"), f"{where}updated_at")
    merged_at = _moment(attributes.get("merged_at"), f"{where}merged_at") or (updated_at if merged else None)
    author_id = _user_id(attributes, "author_id", where)
    if not author_id:
        raise _invalid(f"{where}author_id", "is required")
    user = payload.get("user")
    user = user if isinstance(user, dict) else {}
    user_id = _user_id(user, "id", "user.")
    review = None
    verdicts = {**GITLAB_APPROVALS, **GITLAB_WITHDRAWALS}
    if action in verdicts:
        if not user_id:
            raise _invalid("user", f"an '{action}' delivery names the approver as its user (id and username)")
        review = ReviewInput(
            external_id=f"approval:{user_id}",
            reviewer=_text(user, "username", "user.", limit=255, required=True),
            reviewer_id=user_id,
            state=verdicts[action],
            submitted_at=None,
            commit_sha=head_sha,
        )
    author = _text(user, "username", "user.", limit=255) if user_id and user_id == author_id else ""
    return PullRequestInput(
        provider=PullRequestProvider.GITLAB,
        repository=repository,
        number=_number(attributes, "iid", where),
        title=_text(attributes, "title", where, limit=500, required=True),
        body=_text(attributes, "description", where, limit=1_048_576, strip=False),
        url=_url(attributes, "url", where),
        author=author,
        author_id=author_id,
        state=state,
        head_sha=head_sha,
        merge_commit_sha=(_sha(attributes.get("merge_commit_sha"), f"{where}merge_commit_sha") or head_sha)
        if merged
        else "",
        merged_at=merged_at,
        updated_at=updated_at,
        review=review,
    )
