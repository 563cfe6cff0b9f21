"""REST API of releases (freeze, approve, sign, release, withdraw, status) and of the trace engine
(matrix, reverse matrix, risk trace, gaps, diff, impact). Thin: parse, call, render."""

from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.api.pagination import Pagination
from qms.auth import client_address
from qms.errors import Forbidden, NotFound
from qms.models import Signature
from qms.roles import Scope, acting_user
from traceability.api.release_serializers import (
    GapsPageOutputSerializer,
    GapsQueryInputSerializer,
    MatrixPageOutputSerializer,
    MatrixQueryInputSerializer,
    ReleaseApprovedOutputSerializer,
    ReleaseCreateInputSerializer,
    ReleaseFreezeInputSerializer,
    ReleaseOutputSerializer,
    ReleaseStatusOutputSerializer,
    ReleaseWithdrawInputSerializer,
    SignatureInputSerializer,
    SignatureOutputSerializer,
)
from traceability.api.views import ProductListMixin, ProductScopedMixin, valid_input
from traceability.graph.gaps import gaps_find
from traceability.graph.selectors import (
    baseline_diff,
    graph_load,
    items_impacted_by,
    release_status,
    reverse_matrix_for_release,
    risk_trace_for_release,
)
from traceability.graph.summary import matrix_build
from traceability.models import Release
from traceability.selectors import release_get, release_last_frozen, release_list, release_signatures
from traceability.services.releases import (
    release_approve,
    release_create,
    release_freeze,
    release_mark_released,
    release_sign,
    release_withdraw,
)

VERSION_PARAMETER = OpenApiParameter("version", str, OpenApiParameter.PATH, description="Release version")


class ReleaseScopedMixin(ProductScopedMixin):
    """``version`` in the path names a release; the product-level paths (no version) mean live data."""

    @cached_property
    def release(self) -> Release | None:
        version = self.kwargs.get("version")
        return release_get(product=self.product, version=version) if version is not None else None

    def release_detail(self, release: Release) -> dict[str, Any]:
        return ReleaseOutputSerializer(release_get(product=self.product, version=release.version)).data


def paged_response(view: APIView, request: Request, rows: list[Any], head: dict[str, Any]) -> Response:
    """A page of in-memory rows in the API's list shape, after the answer's header fields."""
    paginator = Pagination()
    page: list[Any] = paginator.paginate_queryset(rows, request, view=view) or []  # type: ignore[arg-type]
    return Response(
        {
            **head,
            "count": len(rows),
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": [row.as_dict() for row in page],
        }
    )


class ReleaseListView(ProductListMixin, generics.ListAPIView):
    """A product's releases, newest first. Quality managers create them."""

    serializer_class = ReleaseOutputSerializer
    write_scope = Scope.PRODUCTS
    filter_backends: list[Any] = []
    list_model = Release

    def scoped_queryset(self) -> QuerySet[Release]:
        return release_list(product=self.product)

    @extend_schema(request=ReleaseCreateInputSerializer, responses={201: ReleaseOutputSerializer})
    def post(self, request: Request, product_key: str) -> Response:
        data = valid_input(ReleaseCreateInputSerializer, request)
        release = release_create(product=self.product, actor=acting_user(request.user), **data)
        return Response(
            ReleaseOutputSerializer(release_get(product=self.product, version=release.version)).data,
            status=status.HTTP_201_CREATED,
        )


class ReleaseDetailView(ReleaseScopedMixin, APIView):
    @extend_schema(parameters=[VERSION_PARAMETER], responses=ReleaseOutputSerializer)
    def get(self, request: Request, product_key: str, version: str) -> Response:
        assert self.release is not None
        return Response(ReleaseOutputSerializer(self.release).data)


class ReleaseFreezeView(ReleaseScopedMixin, APIView):
    """Take the release's immutable baseline (the release is created if it does not exist); 409 when frozen."""

    write_scope = Scope.PRODUCTS

    @extend_schema(request=ReleaseFreezeInputSerializer, responses=ReleaseOutputSerializer)
    def post(self, request: Request, product_key: str, version: str) -> Response:
        data = valid_input(ReleaseFreezeInputSerializer, request)
        release = release_freeze(
            product=self.product,
            version=version,
            actor=acting_user(request.user),
            commit_sha=data.get("commit_sha"),
            git_tag=data.get("git_tag"),
        )
        return Response(self.release_detail(release))


def _signer(request: Request, data: dict[str, Any]) -> Any:
    signer = acting_user(request.user)
    if "username" in data and data["username"] != signer.get_username():
        raise Forbidden("the user name does not match the signed-in user; nothing was signed", field="username")
    return signer


class ReleaseApproveView(ReleaseScopedMixin, APIView):
    """The manufacturer's release approval: a Part 11 signature (password and meaning) over the
    baseline's SHA-256. Needs the ``approvals`` scope; 409 while error-level gaps exist."""

    write_scope = Scope.APPROVALS

    @extend_schema(request=SignatureInputSerializer, responses=ReleaseApprovedOutputSerializer)
    def post(self, request: Request, product_key: str, version: str) -> Response:
        assert self.release is not None
        data = valid_input(SignatureInputSerializer, request)
        release = release_approve(
            release=self.release,
            signer=_signer(request, data),
            password=data["password"],
            meaning=data["meaning"],
            comment=data["comment"],
            client_address=client_address(request),
        )
        signature = release_signatures(release).last()
        return Response(
            {"release": self.release_detail(release), "signature": SignatureOutputSerializer(signature).data}
        )


class ReleaseSignatureListView(ReleaseScopedMixin, generics.ListAPIView):
    """The release's signature manifest; POST adds an authorship or review signature without changing its
    state (201; 200 with the existing signature when the same signer signs the same again). Approval
    meanings are refused (400 ``approval_meaning``): only POST .../approve/ approves."""

    serializer_class = SignatureOutputSerializer
    write_scope = Scope.APPROVALS
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Signature]:
        if getattr(self, "swagger_fake_view", False):
            return Signature.objects.none()
        assert self.release is not None
        return release_signatures(self.release)

    @extend_schema(
        request=SignatureInputSerializer, responses={201: SignatureOutputSerializer, 200: SignatureOutputSerializer}
    )
    def post(self, request: Request, product_key: str, version: str) -> Response:
        assert self.release is not None
        data = valid_input(SignatureInputSerializer, request)
        signature = release_sign(
            release=self.release,
            signer=_signer(request, data),
            password=data["password"],
            meaning=data["meaning"],
            comment=data["comment"],
            client_address=client_address(request),
        )
        answer = status.HTTP_200_OK if signature.repeated else status.HTTP_201_CREATED
        return Response(SignatureOutputSerializer(signature).data, status=answer)


class ReleaseReleasedView(ReleaseScopedMixin, APIView):
    """An approved release goes out."""

    write_scope = Scope.PRODUCTS

    @extend_schema(request=None, responses=ReleaseOutputSerializer)
    def post(self, request: Request, product_key: str, version: str) -> Response:
        assert self.release is not None
        release = release_mark_released(release=self.release, actor=acting_user(request.user))
        return Response(self.release_detail(release))


class ReleaseWithdrawView(ReleaseScopedMixin, APIView):
    write_scope = Scope.PRODUCTS

    @extend_schema(request=ReleaseWithdrawInputSerializer, responses=ReleaseOutputSerializer)
    def post(self, request: Request, product_key: str, version: str) -> Response:
        assert self.release is not None
        data = valid_input(ReleaseWithdrawInputSerializer, request)
        release = release_withdraw(release=self.release, actor=acting_user(request.user), reason=data["reason"])
        return Response(self.release_detail(release))


class ReleaseStatusView(ReleaseScopedMixin, APIView):
    """For CI and deployment scripts: frozen? ready (no error-level gap)? approved?"""

    @extend_schema(responses=ReleaseStatusOutputSerializer)
    def get(self, request: Request, product_key: str, version: str) -> Response:
        assert self.release is not None
        return Response(release_status(release=self.release))


def query_params(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class MatrixView(ReleaseScopedMixin, APIView):
    """The traceability matrix (of a release: from its baseline when frozen; otherwise live and
    ``frozen: false``). Filters ``status`` (repeatable), ``gaps_only``, ``root_kind``; paginated."""

    @extend_schema(parameters=[MatrixQueryInputSerializer], responses=MatrixPageOutputSerializer)
    def get(self, request: Request, product_key: str, version: str | None = None) -> Response:
        query = query_params(MatrixQueryInputSerializer, request)
        matrix = matrix_build(graph_load(product=self.product, release=self.release), root_kind=query["root_kind"])
        rows = matrix.rows
        if query.get("status"):
            rows = [row for row in rows if row.status in query["status"]]
        if query["gaps_only"]:
            rows = [row for row in rows if row.gaps]
        return paged_response(self, request, rows, {**matrix.header(), "coverage": matrix.coverage.as_dict()})


class ReverseMatrixView(ReleaseScopedMixin, APIView):
    """Tests → requirements: each test case, its result for the release and what it verifies."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, product_key: str, version: str | None = None) -> Response:
        graph, rows = reverse_matrix_for_release(product=self.product, release=self.release)
        head = {"product": self.product.key, "release": version, "frozen": graph.is_frozen}
        return paged_response(self, request, rows, head)


class RiskTraceView(ReleaseScopedMixin, APIView):
    """Hazard → hazardous situation → harm → risk control → verification (IEC 62304 7.3.3)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, product_key: str, version: str | None = None) -> Response:
        graph, rows = risk_trace_for_release(product=self.product, release=self.release)
        head = {
            "product": self.product.key,
            "release": version,
            "frozen": graph.is_frozen,
            "risk_matrix": graph.product.risk_matrix,
        }
        return paged_response(self, request, rows, head)


class GapsView(ReleaseScopedMixin, APIView):
    """Every finding of the gap rules; filters ``severity`` and ``rule``; paginated. A finding a
    signed deviation lowered names it (``deviation``); ``deviations`` lists those in force."""

    @extend_schema(parameters=[GapsQueryInputSerializer], responses=GapsPageOutputSerializer)
    def get(self, request: Request, product_key: str, version: str | None = None) -> Response:
        query = query_params(GapsQueryInputSerializer, request)
        graph = graph_load(product=self.product, release=self.release)
        report = gaps_find(graph)
        findings = report.findings
        if query.get("severity"):
            findings = [finding for finding in findings if finding.severity == query["severity"]]
        if query.get("rule"):
            findings = [finding for finding in findings if finding.rule == query["rule"]]
        head = {
            "product": self.product.key,
            "release": version,
            "frozen": graph.is_frozen,
            "ready": report.ready,
            "errors": report.errors,
            "warnings": report.warnings,
            "by_rule": report.by_rule(),
            "deviations": [deviation.as_dict() for deviation in report.deviations],
            "notes": report.notes,
        }
        return paged_response(self, request, findings, head)


class DiffView(ProductScopedMixin, APIView):
    """The change record between two releases: ``?from=1.0.0&to=1.1.0``. ``to`` defaults to ``live``;
    ``from`` to the most recently frozen release."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="The earlier release (default: the last frozen one)"),
            OpenApiParameter("to", str, description="The later release, or 'live' (default)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, product_key: str) -> Response:
        before = request.query_params.get("from", "").strip()
        after = request.query_params.get("to", "live").strip() or "live"
        if before:
            release_a = release_get(product=self.product, version=before)
        else:
            latest = release_last_frozen(product=self.product)
            if latest is None:
                raise NotFound(f"{self.product.key} has no frozen release to compare with", product=self.product.key)
            release_a = latest
        release_b = None if after == "live" else release_get(product=self.product, version=after)
        return Response(baseline_diff(release_a=release_a, release_b=release_b).as_dict())


class ItemImpactView(ProductScopedMixin, APIView):
    """What a change to the item impacts: everything downstream, with paths, and the clauses involved."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, product_key: str, key: str) -> Response:
        return Response(items_impacted_by(product=self.product, key=key).as_dict())
