"""What GitOps engines report: Argo CD notifications (an API token with the ``deployments`` scope,
sent as a header by the notifications webhook service) and Flux events (``generic-hmac``: the
``X-Signature`` HMAC under the product's webhook secret). Thin: authenticate, parse, record."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.api.parsers import JSONParser
from qms.roles import Scope, acting_user
from regops.services.gitops import (
    FLUX_SIGNATURE_HEADER,
    EngineReport,
    argocd_notification_record,
    flux_event_record,
    flux_signature_verify,
)
from traceability.api.evidence.webhooks import WebhookView
from traceability.api.views import ProductScopedMixin
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


class FluxWebhookView(WebhookView):
    """A Flux notification-controller event (``Provider`` of type ``generic-hmac``). The header is
    checked first (missing 401, any method), then the product (404), then the HMAC (wrong 403); only
    then is the body read. 202 for events that say nothing about a deployment."""

    header = FLUX_SIGNATURE_HEADER

    def verify(self, request: Request) -> None:
        flux_signature_verify(product=self.product, body=self.body, signature=request.headers.get(self.header))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT})
    def post(self, request: Request, product_key: str) -> Response:
        return reported(flux_event_record(product=self.product, payload=webhook_payload(self.body)))
