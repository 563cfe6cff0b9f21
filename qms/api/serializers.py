from typing import Any

from rest_framework import serializers

from qms.models import ApiToken, AuditEvent
from qms.roles import Scope


class AuditEventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_username")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "scope",
            "before",
            "after",
            "note",
            "digest",
        ]


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    write_scopes = serializers.ListField(child=serializers.CharField())
    token = serializers.DictField(allow_null=True)


class TokenOutputSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "user",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]


class TokenCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), allow_empty=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class TokenCreatedOutputSerializer(TokenOutputSerializer):
    key = serializers.SerializerMethodField()

    class Meta(TokenOutputSerializer.Meta):
        fields = [*TokenOutputSerializer.Meta.fields, "key"]

    def get_key(self, token: ApiToken) -> Any:
        return self.context["key"]
