"""REST API of signed deviations: list and sign (``approvals`` scope and the password), revoke.
Thin: parse, call a service or selector, render."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.auth import client_address
from qms.roles import Scope
from traceability.api.release_views import _signer
from traceability.api.views import ProductListMixin, ProductScopedMixin, valid_input
from traceability.gap_rules import DEVIATION_SEVERITIES
from traceability.models import Deviation
from traceability.models.deviations import iso_utc
from traceability.selectors import SIGNATURE_COLUMNS, deviation_get, deviation_list
from traceability.services.deviations import deviation_revoke, deviation_sign


class _SigningInputSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    username = serializers.CharField(
        required=False, help_text="The signer's user name, checked against the authenticated user when given"
    )


class DeviationSignInputSerializer(_SigningInputSerializer):
    rule = serializers.CharField(max_length=64, help_text="A protected gap rule")
    item = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="One finding: its item at fault"
    )
    severity = serializers.ChoiceField(choices=DEVIATION_SEVERITIES, default="warning")
    rationale = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class DeviationRevokeInputSerializer(_SigningInputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)


def _signature(deviation: Deviation, prefix: str) -> dict[str, Any] | None:
    values = {name: getattr(deviation, f"{prefix}_{name}", None) for name in SIGNATURE_COLUMNS}
    if values["id"] is None or values["signed_at"] is None:
        return None
    return {
        "id": values["id"],
        "signer": values["signer_username"],
        "printed_name": values["printed_name"],
        "signed_at": iso_utc(values["signed_at"]),
        "meaning": values["meaning"],
        "record_hash": values["record_hash"],
        "comment": values["comment"],
    }


class DeviationOutputSerializer(serializers.ModelSerializer):
    deviation = serializers.CharField(source="label")
    item = serializers.CharField(source="item_key")
    scope = serializers.CharField(source="scope_label")
    signed_by = serializers.CharField(source="created_by.username")
    in_force = serializers.SerializerMethodField()
    signature = serializers.SerializerMethodField()
    revocation = serializers.SerializerMethodField()

    class Meta:
        model = Deviation
        fields = [
            "deviation",
            "number",
            "rule",
            "item",
            "scope",
            "severity",
            "rationale",
            "sha256",
            "created_at",
            "signed_by",
            "in_force",
            "signature",
            "revocation",
        ]

    def get_in_force(self, deviation: Deviation) -> bool:
        return not hasattr(deviation, "revocation")

    def get_signature(self, deviation: Deviation) -> dict[str, Any] | None:
        return _signature(deviation, "signature")

    def get_revocation(self, deviation: Deviation) -> dict[str, Any] | None:
        if not hasattr(deviation, "revocation"):
            return None
        revocation = deviation.revocation
        return {
            "reason": revocation.reason,
            "sha256": revocation.sha256,
            "created_at": iso_utc(revocation.created_at),
            "revoked_by": revocation.created_by.username,
            "signature": _signature(deviation, "revocation_signature"),
        }


class DeviationListView(ProductListMixin, generics.ListAPIView):
    """The product's signed deviations (in force and revoked). POST signs a new one: a quality
    manager lowers a protected gap rule (or one finding of it) with a rationale and the password."""

    serializer_class = DeviationOutputSerializer
    write_scope = Scope.APPROVALS
    filter_backends: list[Any] = []
    list_model = Deviation

    def scoped_queryset(self) -> QuerySet[Deviation]:
        return deviation_list(product=self.product)

    @extend_schema(request=DeviationSignInputSerializer, responses={201: DeviationOutputSerializer})
    def post(self, request: Request, product_key: str) -> Response:
        data = valid_input(DeviationSignInputSerializer, request)
        deviation = deviation_sign(
            product=self.product,
            rule=data["rule"],
            item_key=data["item"],
            severity=data["severity"],
            rationale=data["rationale"],
            comment=data["comment"],
            signer=_signer(request, data),
            password=data["password"],
            client_address=client_address(request),
        )
        output = DeviationOutputSerializer(deviation_get(product=self.product, number=deviation.number))
        return Response(output.data, status=status.HTTP_201_CREATED)


class DeviationDetailView(ProductScopedMixin, APIView):
    @extend_schema(responses=DeviationOutputSerializer)
    def get(self, request: Request, product_key: str, number: int) -> Response:
        return Response(DeviationOutputSerializer(deviation_get(product=self.product, number=number)).data)


class DeviationRevokeView(ProductScopedMixin, APIView):
    """Withdraw a deviation by a signed revocation (reason and password); the deviation stays on record."""

    write_scope = Scope.APPROVALS

    @extend_schema(request=DeviationRevokeInputSerializer, responses=DeviationOutputSerializer)
    def post(self, request: Request, product_key: str, number: int) -> Response:
        data = valid_input(DeviationRevokeInputSerializer, request)
        deviation_revoke(
            deviation=deviation_get(product=self.product, number=number),
            reason=data["reason"],
            signer=_signer(request, data),
            password=data["password"],
            client_address=client_address(request),
        )
        return Response(DeviationOutputSerializer(deviation_get(product=self.product, number=number)).data)
