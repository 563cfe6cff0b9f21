from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from qms.api.permissions import request_write_scopes
from qms.api.serializers import (
    AuditEventOutputSerializer,
    MeOutputSerializer,
    TokenCreatedOutputSerializer,
    TokenCreateInputSerializer,
    TokenOutputSerializer,
)
from qms.errors import NotFound
from qms.models import ApiToken, AuditEvent
from qms.roles import acting_user, user_roles
from qms.selectors import audit_event_list, token_list
from qms.services import token_create, token_revoke


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_username")
    scope = django_filters.CharFilter()
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields = ["action", "scope"]


class AuditEventListView(generics.ListAPIView):
    """The audit trail: who did what to which record, when, with the state before and after."""

    serializer_class = AuditEventOutputSerializer
    filterset_class = AuditEventFilter
    ordering_fields = ["id", "at"]
    search_fields = ["object_repr", "actor_username", "action"]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_event_list()


class MeView(APIView):
    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        token = request.auth if isinstance(request.auth, ApiToken) else None
        data = {
            "username": user.get_username(),
            "full_name": user.get_full_name(),  # type: ignore[union-attr]
            "roles": sorted(user_roles(user)),
            "write_scopes": sorted(request_write_scopes(request)),
            "token": {"name": token.name, "prefix": token.prefix, "scopes": token.scopes} if token else None,
        }
        return Response(MeOutputSerializer(data).data)


class OwnTokensPermission(permissions.BasePermission):
    """Anyone with a role manages their own tokens, but only from a signed-in session."""

    message = "Your account has no role (quality manager, developer or auditor)."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if not (getattr(user, "is_superuser", False) or user_roles(user)):
            return False
        if request.method not in permissions.SAFE_METHODS and isinstance(request.auth, ApiToken):
            self.message = "API tokens cannot create or revoke tokens; sign in."
            return False
        return True


class TokenListView(generics.ListAPIView):
    """Your API tokens. The key is shown once, in the response that creates it.

    A token's scopes are at most your role's; an auditor may create read-only tokens (no scopes)
    for scripted exports, and they are refused on every write.
    """

    serializer_class = TokenOutputSerializer
    permission_classes = [OwnTokensPermission]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[ApiToken]:
        return token_list(user_id=self.request.user.pk)

    @extend_schema(request=TokenCreateInputSerializer, responses={201: TokenCreatedOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token, key = token_create(
            user=acting_user(request.user),
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data.get("expires_at"),
            actor=acting_user(request.user),
        )
        return Response(TokenCreatedOutputSerializer(token, context={"key": key}).data, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    """Revoke one of your tokens; quality managers (who manage accounts) revoke anyone's."""

    permission_classes = [OwnTokensPermission]

    @extend_schema(request=None, responses=TokenOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        token = ApiToken.objects.filter(pk=pk).select_related("user").first()
        if token is None:
            raise NotFound(f"no token #{pk}")
        token = token_revoke(token=token, actor=acting_user(request.user))
        return Response(TokenOutputSerializer(token).data)
