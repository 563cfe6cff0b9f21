"""REST API of test runs, results, manual executions and commits. Thin: parse, call, render."""

from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFilesSent
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.api.parsers import JSONParser, MultiPartParser
from qms.api.permissions import request_token
from qms.errors import InvalidInput
from qms.roles import Scope, acting_user
from traceability.api.evidence.filters import ArtifactFilter, CommitFilter, TestResultFilter, TestRunFilter
from traceability.api.evidence.serializers import (
    ArtifactOutputSerializer,
    ArtifactRegisteredOutputSerializer,
    ArtifactRegisterInputSerializer,
    CommitBatchInputSerializer,
    CommitBatchOutputSerializer,
    CommitOutputSerializer,
    IngestSummaryOutputSerializer,
    JunitUploadInputSerializer,
    ManualExecutionsInputSerializer,
    RunBindingInputSerializer,
    TestResultOutputSerializer,
    TestResultsInputSerializer,
    TestRunOutputSerializer,
    WebhookSecretOutputSerializer,
    summary_data,
)
from traceability.api.views import ProductListMixin, ProductScopedMixin, valid_input
from traceability.evidence_selectors import artifact_list, commit_get, commit_list, result_list, run_get, run_list
from traceability.models import Artifact, Commit, TestResult, TestRun
from traceability.services.evidence import (
    IngestReport,
    RunInput,
    artifact_register,
    commit_inputs_parse,
    commits_ingest,
    junit_ingest,
    manual_executions_record,
    results_record,
    run_input_clean,
    webhook_secret_rotate,
)
from traceability.services.evidence.junit import upload_size_check


def request_body(request: Request, source: str) -> bytes:
    """The raw body, refused with 400 beyond EVIDENCE_MAX_UPLOAD_BYTES without reading it all."""
    length = str(request.META.get("CONTENT_LENGTH") or "")
    if length.isdigit():
        upload_size_check(int(length), source)
    stream = request.stream
    data = stream.read(settings.EVIDENCE_MAX_UPLOAD_BYTES + 1) if stream is not None else b""
    upload_size_check(len(data), source)
    return data


def uploaded_files(request: Request) -> list[Any]:
    """The multipart ``file`` fields; more than EVIDENCE_MAX_UPLOAD_FILES is a 400 naming the limit."""
    try:
        return request.FILES.getlist("file")
    except TooManyFilesSent as exc:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        raise InvalidInput(
            f"more than {limit} files in one upload (EVIDENCE_MAX_UPLOAD_FILES); "
            "send them in several runs or raise the limit",
            code="too_many_files",
            field="file",
            limit=limit,
        ) from exc


def binding_from(data: Any) -> RunInput:
    serializer = RunBindingInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    values = dict(serializer.validated_data)
    values["commit_sha"] = values.pop("commit")
    return run_input_clean(**values)


def ingest_response(report: IngestReport) -> Response:
    return Response(
        summary_data(report.summary()), status=status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
    )


class JunitUploadView(ProductScopedMixin, APIView):
    """Upload JUnit XML for a version and/or commit: multipart ``file`` fields, or the XML as the body.

    ``version``, ``commit``, ``name``, ``environment``, ``ci_job_url`` come as form fields or query
    parameters. 201 with the summary; 200 with the stored run's summary when the same upload was
    stored before (nothing changes).
    """

    write_scope = Scope.EVIDENCE
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": JunitUploadInputSerializer, "application/xml": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter("version", str, description="Release version the results are for"),
            OpenApiParameter("commit", str, description="Commit SHA the results are for"),
        ],
        responses={201: IngestSummaryOutputSerializer, 200: IngestSummaryOutputSerializer},
    )
    def post(self, request: Request, product_key: str) -> Response:
        product = self.product
        params: dict[str, Any] = request.query_params.dict()
        if (request.content_type or "").startswith("multipart/form-data"):
            uploads = uploaded_files(request)
            if not uploads:
                raise InvalidInput("send the JUnit XML as 'file' form field(s) or as the request body", field="file")
            for upload in uploads:
                upload_size_check(upload.size or 0, upload.name or "file")
            params |= {key: value for key, value in request.data.items() if key != "file"}
            run = binding_from(params)
            files = [(upload.name or "file", upload.read()) for upload in uploads]
        else:
            run = binding_from(params)
            files = [("request body", request_body(request, "request body"))]
        report = junit_ingest(
            product=product, files=files, run=run, actor=acting_user(request.user), token=request_token(request)
        )
        return ingest_response(report)


class TestRunListView(ProductListMixin, generics.ListAPIView):
    """Test runs with counts per status; POST results as JSON to store a run."""

    serializer_class = TestRunOutputSerializer
    filterset_class = TestRunFilter
    write_scope = Scope.EVIDENCE
    ordering_fields = ["created_at", "started_at", "version"]
    parser_classes = [JSONParser]
    list_model = TestRun

    def scoped_queryset(self) -> QuerySet[TestRun]:
        return run_list(product=self.product)

    @extend_schema(
        request=TestResultsInputSerializer,
        responses={201: IngestSummaryOutputSerializer, 200: IngestSummaryOutputSerializer},
    )
    def post(self, request: Request, product_key: str) -> Response:
        product = self.product
        data = request.data if isinstance(request.data, dict) else {}
        run = binding_from({key: value for key, value in data.items() if key != "results"})
        if "results" not in data:
            raise InvalidInput("results: a list of results is required", field="results")
        report = results_record(
            product=product,
            run=run,
            results=data["results"],
            actor=acting_user(request.user),
            token=request_token(request),
        )
        return ingest_response(report)


class TestRunDetailView(ProductScopedMixin, APIView):
    @extend_schema(responses=TestRunOutputSerializer)
    def get(self, request: Request, product_key: str, pk: int) -> Response:
        return Response(TestRunOutputSerializer(run_get(product=self.product, pk=pk)).data)


class TestResultListView(ProductListMixin, generics.ListAPIView):
    """Test results. Filters: ``run``, ``version``, ``commit``, ``status``, ``test_case``, ``test_id``,
    ``requirement``."""

    serializer_class = TestResultOutputSerializer
    filterset_class = TestResultFilter
    ordering_fields = ["id", "status", "duration"]
    list_model = TestResult

    def scoped_queryset(self) -> QuerySet[TestResult]:
        return result_list(product=self.product)


class ManualExecutionView(ProductScopedMixin, APIView):
    """Record manual test executions (tester, date, result, notes; a rationale for reviewed statuses)."""

    write_scope = Scope.EVIDENCE
    parser_classes = [JSONParser]

    @extend_schema(
        request=ManualExecutionsInputSerializer,
        responses={201: IngestSummaryOutputSerializer, 200: IngestSummaryOutputSerializer},
    )
    def post(self, request: Request, product_key: str) -> Response:
        product = self.product
        data = request.data if isinstance(request.data, dict) else {}
        run = binding_from({key: value for key, value in data.items() if key != "executions"})
        if "executions" not in data:
            raise InvalidInput("executions: a list of executions is required", field="executions")
        report = manual_executions_record(
            product=product,
            run=run,
            executions=data["executions"],
            actor=acting_user(request.user),
            token=request_token(request),
        )
        return ingest_response(report)


class CommitListView(ProductListMixin, generics.ListAPIView):
    """Commits with the items their messages name; POST a batch (a list, or ``{"commits": [...]}``)."""

    serializer_class = CommitOutputSerializer
    filterset_class = CommitFilter
    write_scope = Scope.EVIDENCE
    ordering_fields = ["authored_at", "created_at"]
    parser_classes = [JSONParser]
    list_model = Commit

    def scoped_queryset(self) -> QuerySet[Commit]:
        return commit_list(product=self.product)

    @extend_schema(
        request=CommitBatchInputSerializer,
        responses={201: CommitBatchOutputSerializer, 200: CommitBatchOutputSerializer},
    )
    def post(self, request: Request, product_key: str) -> Response:
        product = self.product
        data = request.data
        raw = data.get("commits") if isinstance(data, dict) else data
        commits = commit_inputs_parse(raw)
        report = commits_ingest(product=product, commits=commits, actor=acting_user(request.user), via="api")
        return Response(
            CommitBatchOutputSerializer(report.summary()).data,
            status=status.HTTP_201_CREATED if report.created else status.HTTP_200_OK,
        )


class ArtifactListView(ProductListMixin, generics.ListAPIView):
    """What CI built, by digest; POST registers one for a ``version`` and/or ``commit`` (201, or 200
    when it was registered before); 409 ``release_frozen`` for a release that is no longer a draft."""

    serializer_class = ArtifactOutputSerializer
    filterset_class = ArtifactFilter
    write_scope = Scope.EVIDENCE
    ordering_fields = ["created_at", "name", "version"]
    parser_classes = [JSONParser]
    list_model = Artifact

    def scoped_queryset(self) -> QuerySet[Artifact]:
        return artifact_list(product=self.product)

    @extend_schema(
        request=ArtifactRegisterInputSerializer,
        responses={201: ArtifactRegisteredOutputSerializer, 200: ArtifactRegisteredOutputSerializer},
    )
    def post(self, request: Request, product_key: str) -> Response:
        data = valid_input(ArtifactRegisterInputSerializer, request)
        registration = artifact_register(
            product=self.product,
            name=data["name"],
            kind=data["kind"],
            uri=data["uri"],
            digest=data["digest"],
            size=data["size"],
            version=data["version"],
            commit_sha=data["commit"],
            ci_job_url=data["ci_job_url"],
            ci_run=data["ci_run"],
            actor=acting_user(request.user),
            token=request_token(request),
        )
        return Response(
            ArtifactRegisteredOutputSerializer(registration.summary()).data,
            status=status.HTTP_201_CREATED if registration.created else status.HTTP_200_OK,
        )


class CommitDetailView(ProductScopedMixin, APIView):
    @extend_schema(responses=CommitOutputSerializer)
    def get(self, request: Request, product_key: str, sha: str) -> Response:
        return Response(CommitOutputSerializer(commit_get(product=self.product, sha=sha)).data)


class WebhookSecretView(ProductScopedMixin, APIView):
    """Set a new webhook secret for the product (quality managers); shown once in the response."""

    write_scope = Scope.PRODUCTS

    @extend_schema(request=None, responses={201: WebhookSecretOutputSerializer})
    def post(self, request: Request, product_key: str) -> Response:
        product = self.product
        secret = webhook_secret_rotate(product=product, actor=acting_user(request.user))
        data = {
            "product": product.key,
            "secret": secret,
            "github_url": request.build_absolute_uri(f"/api/v1/webhooks/github/{product.key}/"),
            "gitlab_url": request.build_absolute_uri(f"/api/v1/webhooks/gitlab/{product.key}/"),
        }
        return Response(WebhookSecretOutputSerializer(data).data, status=status.HTTP_201_CREATED)
