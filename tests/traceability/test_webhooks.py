"""GitHub and GitLab push webhooks: authenticated by the product's secret, idempotent."""

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from qms.models import AuditEvent
from traceability.models import Commit, CommitLink
from traceability.services.evidence import webhook_secret_rotate

pytestmark = pytest.mark.django_db
SHA1, SHA2 = "1" * 40, "2" * 40

GITHUB_PUSH = {
    "ref": "refs/heads/main",
    "before": "0" * 40,
    "after": SHA2,
    "repository": {"id": 1, "name": "bolus", "full_name": "acme/bolus", "html_url": "https://github.com/acme/bolus"},
    "pusher": {"name": "dana", "email": "dana@example.com"},
    "commits": [
        {
            "id": SHA1,
            "tree_id": "f" * 40,
            "distinct": True,
            "message": "Round doses down\n\nImplements: SRS-1",
            "timestamp": "2026-03-03T10:00:00+01:00",
            "url": f"https://github.com/acme/bolus/commit/{SHA1}",
            "author": {"name": "Dana Developer", "email": "dana@example.com", "username": "dana"},
            "committer": {"name": "Dana Developer", "email": "dana@example.com", "username": "dana"},
            "added": [],
            "removed": [],
            "modified": ["dose.py"],
        },
        {
            "id": SHA2,
            "tree_id": "e" * 40,
            "distinct": True,
            "message": "Fixes: SYS-1",
            "timestamp": "2026-03-03T11:00:00+01:00",
            "url": f"https://github.com/acme/bolus/commit/{SHA2}",
            "author": {"name": "Dana Developer", "email": "dana@example.com", "username": "dana"},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
            "added": [],
            "removed": [],
            "modified": ["alarm.py"],
        },
    ],
}
GITLAB_PUSH = {
    "object_kind": "push",
    "event_name": "push",
    "before": "0" * 40,
    "after": SHA1,
    "ref": "refs/heads/main",
    "checkout_sha": SHA1,
    "user_name": "Dana Developer",
    "project": {
        "id": 15,
        "name": "bolus",
        "path_with_namespace": "acme/bolus",
        "web_url": "https://gitlab.example.com/acme/bolus",
    },
    "commits": [
        {
            "id": SHA1,
            "message": "Round doses down\n\nImplements: SRS-1\n",
            "title": "Round doses down",
            "timestamp": "2026-03-03T10:00:00+01:00",
            "url": f"https://gitlab.example.com/acme/bolus/-/commit/{SHA1}",
            "author": {"name": "Dana Developer", "email": "dana@example.com"},
            "added": [],
            "modified": ["dose.py"],
            "removed": [],
        }
    ],
    "total_commits_count": 1,
}


@pytest.fixture
def secret(small_graph, qm) -> str:
    return webhook_secret_rotate(product=small_graph["SRS-1"].product, actor=qm)


def state() -> tuple[int, int, int]:
    return Commit.objects.count(), CommitLink.objects.count(), AuditEvent.objects.count()


def github(
    body: bytes,
    *,
    signature: str | None,
    event: str = "push",
    product: str = "DEMO",
    content_type: str = "application/json",
):
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return APIClient().post(f"/api/v1/webhooks/github/{product}/", body, content_type=content_type, **headers)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.requirement("QI-407")
def test_github_push_with_a_valid_signature_stores_commits_once(secret):
    body = json.dumps(GITHUB_PUSH).encode()
    response = github(body, signature=sign(secret, body))
    assert response.status_code == 201, response.json()
    assert (response.json()["created"], response.json()["links_created"]) == (2, 2)
    stored = Commit.objects.get(sha=SHA2)
    assert (stored.repository, stored.author_name, stored.parents, stored.created_by) == (
        "acme/bolus",
        "Dana Developer",
        [],
        None,
    )
    assert list(stored.item_links.values_list("item__key", "kind")) == [("SYS-1", "fixes")]
    event = AuditEvent.objects.get(action="commits.ingested")
    assert event.actor_username == "system"
    assert event.after["via"] == "github webhook 72d3162e-cc78-11e3-81ab-4c9367dc0958"
    before = state()
    redelivered = github(body, signature=sign(secret, body))
    assert redelivered.status_code == 200 and redelivered.json()["unchanged"] == 2
    assert state() == before


@pytest.mark.requirement("QI-407")
@pytest.mark.parametrize(
    ("signature", "status", "error"),
    [
        (None, 401, "signature_missing"),
        ("", 401, "signature_missing"),
        ("sha256=" + "0" * 64, 403, "signature_invalid"),
        ("sha1=abc", 403, "signature_invalid"),
    ],
)
def test_github_push_without_a_valid_signature_stores_nothing(secret, signature, status, error):
    body = json.dumps(GITHUB_PUSH).encode()
    before = state()
    response = github(body, signature=signature)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert state() == before


def test_a_signature_over_another_body_or_secret_is_refused(secret):
    body = json.dumps(GITHUB_PUSH).encode()
    before = state()
    assert github(body, signature=sign(secret, body + b" ")).status_code == 403
    assert github(body, signature=sign("guessed", body)).status_code == 403
    assert state() == before


def test_webhooks_need_a_secret_and_a_known_product(small_graph):
    body = json.dumps(GITHUB_PUSH).encode()
    response = github(body, signature=sign("anything", body))
    assert response.status_code == 403
    assert response.json()["error"] == "webhook_disabled"
    assert github(body, signature=sign("anything", body), product="NOPE").status_code == 404
    assert Commit.objects.count() == 0


def test_ping_and_other_events_store_nothing(secret):
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    assert github(ping, signature=sign(secret, ping), event="ping").json() == {"status": "pong"}
    body = json.dumps({"action": "opened"}).encode()
    response = github(body, signature=sign(secret, body), event="issues")
    assert response.json() == {"status": "ignored", "event": "issues"}
    assert Commit.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "the webhook body is not JSON (Expecting property name"),
        (b"[1, 2]", "the webhook body must be a JSON object"),
        (json.dumps({"commits": "x"}).encode(), "a push event needs a 'commits' list"),
        (
            json.dumps({"commits": [{"id": "nope", "timestamp": "2026-03-03T10:00:00Z"}]}).encode(),
            "commits[0].sha: must be a full commit SHA",
        ),
    ],
)
def test_a_malformed_push_with_a_valid_signature_is_400(secret, payload, message):
    before = state()
    response = github(payload, signature=sign(secret, payload))
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert state() == before


def gitlab(body: bytes, *, token: str | None, event: str = "Push Hook"):
    headers = {"HTTP_X_GITLAB_EVENT": event}
    if token is not None:
        headers["HTTP_X_GITLAB_TOKEN"] = token
    return APIClient().post("/api/v1/webhooks/gitlab/DEMO/", body, content_type="application/json", **headers)


@pytest.mark.requirement("QI-407")
def test_gitlab_push_with_the_token_stores_commits(secret):
    body = json.dumps(GITLAB_PUSH).encode()
    response = gitlab(body, token=secret)
    assert response.status_code == 201, response.json()
    stored = Commit.objects.get()
    assert (stored.sha, stored.repository, stored.message) == (
        SHA1,
        "acme/bolus",
        "Round doses down\n\nImplements: SRS-1\n",
    )
    assert list(stored.item_links.values_list("item__key", "kind")) == [("SRS-1", "implements")]
    assert gitlab(body, token=secret).status_code == 200
    assert gitlab(body, token=secret, event="Tag Push Hook").json() == {"status": "ignored", "event": "Tag Push Hook"}
    assert Commit.objects.count() == 1


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong", 403)])
def test_gitlab_push_without_the_token_stores_nothing(secret, token, status):
    before = state()
    assert gitlab(json.dumps(GITLAB_PUSH).encode(), token=token).status_code == status
    assert state() == before


def test_a_rotated_secret_replaces_the_old_one(secret, qm, small_graph):
    body = json.dumps(GITLAB_PUSH).encode()
    new = webhook_secret_rotate(product=small_graph["SRS-1"].product, actor=qm)
    assert new != secret
    assert gitlab(body, token=secret).status_code == 403
    assert gitlab(body, token=new).status_code == 201
    assert list(
        AuditEvent.objects.filter(object_type="traceability.webhooksecret").values_list("action", flat=True)
    ) == [
        "webhook_secret.created",
        "webhook_secret.rotated",
    ]


FORM = "application/x-www-form-urlencoded"


def test_github_form_encoded_delivery_reads_the_payload_field(secret):
    """GitHub's default content type: ``payload=<url-encoded JSON>``, signed as sent."""
    body = urlencode({"payload": json.dumps(GITHUB_PUSH)}).encode()
    response = github(body, signature=sign(secret, body), content_type=FORM)
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    assert set(Commit.objects.values_list("sha", flat=True)) == {SHA1, SHA2}


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"hello=world", FORM, "a form-encoded webhook body needs a 'payload' field"),
        (b"payload=%7Bnope", FORM, "the webhook body is not JSON"),
        (b"payload=x", "text/plain", "the webhook body is not JSON"),
    ],
)
def test_a_delivery_that_is_not_json_says_to_set_the_content_type(secret, body, content_type, message):
    before = state()
    response = github(body, signature=sign(secret, body), content_type=content_type)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert message in detail and detail.endswith("set the webhook's content type to application/json")
    assert response.json()["error"] == "payload_invalid"
    assert state() == before
