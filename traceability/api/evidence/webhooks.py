"""Webhooks of GitHub (``X-Hub-Signature-256``) and GitLab (``X-Gitlab-Token``): pushes (commits),
pull requests and their reviews (GitHub ``pull_request``, ``pull_request_review``), merge requests
and their approvals (GitLab ``Merge Request Hook``).

They authenticate by the product's webhook secret, not by a user: no session, no token. After
the request-level checks (body size, NUL characters: ``qms.middleware``), the header is checked
first (missing → 401), then the product (unknown → 404), then the secret (wrong → 403). Only
then is the body read as JSON (``qms.inputs.json_loads``: no NUL, no lone surrogate).
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.errors import Unauthenticated
from traceability.api.evidence.serializers import CommitBatchOutputSerializer
from traceability.api.evidence.views import request_body
from traceability.models import Product
from traceability.selectors import product_get
from traceability.services.evidence import (
    PullRequestInput,
    commits_ingest,
    github_pull_request_parse,
    github_push_commits,
    github_signature_verify,
    gitlab_merge_request_parse,
    gitlab_push_commits,
    gitlab_token_verify,
    pull_request_record,
    webhook_payload,
)
from traceability.services.evidence.webhooks import GITHUB_SIGNATURE_HEADER, GITLAB_TOKEN_HEADER

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_review")


class WebhookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    parser_classes: list[Any] = []
    header = ""
    product: Product
    body: bytes

    def verify(self, request: Request) -> None:
        raise NotImplementedError

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not request.headers.get(self.header):
            raise Unauthenticated(f"missing {self.header} header", code="signature_missing")
        self.product = product_get(kwargs["product_key"])
        self.body = request_body(request, "webhook body")
        self.verify(request)

    def ingested(self, commits: Any, via: str) -> Response:
        report = commits_ingest(product=self.product, commits=commits, actor=None, via=via)
        return Response(
            {"status": "ingested", **CommitBatchOutputSerializer(report.summary()).data},
            status=status.HTTP_201_CREATED if report.created else status.HTTP_200_OK,
        )

    def pull_request_recorded(self, delivery: PullRequestInput, via: str) -> Response:
        report = pull_request_record(product=self.product, delivery=delivery, via=via)
        return Response(report.summary(), status=status.HTTP_201_CREATED if report.created else status.HTTP_200_OK)


class GithubWebhookView(WebhookView):
    """GitHub ``push``, ``pull_request`` and ``pull_request_review`` events (content type
    application/json, or GitHub's default form encoding with a ``payload`` field). ``ping`` answers
    ``pong``; other events are ignored."""

    header = GITHUB_SIGNATURE_HEADER

    def verify(self, request: Request) -> None:
        github_signature_verify(product=self.product, body=self.body, signature=request.headers.get(self.header))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT})
    def post(self, request: Request, product_key: str) -> Response:
        event = request.headers.get("X-GitHub-Event", "")
        if event == "ping":
            return Response({"status": "pong"})
        if event not in ("push", *PULL_REQUEST_EVENTS):
            return Response({"status": "ignored", "event": event})
        via = f"github webhook {request.headers.get('X-GitHub-Delivery', '')}".strip()
        payload = webhook_payload(self.body, request.content_type or "")
        if event in PULL_REQUEST_EVENTS:
            return self.pull_request_recorded(github_pull_request_parse(payload, event=event), via=via)
        return self.ingested(github_push_commits(payload), via=via)


class GitlabWebhookView(WebhookView):
    """GitLab ``Push Hook`` and ``Merge Request Hook`` events; other events are ignored."""

    header = GITLAB_TOKEN_HEADER

    def verify(self, request: Request) -> None:
        gitlab_token_verify(product=self.product, token=request.headers.get(self.header))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT})
    def post(self, request: Request, product_key: str) -> Response:
        event = request.headers.get("X-Gitlab-Event", "")
        if event == "Merge Request Hook":
            via = f"gitlab webhook {request.headers.get('X-Gitlab-Event-UUID', '')}".strip()
            return self.pull_request_recorded(gitlab_merge_request_parse(webhook_payload(self.body)), via=via)
        if event != "Push Hook":
            return Response({"status": "ignored", "event": event})
        commits = gitlab_push_commits(webhook_payload(self.body))
        return self.ingested(commits, via="gitlab webhook")
