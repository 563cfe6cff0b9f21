"""Push webhooks of GitHub and GitLab: the per-product secret, checking deliveries, reading commits.

GitHub signs the raw body with HMAC-SHA256 (``X-Hub-Signature-256: sha256=<hex>``); GitLab sends
the secret itself (``X-Gitlab-Token``). A missing header is 401, a wrong one 403; nothing is read
from an unverified body.
"""

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qms.errors import Forbidden, InvalidInput, Unauthenticated
from qms.inputs import json_loads
from qms.services import audit_record
from traceability.models import Product, WebhookSecret
from traceability.services.evidence.commits import CommitInput, commit_inputs_parse

GITHUB_SIGNATURE_HEADER = "X-Hub-Signature-256"
GITLAB_TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105 - a header name


@transaction.atomic
def webhook_secret_rotate(*, product: Product, actor: User | None) -> str:
    """Set a new webhook secret for the product and return it (it is not shown again)."""
    secret = secrets.token_urlsafe(32)
    existing = WebhookSecret.objects.select_for_update().filter(product=product).first()
    if existing is None:
        record = WebhookSecret.objects.create(product=product, secret=secret, created_by=actor)
    else:
        existing.secret, existing.created_at, existing.created_by = secret, timezone.now(), actor
        existing.save(update_fields=["secret", "created_at", "created_by"])
        record = existing
    audit_record(
        actor=actor,
        action="webhook_secret.rotated" if existing else "webhook_secret.created",
        obj=record,
        scope=product.key,
        object_repr=f"{product.key} webhook secret",
        after={"product": product.key, "created_at": record.created_at.isoformat()},
    )
    return secret


def _secret(product: Product) -> str:
    record = WebhookSecret.objects.filter(product=product).first()
    if record is None:
        raise Forbidden(
            f"webhooks are not enabled for {product.key}: set a secret with 'manage.py webhook_secret {product.key}'",
            code="webhook_disabled",
        )
    return record.secret


def github_signature_verify(*, product: Product, body: bytes, signature: str | None) -> None:
    if not signature:
        raise Unauthenticated(f"missing {GITHUB_SIGNATURE_HEADER} header", code="signature_missing")
    expected = "sha256=" + hmac.new(_secret(product).encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Forbidden(f"{GITHUB_SIGNATURE_HEADER} does not match the body and the secret", code="signature_invalid")


def gitlab_token_verify(*, product: Product, token: str | None) -> None:
    if not token:
        raise Unauthenticated(f"missing {GITLAB_TOKEN_HEADER} header", code="signature_missing")
    if not hmac.compare_digest(_secret(product).encode(), token.strip().encode()):
        raise Forbidden(f"{GITLAB_TOKEN_HEADER} does not match the product's webhook secret", code="signature_invalid")


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_HINT = "set the webhook's content type to application/json"


def webhook_payload(body: bytes, content_type: str = "") -> dict[str, Any]:
    """The delivery's JSON object: the body, or for GitHub's default form encoding its ``payload`` field.

    The signature was checked on the raw body before this is called."""
    if content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE:
        try:
            fields = parse_qs(body.decode("utf-8"), strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidInput(
                f"the form-encoded webhook body cannot be read ({exc}); {JSON_HINT}", code="payload_invalid"
            ) from exc
        if "payload" not in fields:
            raise InvalidInput(
                f"a form-encoded webhook body needs a 'payload' field; {JSON_HINT}", code="payload_invalid"
            )
        body = fields["payload"][0].encode()
    try:
        payload = json_loads(body, source="the webhook body")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"the webhook body is not JSON ({exc}); {JSON_HINT}", code="payload_invalid") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("the webhook body must be a JSON object", code="payload_invalid")
    return payload


def _push_commits(payload: dict[str, Any], repository: str) -> list[CommitInput]:
    raw = payload.get("commits")
    if not isinstance(raw, list):
        raise InvalidInput("a push event needs a 'commits' list", code="payload_invalid", field="commits")
    entries = []
    for index, commit in enumerate(raw):
        if not isinstance(commit, dict):
            raise InvalidInput(f"commits[{index}]: must be an object", code="payload_invalid")
        author = commit.get("author")
        author = author if isinstance(author, dict) else {}
        entries.append(
            {
                "sha": commit.get("id"),
                "repository": repository,
                "author_name": author.get("name") or "",
                "author_email": author.get("email") or "",
                "authored_at": commit.get("timestamp"),
                "message": commit.get("message") or "",
            }
        )
    return commit_inputs_parse(entries) if entries else []


def github_push_commits(payload: dict[str, Any]) -> list[CommitInput]:
    """Commits of a GitHub ``push`` event (GitHub sends no parents; they stay empty)."""
    repository = payload.get("repository")
    repository = repository if isinstance(repository, dict) else {}
    return _push_commits(payload, str(repository.get("full_name") or repository.get("html_url") or ""))


def gitlab_push_commits(payload: dict[str, Any]) -> list[CommitInput]:
    """Commits of a GitLab ``Push Hook`` (at most 20 per event, as GitLab sends them)."""
    project = payload.get("project")
    project = project if isinstance(project, dict) else {}
    return _push_commits(payload, str(project.get("path_with_namespace") or project.get("web_url") or ""))
