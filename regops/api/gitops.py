"""What GitOps engines report: Argo CD notifications (an API token with the ``deployments`` scope,
sent as a header by the notifications webhook service) and Flux events (``generic-hmac``: the
``X-Signature`` HMAC under the product's webhook secret). Thin: authenticate, parse, record."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.api.parsers import JSONParser
from qms.errors import Unauthenticated
from qms.roles import Scope, acting_user
from regops.services.gitops import (
    FLUX_SIGNATURE_HEADER,
    EngineReport,
    argocd_notification_record,
    flux_event_record,
    flux_signature_verify,
)
from traceability.api.evidence.views import request_body
from traceability.api.views import ProductScopedMixin
from traceability.selectors import product_get
from traceability.services.evidence import webhook_payload


def reported(report: EngineReport) -> Response:
    code = status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
    return Response(report.as_dict(), status=status.HTTP_202_ACCEPTED if report.status == "ignored" else code)


class ArgoCdNotificationView(ProductScopedMixin, APIView):
    """An Argo CD notification (our ``webhook`` template: app, revision, sync status, health, operation
    phase, times, images): recorded as a deployment of the environment bound to the application, or a
    new status of it. 201 new deployment, 200 new status or unchanged. Scope ``deployments``."""

    write_scope = Scope.DEPLOYMENTS
    parser_classes = [JSONParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT})
    def post(self, request: Request, product_key: str) -> Response:
        return reported(
            argocd_notification_record(product=self.product, payload=request.data, actor=acting_user(request.user))
        )


class FluxWebhookView(APIView):
    """A Flux notification-controller event (``Provider`` of type ``generic-hmac``). The header is
    checked first (missing 401), then the product (404), then the HMAC (wrong 403); only then is the
    body read. 202 for events that say nothing about a deployment."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    parser_classes: list[Any] = []

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT})
    def post(self, request: Request, product_key: str) -> Response:
        signature = request.headers.get(FLUX_SIGNATURE_HEADER)
        if not signature:
            raise Unauthenticated(f"missing {FLUX_SIGNATURE_HEADER} header", code="signature_missing")
        product = product_get(product_key)
        body = request_body(request, "Flux event")
        flux_signature_verify(product=product, body=body, signature=signature)
        return reported(flux_event_record(product=product, payload=webhook_payload(body)))
