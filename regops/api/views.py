"""REST API of RegOps: environments, the gate question, deployments, the ledger, the integration
approval (G4) and the gates of a release. Thin: parse, call a service or selector, render."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.api.parsers import JSONParser
from qms.auth import client_address
from qms.errors import Forbidden
from qms.roles import Scope, acting_user
from regops.api.serializers import (
    DeploymentOutputSerializer,
    DeploymentReportInputSerializer,
    EnvironmentCreateInputSerializer,
    EnvironmentOutputSerializer,
    EnvironmentUpdateInputSerializer,
    GateAnswerOutputSerializer,
    GateDecisionOutputSerializer,
    GateQueryInputSerializer,
    IntegrationApprovalInputSerializer,
    IntegrationApprovalOutputSerializer,
    integration_data,
)
from regops.attestations import FILENAME, release_approval_attestation
from regops.models import Deployment, Environment, GateDecision
from regops.selectors import (
    decision_list,
    deployment_get,
    deployment_list,
    environment_get,
    environment_list,
    release_gates,
    running_where,
)
from regops.services.approvals import integration_approve
from regops.services.decisions import gate_decide
from regops.services.deployments import deployment_report
from regops.services.environments import environment_create, environment_update
from traceability.api.reports import IgnoreAccept
from traceability.api.views import ProductListMixin, ProductScopedMixin, valid_input
from traceability.selectors import release_get


class EnvironmentListView(ProductListMixin, generics.ListAPIView):
    """The product's environments; POST adds one (quality managers: the ``products`` scope)."""

    serializer_class = EnvironmentOutputSerializer
    write_scope = Scope.PRODUCTS
    filter_backends: list[Any] = []
    parser_classes = [JSONParser]
    list_model = Environment

    def scoped_queryset(self) -> QuerySet[Environment]:
        return environment_list(product=self.product)

    @extend_schema(request=EnvironmentCreateInputSerializer, responses={201: EnvironmentOutputSerializer})
    def post(self, request: Request, product_key: str) -> Response:
        data = valid_input(EnvironmentCreateInputSerializer, request)
        environment = environment_create(product=self.product, actor=acting_user(request.user), **data)
        return Response(EnvironmentOutputSerializer(environment).data, status=status.HTTP_201_CREATED)


class EnvironmentDetailView(ProductScopedMixin, APIView):
    write_scope = Scope.PRODUCTS
    parser_classes = [JSONParser]

    @extend_schema(responses=EnvironmentOutputSerializer)
    def get(self, request: Request, product_key: str, environment: str) -> Response:
        return Response(EnvironmentOutputSerializer(environment_get(product=self.product, key=environment)).data)

    @extend_schema(request=EnvironmentUpdateInputSerializer, responses=EnvironmentOutputSerializer)
    def patch(self, request: Request, product_key: str, environment: str) -> Response:
        data = valid_input(EnvironmentUpdateInputSerializer, request)
        changed = environment_update(
            environment=environment_get(product=self.product, key=environment), actor=acting_user(request.user), **data
        )
        return Response(EnvironmentOutputSerializer(changed).data)


class GateView(ProductScopedMixin, APIView):
    """May these artifacts go to this environment? Ask by ``digest`` (repeatable), ``version`` or
    ``commit``. Every question and answer is kept in the gate-decision ledger (``decision``).
    ``strict=1`` answers 403 (same body) when denied, for engines that read only status codes."""

    @extend_schema(
        parameters=[GateQueryInputSerializer],
        responses={
            200: GateAnswerOutputSerializer,
            403: OpenApiResponse(GateAnswerOutputSerializer, description="Denied, with strict=1"),
        },
    )
    def get(self, request: Request, product_key: str, environment: str) -> Response:
        query = GateQueryInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        target = environment_get(product=self.product, key=environment)
        decision, answer = gate_decide(
            environment=target,
            actor=acting_user(request.user),
            digests=data["digest"],
            version=data["version"],
            commit=data["commit"],
            engine=data["engine"],
            external={"id": data["external_id"]} if data["external_id"] else {},
        )
        body = {**answer.as_dict(), "decision": decision.pk}
        denied = data["strict"] and not answer.allowed
        return Response(body, status=status.HTTP_403_FORBIDDEN if denied else status.HTTP_200_OK)


class DeploymentListView(ProductListMixin, generics.ListAPIView):
    """Deployments, newest first, with their course; POST records one, or a new status of one
    already recorded (the same ``engine`` and ``external_id``). Scope ``deployments``."""

    serializer_class = DeploymentOutputSerializer
    write_scope = Scope.DEPLOYMENTS
    filter_backends: list[Any] = []
    parser_classes = [JSONParser]
    list_model = Deployment

    def scoped_queryset(self) -> QuerySet[Deployment]:
        deployments = deployment_list(product=self.product)
        environment = self.request.query_params.get("environment")
        return deployments.filter(environment__key=environment) if environment else deployments

    @extend_schema(
        request=DeploymentReportInputSerializer,
        responses={201: DeploymentOutputSerializer, 200: DeploymentOutputSerializer},
    )
    def post(self, request: Request, product_key: str) -> Response:
        data = valid_input(DeploymentReportInputSerializer, request)
        environment = environment_get(product=self.product, key=data.pop("environment"))
        deployment, _, created = deployment_report(environment=environment, actor=acting_user(request.user), **data)
        output = DeploymentOutputSerializer(deployment_get(product=self.product, pk=deployment.pk)).data
        return Response(output, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class DeploymentDetailView(ProductScopedMixin, APIView):
    @extend_schema(responses=DeploymentOutputSerializer)
    def get(self, request: Request, product_key: str, pk: int) -> Response:
        return Response(DeploymentOutputSerializer(deployment_get(product=self.product, pk=pk)).data)


class RunningView(ProductScopedMixin, APIView):
    """What runs where: per environment the newest successful deployment, the approved release that
    holds its digests, and the drift (digests no approved release holds)."""

    @extend_schema(responses=dict)
    def get(self, request: Request, product_key: str) -> Response:
        return Response(
            {"product": self.product.key, "environments": [r.as_dict() for r in running_where(product=self.product)]}
        )


class GateDecisionListView(ProductListMixin, generics.ListAPIView):
    """The gate-decision ledger: every question and answer, newest first."""

    serializer_class = GateDecisionOutputSerializer
    filter_backends: list[Any] = []
    list_model = GateDecision

    def scoped_queryset(self) -> QuerySet[GateDecision]:
        return decision_list(product=self.product)


VERSION = OpenApiParameter("version", str, OpenApiParameter.PATH, description="Release version")


class ReleaseGatesView(ProductScopedMixin, APIView):
    """The gates of every environment for the release's artifacts (nothing is recorded)."""

    @extend_schema(parameters=[VERSION], responses=GateAnswerOutputSerializer(many=True))
    def get(self, request: Request, product_key: str, version: str) -> Response:
        release = release_get(product=self.product, version=version)
        return Response([answer.as_dict() for answer in release_gates(release=release)])


class IntegrationApprovalView(ProductScopedMixin, APIView):
    """Gate G4: sign the integration approval of a frozen release (password; the ``approvals`` scope),
    after a successful deployment of its digests with passing smoke tests to testing or staging."""

    write_scope = Scope.APPROVALS
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[VERSION],
        request=IntegrationApprovalInputSerializer,
        responses={201: IntegrationApprovalOutputSerializer},
    )
    def post(self, request: Request, product_key: str, version: str) -> Response:
        data = valid_input(IntegrationApprovalInputSerializer, request)
        signer = acting_user(request.user)
        if "username" in data and data["username"] != signer.get_username():
            raise Forbidden("the user name does not match the signed-in user; nothing was signed", field="username")
        approval = integration_approve(
            release=release_get(product=self.product, version=version),
            signer=signer,
            password=data["password"],
            comment=data["comment"],
            deployment_id=data["deployment"],
            client_address=client_address(request),
        )
        return Response(IntegrationApprovalOutputSerializer(integration_data(approval)).data, status=201)


class ReleaseApprovalAttestationView(ProductScopedMixin, APIView):
    """The release approval (G5) as an in-toto statement in a DSSE envelope signed with the
    organisation's attestation key, one JSON line: for ``cosign attach attestation`` and Kyverno
    ``verifyImages``. 409 when the release is not approved or holds no artifacts; 503 without a key."""

    content_negotiation_class = IgnoreAccept

    @extend_schema(
        parameters=[VERSION],
        responses={
            200: OpenApiResponse(OpenApiTypes.BINARY, description="application/x-ndjson: one DSSE envelope"),
            409: OpenApiResponse(description="Not approved, or no artifacts"),
            503: OpenApiResponse(description="No attestation key configured"),
        },
    )
    def get(self, request: Request, product_key: str, version: str) -> HttpResponse:
        release = release_get(product=self.product, version=version)
        line = release_approval_attestation(release=release)
        response = HttpResponse(line, content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="{self.product.key}-{release.version}-{FILENAME}"'
        return response
