"""REST API of item approvals with an electronic signature: approve (``approvals`` scope and the
password) and the item's signatures. Thin: parse, call a service or selector, render."""

from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.auth import client_address
from qms.models import Signature
from qms.roles import Scope
from qms.snapshot import read_snapshot
from traceability.api.release_serializers import SignatureOutputSerializer
from traceability.api.release_views import _signer
from traceability.api.serializers import ItemDetailOutputSerializer
from traceability.api.views import ProductScopedMixin, item_detail, valid_input
from traceability.models import Item
from traceability.selectors import item_get, item_signatures
from traceability.services.items import item_approve


class ItemApproveInputSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    username = serializers.CharField(
        required=False, help_text="The signer's user name, checked against the authenticated user when given"
    )


class ItemSignatureOutputSerializer(SignatureOutputSerializer):
    current = serializers.SerializerMethodField(
        help_text="The signature is over the item's content as it is now (its fingerprint)"
    )

    class Meta(SignatureOutputSerializer.Meta):
        fields = [*SignatureOutputSerializer.Meta.fields, "current"]

    def get_current(self, signature: Signature) -> bool:
        return bool(signature.record_hash == self.context["fingerprint"])


class ItemApprovedOutputSerializer(serializers.Serializer):
    item = ItemDetailOutputSerializer()
    signature = ItemSignatureOutputSerializer()


class ItemScopedMixin(ProductScopedMixin):
    @cached_property
    def item(self) -> Item:
        return item_get(product=self.product, key=self.kwargs["key"])


class ItemApproveView(ItemScopedMixin, APIView):
    """Approve the item with a Part 11 signature (password again, meaning ``approval``) over its
    content's SHA-256 (its fingerprint); the status becomes ``approved``. Needs the ``approvals``
    scope. 201 with the new signature; 200 with the existing one when the same signer approves the
    same content with the same comment again. 409 ``item_obsolete`` for an obsolete item."""

    write_scope = Scope.APPROVALS

    @extend_schema(
        request=ItemApproveInputSerializer,
        responses={201: ItemApprovedOutputSerializer, 200: ItemApprovedOutputSerializer},
    )
    def post(self, request: Request, product_key: str, key: str) -> Response:
        data = valid_input(ItemApproveInputSerializer, request)
        signature = item_approve(
            item=self.item,
            signer=_signer(request, data),
            password=data["password"],
            comment=data["comment"],
            client_address=client_address(request),
        )
        with read_snapshot():
            item = item_get(product=self.product, key=key)
            body = {
                "item": item_detail(item),
                "signature": ItemSignatureOutputSerializer(signature, context={"fingerprint": item.fingerprint}).data,
            }
        return Response(body, status=status.HTTP_200_OK if signature.repeated else status.HTTP_201_CREATED)


class ItemSignatureListView(ItemScopedMixin, generics.ListAPIView):
    """The signatures over the item, oldest first; ``current``: signed over its content as it is now
    (an approval of content changed since no longer counts)."""

    serializer_class = ItemSignatureOutputSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Signature]:
        if getattr(self, "swagger_fake_view", False):
            return Signature.objects.none()
        return item_signatures(self.item)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["fingerprint"] = self.item.fingerprint
        return context
