"""Admin for quality managers; auditors browse it read-only.

Permissions come from roles (groups) and write scopes, not from Django's per-model permissions.
Every write made here goes through a service or is audited by ``AuditedAdmin``.
"""

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.forms.models import model_to_dict
from django.http import HttpRequest

from qms.errors import DomainError
from qms.models import ApiToken, AuditEvent, Signature
from qms.roles import Scope, acting_user, user_roles, user_write_scopes
from qms.services import audit_record, token_revoke


def _has_role(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and (user.is_superuser or user_roles(user)))


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, models.Model):
            value = value.pk
        elif isinstance(value, (list, tuple)):
            value = [v.pk if isinstance(v, models.Model) else v for v in value]
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        safe[key] = value
    return safe


class RoleAdmin(admin.ModelAdmin):
    """Everyone with a role views; writing needs ``write_scope`` (None: read-only)."""

    write_scope: str | None = None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _has_role(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _has_role(request)

    def _can_write(self, request: HttpRequest) -> bool:
        return (
            _has_role(request) and self.write_scope is not None and self.write_scope in user_write_scopes(request.user)
        )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._can_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)


class RoleInline(admin.TabularInline):
    write_scope: str | None = None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _has_role(request)

    def _can_write(self, request: HttpRequest) -> bool:
        return (
            _has_role(request) and self.write_scope is not None and self.write_scope in user_write_scopes(request.user)
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)


class AuditedAdmin(RoleAdmin):
    """For simple records without a dedicated service: each save and delete writes an audit event."""

    audit_scope = ""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = _json_safe(model_to_dict(type(obj).objects.get(pk=obj.pk))) if change else None
        super().save_model(request, obj, form, change)
        name = obj._meta.model_name
        audit_record(
            actor=acting_user(request.user),
            action=f"{name}.{'updated' if change else 'created'}",
            obj=obj,
            scope=self.audit_scope,
            before=before,
            after=_json_safe(model_to_dict(obj)),
            note="via admin",
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(
            actor=acting_user(request.user),
            action=f"{obj._meta.model_name}.deleted",
            obj=obj,
            scope=self.audit_scope,
            before=_json_safe(model_to_dict(obj)),
            note="via admin",
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(RoleAdmin):
    list_display = ["at", "actor_username", "action", "object_repr", "scope"]
    list_filter = ["action", "scope"]
    search_fields = ["object_repr", "actor_username", "action"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


@admin.register(ApiToken)
class ApiTokenAdmin(RoleAdmin):
    """Tokens are created with ``manage.py token_create`` or ``POST /api/v1/tokens/``; revoked here."""

    write_scope = Scope.PRODUCTS  # quality managers administer other people's tokens
    list_display = ["name", "user", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "key_hash"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        if not self._can_write(request):
            self.message_user(request, "Your role may not revoke tokens.", messages.ERROR)
            return
        revoked = 0
        for token in queryset:
            try:
                token_revoke(token=token, actor=acting_user(request.user))
                revoked += 1
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        self.message_user(request, f"{revoked} token(s) revoked.")


@admin.register(Signature)
class SignatureAdmin(RoleAdmin):
    """Electronic signatures are applied by the services (release approval); never edited."""

    list_display = ["signed_at", "printed_name", "meaning", "record_repr", "record_hash", "scope"]
    list_filter = ["meaning", "scope"]
    search_fields = ["printed_name", "signer_username", "record_repr", "record_hash"]
    readonly_fields = [f.name for f in Signature._meta.fields]


admin.site.site_header = "Q-interface administration"
admin.site.site_title = "Q-interface"
admin.site.index_title = "Quality system records"
