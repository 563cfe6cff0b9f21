"""Pull requests (GitHub ``pull_request``, ``pull_request_review``) and merge requests (GitLab
``Merge Request Hook``) from the webhooks: authenticated by the product's secret, idempotent,
audited once per delivery that changed something, refused whole when malformed."""

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from qms.models import AuditEvent
from qms.services import audit_checkpoint_write
from traceability.models import PullRequest, PullRequestLink, PullRequestReview
from traceability.services.evidence import webhook_secret_rotate

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
HEAD = "9f2c5d1e7a3b4c6d8e0f1a2b3c4d5e6f7a8b9c0d"
MERGE = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def secret(small_graph, make_item, qm) -> str:
    make_item("CR-1", "change_request", title="Round doses down")
    return webhook_secret_rotate(product=small_graph["SRS-1"].product, actor=qm)


def state() -> tuple:
    return (
        tuple(PullRequest.objects.order_by("pk").values_list("state", "title", "merge_commit_sha", "merged_at")),
        tuple(PullRequestReview.objects.order_by("pk").values_list("external_id", "state", "submitted_at")),
        tuple(PullRequestLink.objects.order_by("pk").values_list("item__key", "kind")),
        AuditEvent.objects.count(),
    )


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(payload: Any, *, secret: str | None, event: str, signature: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": DELIVERY}
    signature = signature if signature is not None else (sign(secret, body) if secret is not None else None)
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return APIClient().post("/api/v1/webhooks/github/DEMO/", body, content_type="application/json", **headers)


def gitlab(payload: Any, *, token: str | None, event: str = "Merge Request Hook"):
    headers = {"HTTP_X_GITLAB_EVENT": event, "HTTP_X_GITLAB_EVENT_UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"}
    if token is not None:
        headers["HTTP_X_GITLAB_TOKEN"] = token
    body = json.dumps(payload).encode()
    return APIClient().post("/api/v1/webhooks/gitlab/DEMO/", body, content_type="application/json", **headers)


# --- GitHub ------------------------------------------------------------------------------------


def test_an_opened_pull_request_is_stored_with_its_item_links_and_one_event(secret):
    response = github(fixture("github-pull_request-opened"), secret=secret, event="pull_request")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "status": "recorded",
        "pull_request": {"provider": "github", "repository": "acme/bolus", "number": 42, "state": "open"},
        "links_created": 2,
        "links_removed": 0,
        "unresolved": [],
    }
    stored = PullRequest.objects.get()
    assert (
        stored.provider,
        stored.repository,
        stored.number,
        stored.title,
        stored.url,
        stored.author,
        stored.author_id,
        stored.state,
        stored.head_sha,
        stored.merge_commit_sha,
        stored.merged_at,
    ) == (
        "github",
        "acme/bolus",
        42,
        "Round doses down (CR-1)",
        "https://github.com/acme/bolus/pull/42",
        "dana",
        "1001",
        "open",
        HEAD,
        "",  # GitHub's test merge commit of an open pull request is not kept
        None,
    )
    assert sorted(stored.item_links.values_list("item__key", "kind")) == [("CR-1", "mentions"), ("SRS-1", "implements")]
    event = AuditEvent.objects.get(action="pull_request.created")
    assert (event.actor_username, event.scope, event.object_repr, event.note) == (
        "system",
        "DEMO",
        "DEMO acme/bolus#42",
        f"github webhook {DELIVERY}",
    )
    assert event.after["items"] == [["CR-1", "mentions"], ["SRS-1", "implements"]]


def test_the_same_delivery_again_changes_nothing(secret):
    payload = fixture("github-pull_request-opened")
    assert github(payload, secret=secret, event="pull_request").status_code == 201
    before = state()
    again = github(payload, secret=secret, event="pull_request")
    assert again.status_code == 200
    assert again.json()["status"] == "unchanged"
    assert state() == before


def test_a_review_then_the_merge_are_recorded_one_event_each(secret):
    github(fixture("github-pull_request-opened"), secret=secret, event="pull_request")
    events = AuditEvent.objects.count()
    reviewed = github(fixture("github-pull_request_review-submitted"), secret=secret, event="pull_request_review")
    assert (reviewed.status_code, reviewed.json()["status"]) == (200, "recorded")
    review = PullRequestReview.objects.get()
    assert (review.external_id, review.reviewer, review.reviewer_id, review.state, review.commit_sha) == (
        "237895671",
        "robin",
        "1002",
        "approved",
        HEAD,
    )
    assert review.submitted_at == datetime(2026, 3, 3, 10, 30, tzinfo=UTC)
    merged = github(fixture("github-pull_request-closed-merged"), secret=secret, event="pull_request")
    assert merged.json()["pull_request"]["state"] == "merged"
    stored = PullRequest.objects.get()
    assert (stored.state, stored.merge_commit_sha, stored.merged_at) == (
        "merged",
        MERGE,
        datetime(2026, 3, 3, 11, 0, 4, tzinfo=UTC),
    )
    assert list(AuditEvent.objects.filter(id__gt=0).order_by("-id").values_list("action", flat=True)[:2]) == [
        "pull_request.updated",
        "pull_request.updated",
    ]
    assert AuditEvent.objects.count() == events + 2
    updated = AuditEvent.objects.filter(action="pull_request.updated").order_by("id").last()
    assert (updated.before["state"], updated.after["state"], updated.after["merge_commit_sha"]) == (
        "open",
        "merged",
        MERGE,
    )


def test_an_older_delivery_sent_late_never_rolls_the_record_back(secret):
    github(fixture("github-pull_request-opened"), secret=secret, event="pull_request")
    github(fixture("github-pull_request-closed-merged"), secret=secret, event="pull_request")
    before = state()
    late = github(fixture("github-pull_request-opened"), secret=secret, event="pull_request")
    assert (late.status_code, late.json()["status"]) == (200, "unchanged")
    assert state() == before
    reopened = fixture("github-pull_request-opened")
    reopened["pull_request"]["updated_at"] = "2026-03-04T08:00:00Z"  # newer, yet a merge is final
    github(reopened, secret=secret, event="pull_request")
    assert PullRequest.objects.get().state == "merged"


def test_a_dismissal_is_final_and_a_submission_sent_again_does_not_undo_it(secret):
    github(fixture("github-pull_request_review-submitted"), secret=secret, event="pull_request_review")
    dismissed = github(fixture("github-pull_request_review-dismissed"), secret=secret, event="pull_request_review")
    assert dismissed.json()["status"] == "recorded"
    assert PullRequestReview.objects.get().state == "dismissed"
    before = state()
    again = github(fixture("github-pull_request_review-submitted"), secret=secret, event="pull_request_review")
    assert again.json()["status"] == "unchanged"
    assert state() == before


def test_editing_the_description_moves_the_item_links(secret):
    github(fixture("github-pull_request-opened"), secret=secret, event="pull_request")
    edited = fixture("github-pull_request-opened")
    edited["action"] = "edited"
    edited["pull_request"]["body"] = "Fixes: SYS-1 and mentions UNKNOWN-9"
    edited["pull_request"]["updated_at"] = "2026-03-03T09:20:00Z"
    response = github(edited, secret=secret, event="pull_request")
    assert response.json()["links_created"] == 1
    assert response.json()["links_removed"] == 1
    assert response.json()["unresolved"] == ["UNKNOWN-9"]
    links = sorted(PullRequestLink.objects.values_list("item__key", "kind"))
    assert links == [("CR-1", "mentions"), ("SYS-1", "fixes")]  # CR-1 stays: the title names it


@pytest.mark.parametrize("event", ["pull_request", "pull_request_review"])
@pytest.mark.parametrize(
    ("signature", "status", "error"),
    [(None, 401, "signature_missing"), ("sha256=" + "0" * 64, 403, "signature_invalid")],
)
def test_a_delivery_without_a_valid_signature_stores_nothing(secret, event, signature, status, error):
    name = "github-pull_request-opened" if event == "pull_request" else "github-pull_request_review-submitted"
    before = state()
    body = json.dumps(fixture(name)).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event}
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    response = APIClient().post("/api/v1/webhooks/github/DEMO/", body, content_type="application/json", **headers)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert state() == before


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    target = changed
    for name in path[:-1]:
        target = target[name]
    del target[path[-1]]
    return changed


def _with(payload: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    target = changed
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    return changed


OPENED = fixture("github-pull_request-opened")
REVIEWED = fixture("github-pull_request_review-submitted")
MERGED = fixture("github-pull_request-closed-merged")


@pytest.mark.parametrize(
    ("event", "payload", "message"),
    [
        ("pull_request", _without(OPENED, "pull_request"), "pull_request: must be an object"),
        ("pull_request", _without(OPENED, "repository"), "repository: must be an object"),
        ("pull_request", _with(OPENED, "", "repository", "full_name"), "repository.full_name: must be text (not"),
        ("pull_request", _with(OPENED, "42", "pull_request", "number"), "pull_request.number: must be a positive"),
        ("pull_request", _with(OPENED, 2**31, "pull_request", "number"), "pull_request.number: must be a positive"),
        ("pull_request", _with(OPENED, "draft", "pull_request", "state"), "pull_request.state: must be 'open' or"),
        ("pull_request", _with(OPENED, "x" * 501, "pull_request", "title"), "pull_request.title: at most 500"),
        ("pull_request", _with(OPENED, "nope", "pull_request", "head", "sha"), "pull_request.head.sha: must be a full"),
        ("pull_request", _with(OPENED, "javascript:alert(1)", "pull_request", "html_url"), "must be an http(s) URL"),
        ("pull_request", _with(MERGED, None, "pull_request", "merged_at"), "pull_request.merged_at: a merged pull"),
        ("pull_request", _with(MERGED, "yesterday", "pull_request", "merged_at"), "pull_request.merged_at: must be"),
        ("pull_request", _with(OPENED, "2026-03-03T09:12:00", "pull_request", "updated_at"), "needs a time zone"),
        ("pull_request_review", _with(REVIEWED, "LOOKS_GOOD", "review", "state"), "review.state: must be one of"),
        ("pull_request_review", _without(REVIEWED, "review", "id"), "review.id: must be a positive whole number"),
        ("pull_request_review", _with(REVIEWED, "7", "review", "user", "id"), "review.user.id: must be a whole"),
    ],
)
def test_a_malformed_delivery_is_400_naming_the_field_and_stores_nothing(secret, event, payload, message):
    before = state()
    response = github(payload, secret=secret, event=event)
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "payload_invalid"
    assert message in response.json()["detail"]
    assert state() == before


def test_other_github_events_are_ignored(secret):
    response = github({"action": "created"}, secret=secret, event="pull_request_review_comment")
    assert response.json() == {"status": "ignored", "event": "pull_request_review_comment"}
    assert PullRequest.objects.count() == 0


# --- GitLab ------------------------------------------------------------------------------------


def test_a_gitlab_merge_request_its_approval_and_its_merge(secret):
    opened = gitlab(fixture("gitlab-merge_request-open"), token=secret)
    assert opened.status_code == 201, opened.json()
    stored = PullRequest.objects.get()
    assert (stored.provider, stored.repository, stored.number, stored.author, stored.author_id, stored.state) == (
        "gitlab",
        "acme/bolus",
        7,
        "dana",  # the delivery's user is the author (same id)
        "51",
        "open",
    )
    assert str(stored) == "acme/bolus!7"
    approved = gitlab(fixture("gitlab-merge_request-approved"), token=secret)
    assert approved.json()["status"] == "recorded"
    review = PullRequestReview.objects.get()
    assert (review.external_id, review.reviewer, review.reviewer_id, review.state, review.commit_sha) == (
        "approval:52",
        "robin",
        "52",
        "approved",
        HEAD,
    )
    merged = gitlab(fixture("gitlab-merge_request-merge"), token=secret)
    assert merged.json()["pull_request"]["state"] == "merged"
    stored.refresh_from_db()
    assert (stored.author, stored.state, stored.merge_commit_sha, stored.merged_at) == (
        "dana",  # the merger (robin) is not the author: the author's name stays
        "merged",
        MERGE,
        datetime(2026, 3, 3, 11, 0, 4, tzinfo=UTC),
    )
    events = AuditEvent.objects.filter(object_type="traceability.pullrequest").order_by("id")
    assert [(event.action, event.note) for event in events] == [
        ("pull_request.created", "gitlab webhook 13792a34-cac6-4fda-95a8-c58e00a3954e"),
        ("pull_request.updated", "gitlab webhook 13792a34-cac6-4fda-95a8-c58e00a3954e"),
        ("pull_request.updated", "gitlab webhook 13792a34-cac6-4fda-95a8-c58e00a3954e"),
    ]


def test_a_gitlab_approval_withdrawn_is_dismissed_and_the_same_delivery_again_changes_nothing(secret):
    gitlab(fixture("gitlab-merge_request-approved"), token=secret)
    withdrawn = gitlab(fixture("gitlab-merge_request-unapproved"), token=secret)
    assert withdrawn.json()["status"] == "recorded"
    assert PullRequestReview.objects.get().state == "dismissed"
    before = state()
    assert gitlab(fixture("gitlab-merge_request-unapproved"), token=secret).json()["status"] == "unchanged"
    assert state() == before


def test_an_individual_gitlab_approval_counts_like_the_last_required_one(secret):
    single = _with(fixture("gitlab-merge_request-approved"), "approval", "object_attributes", "action")
    gitlab(single, token=secret)
    assert PullRequestReview.objects.get().state == "approved"


def test_a_gitlab_fast_forward_merge_names_the_head_as_its_merge_commit(secret):
    merged = _with(fixture("gitlab-merge_request-merge"), None, "object_attributes", "merge_commit_sha")
    gitlab(merged, token=secret)
    assert PullRequest.objects.get().merge_commit_sha == HEAD


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong", 403)])
def test_a_gitlab_delivery_without_the_token_stores_nothing(secret, token, status):
    before = state()
    assert gitlab(fixture("gitlab-merge_request-open"), token=token).status_code == status
    assert state() == before


GL_OPEN = fixture("gitlab-merge_request-open")
GL_APPROVED = fixture("gitlab-merge_request-approved")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_with(GL_OPEN, "issue", "object_kind"), "object_kind: a Merge Request Hook has object_kind 'merge_request'"),
        (_without(GL_OPEN, "object_attributes"), "object_attributes: must be an object"),
        (_with(GL_OPEN, "reviewing", "object_attributes", "state"), "object_attributes.state: must be one of"),
        (_without(GL_OPEN, "object_attributes", "author_id"), "object_attributes.author_id: is required"),
        (_without(GL_OPEN, "object_attributes", "iid"), "object_attributes.iid: must be a positive whole number"),
        (_with(GL_OPEN, "soon", "object_attributes", "updated_at"), "object_attributes.updated_at: must be"),
        (_without(GL_APPROVED, "user"), "user: an 'approved' delivery names the approver"),
    ],
)
def test_a_malformed_gitlab_delivery_is_400_and_stores_nothing(secret, payload, message):
    before = state()
    response = gitlab(payload, token=secret)
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "payload_invalid"
    assert message in response.json()["detail"]
    assert state() == before


# --- audit_verify -------------------------------------------------------------------------------


def audit_verify_problem() -> str:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except CommandError as exc:
        return f"{exc} {err.getvalue()}"
    return ""


@pytest.fixture
def recorded(secret) -> PullRequest:
    for name, event in (
        ("github-pull_request-opened", "pull_request"),
        ("github-pull_request_review-submitted", "pull_request_review"),
        ("github-pull_request-closed-merged", "pull_request"),
    ):
        assert github(fixture(name), secret=secret, event=event).status_code in (200, 201)
    gitlab(fixture("gitlab-merge_request-approved"), token=secret)
    audit_checkpoint_write()
    return PullRequest.objects.get(provider="github")


def test_pull_requests_as_recorded_hold_up(recorded):
    assert audit_verify_problem() == ""


@pytest.mark.parametrize(
    ("change", "record"),
    [
        (lambda pr: PullRequestReview.objects.filter(pull_request=pr).update(state="changes_requested"), "#42"),
        (lambda pr: PullRequestReview.objects.filter(pull_request=pr).update(reviewer_id="1001"), "#42"),
        (lambda pr: PullRequest.objects.filter(pk=pr.pk).update(merge_commit_sha="d" * 40), "#42"),
        (lambda pr: PullRequestLink.objects.filter(pull_request=pr, item__key="CR-1").delete(), "#42"),
        (
            lambda pr: PullRequestReview.objects.create(
                pull_request=pr, external_id="9", reviewer="mallory", state="approved", submitted_at=pr.merged_at
            ),
            "#42",
        ),
        (lambda pr: PullRequestReview.objects.filter(pull_request__provider="gitlab").update(state="dismissed"), "!7"),
    ],
)
def test_a_pull_request_or_review_changed_in_the_database_is_named_by_audit_verify(recorded, change, record):
    change(recorded)
    assert (
        f"pull request DEMO acme/bolus{record}: it, its reviews or its item links are not what the audit trail "
        "last recorded"
    ) in audit_verify_problem()


def test_a_pull_request_deleted_or_inserted_in_the_database_is_named_by_audit_verify(recorded):
    PullRequest.objects.create(
        product=recorded.product, provider="github", repository="acme/bolus", number=43, title="Sneaked in"
    )
    assert "pull request DEMO acme/bolus#43: the audit trail has no event for it" in audit_verify_problem()
    pk = recorded.pk
    PullRequestLink.objects.filter(pull_request=recorded).delete()
    PullRequestReview.objects.filter(pull_request=recorded).delete()
    PullRequest.objects.filter(pk=pk).delete()
    assert f"pull request #{pk}: the audit trail records it, but it is gone" in audit_verify_problem()


def test_the_gitlab_author_is_learnt_from_a_late_open_delivery(secret):
    gitlab(fixture("gitlab-merge_request-merge"), token=secret)  # the merger is not the author
    assert (PullRequest.objects.get().author, PullRequest.objects.get().author_id) == ("", "51")
    late = gitlab(fixture("gitlab-merge_request-open"), token=secret)  # older: its fields do not apply
    assert late.json()["status"] == "recorded"
    stored = PullRequest.objects.get()
    assert (stored.author, stored.state, stored.title) == ("dana", "merged", "Round doses down (CR-1)")
