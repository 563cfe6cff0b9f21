"""Admin for quality managers; auditors browse it read-only.

Permissions come from roles (groups) and write scopes, the same as the API's, never from
Django's per-model permissions: ``RoleAdmin`` and ``RoleInline`` let everyone with a role view,
add and change with the model's ``write_scope``, and delete only where a model names a
``delete_scope`` (quality records name none: they are never deleted). A model without a scope is
read-only. Every write made here goes through a service or is audited by ``AuditedAdmin``.
"""

import copy
from collections.abc import Mapping
from typing import Any

import django_tasks_db.admin
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.http import HttpRequest
from django_tasks_db.models import DBTaskResult

from qms.errors import DomainError, Forbidden, InvalidInput
from qms.forms import JSONField
from qms.lockout import annotated_lock_state, users_with_lock_state, when
from qms.models import ApiToken, AuditEvent, Signature
from qms.roles import Role, acting_user, manages_accounts, role_names, user_roles, user_write_scopes
from qms.services import audit_record, token_revoke, user_role_set
from qms.services.accounts import account_unlock, signer_name_check
from qms.services.users import active_change_check, user_active_set, user_create, user_password_set, user_update


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


def _in_scope(request: HttpRequest, scope: str | None) -> bool:
    return _has_role(request) and scope is not None and scope in user_write_scopes(request.user)


# JSON fields refuse, on the form, the text the database cannot store (NUL, lone surrogates).
JSON_FORM_FIELD: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.JSONField: {"form_class": JSONField}
}


class RoleAdmin(admin.ModelAdmin):
    """Everyone with a role views; adding and changing need ``write_scope`` (None: read-only);
    deleting needs ``delete_scope`` (None, the default: nobody deletes, not even a superuser)."""

    write_scope: str | None = None
    delete_scope: str | None = None
    formfield_overrides = JSON_FORM_FIELD

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _has_role(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _has_role(request)

    def _can_write(self, request: HttpRequest) -> bool:
        return _in_scope(request, self.write_scope)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._can_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can_write(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _in_scope(request, self.delete_scope)


class RoleInline(admin.TabularInline):
    """Rows shown on a parent's page: added with ``write_scope``, removed with ``delete_scope``, never edited."""

    write_scope: str | None = None
    delete_scope: str | None = None
    formfield_overrides = JSON_FORM_FIELD

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _has_role(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _in_scope(request, self.write_scope)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _in_scope(request, self.delete_scope)


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
    """Tokens are created with ``manage.py token_create`` or ``POST /api/v1/tokens/``; revoked here by
    those who manage accounts (quality managers), as ``token_revoke`` allows."""

    list_display = ["name", "user", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "key_hash"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return _has_role(request) and manages_accounts(request.user)

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
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


# --- users -----------------------------------------------------------------------------------


def _manages_users(request: HttpRequest) -> bool:
    """Quality managers (and superusers) manage user accounts in the admin."""
    return _has_role(request) and manages_accounts(request.user)


def _roles_field(*, required: bool) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=required,
        help_text="What the user may do: quality managers write everything, developers items and evidence, "
        "auditors read only.",
    )


class SignerNameFormMixin(forms.BaseForm):
    """The services' rule that a role that signs needs a full name, shown on the form."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        instance = getattr(self, "instance", None)
        try:
            signer_name_check(
                username=str(data.get("username") or getattr(instance, "username", "")),
                first_name=data.get("first_name", getattr(instance, "first_name", "")),
                last_name=data.get("last_name", getattr(instance, "last_name", "")),
                roles=data.get("roles") or [],
            )
        except InvalidInput as exc:
            self.add_error(exc.context.get("field", "first_name"), exc.message)
        return data


class UserAddForm(SignerNameFormMixin, AdminUserCreationForm):
    roles = _roles_field(required=True)

    class Meta(AdminUserCreationForm.Meta):  # type: ignore[name-defined]
        fields = ["username", "first_name", "last_name", "email", "is_staff"]


class UserEditForm(SignerNameFormMixin, UserChangeForm):
    roles = _roles_field(required=False)  # no role: the account can sign in but is refused everywhere

    class Meta(UserChangeForm.Meta):  # type: ignore[name-defined]
        fields = ["username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["roles"] = role_names(self.instance)


class UserAdmin(DjangoUserAdmin):
    """User accounts for quality managers: every change goes through the audited user services.

    Quality managers add users, set names, e-mail, roles, admin access and passwords, and
    deactivate; superuser status and superusers' accounts stay with superusers. Users are never
    deleted here (the audit trail points at them): deactivate instead.
    """

    form = UserEditForm
    add_form = UserAddForm
    list_display = [
        "username",
        "first_name",
        "last_name",
        "email",
        "role_list",
        "is_active",
        "locked_until",
        "is_staff",
        "last_login",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups"]
    actions = ["unlock"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]
    filter_horizontal = ()
    readonly_fields = ["last_login", "date_joined"]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "usable_password", "password1", "password2"]}),
        ("Person", {"fields": ["first_name", "last_name", "email"]}),
        ("Access", {"fields": ["roles", "is_staff"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return users_with_lock_state(super().get_queryset(request).prefetch_related("groups"))

    @admin.display(description="roles")
    def role_list(self, user: User) -> str:
        return ", ".join(sorted(g.name for g in user.groups.all() if g.name in Role.values)) or "-"

    @admin.display(description="locked until")
    def locked_until(self, user: User) -> str:
        """After too many failed sign-ins or signatures (LOCKOUT_FAILURES, LOCKOUT_MINUTES)."""
        until = annotated_lock_state(user).locked_until
        return when(until) if until else "-"

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return _manages_users(request)

    @admin.action(description="Unlock the selected accounts", permissions=["unlock"])
    def unlock(self, request: HttpRequest, queryset: Any) -> None:
        unlocked = []
        for user in queryset:
            try:
                account_unlock(username=user.get_username(), actor=acting_user(request.user))
                unlocked.append(user.get_username())
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        if unlocked:
            self.message_user(request, f"Unlocked: {', '.join(unlocked)}.")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.add_fieldsets
        access = ["roles", "is_active", "is_staff"]
        if request.user.is_superuser:
            access.append("is_superuser")
        return [
            (None, {"fields": ["username", "password"]}),
            ("Person", {"fields": ["first_name", "last_name", "email"]}),
            ("Access", {"fields": access}),
            ("Dates", {"fields": ["last_login", "date_joined"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["username", "last_login", "date_joined"] if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None or obj.pk != request.user.pk:
            return form

        class OwnAccountForm(form):  # type: ignore[misc, valid-type]
            def clean(self) -> dict[str, Any]:
                data = super().clean() or {}
                try:  # the service's rule, shown on the form rather than as an error page
                    active_change_check(
                        user=obj, is_active=data.get("is_active", True), actor=acting_user(request.user)
                    )
                except Forbidden as exc:
                    self.add_error("is_active", exc.message)
                return data

        return OwnAccountForm

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _has_role(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _has_role(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _manages_users(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return _manages_users(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        data = form.cleaned_data
        actor = acting_user(request.user)
        try:
            if not change:
                saved = user_create(
                    username=data["username"],
                    roles=data["roles"],
                    email=data.get("email") or "",
                    first_name=data.get("first_name") or "",
                    last_name=data.get("last_name") or "",
                    password=data.get("password1") if data.get("set_usable_password", True) else None,
                    is_staff=bool(data.get("is_staff")),
                    actor=actor,
                )
                obj.pk = saved.pk
                return
            changes = {name: data[name] for name in ("first_name", "last_name", "email", "is_staff") if name in data}
            if request.user.is_superuser and "is_superuser" in data:
                changes["is_superuser"] = data["is_superuser"]
            user_update(user=obj, actor=actor, **changes)
            user_role_set(user=obj, roles=data["roles"], actor=actor)
            if "is_active" in data:
                user_active_set(user=obj, is_active=data["is_active"], actor=actor)
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Roles were set by the services; the form has no other related fields."""

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        """Django's password page, with the new password set by ``user_password_set`` (audited)."""
        actor = acting_user(request.user)

        class AuditedPasswordForm(self.change_password_form):  # type: ignore[name-defined]
            def save(self, commit: bool = True) -> User:
                password = (
                    self.cleaned_data["password1"] if self.cleaned_data.get("set_usable_password", True) else None
                )
                saved = user_password_set(user=self.user, password=password, actor=actor)
                self.user.password = saved.password  # keeps the session of a user changing their own password
                return saved

        per_request = copy.copy(self)  # the admin instance is shared between requests
        per_request.change_password_form = AuditedPasswordForm
        with transaction.atomic():
            return DjangoUserAdmin.user_change_password(per_request, request, id, form_url)


# Importing django.contrib.auth.admin (above) and django_tasks_db.admin registered their admins: ours replace them.
admin.site.unregister(User)
admin.site.register(User, UserAdmin)
admin.site.unregister(Group)  # the roles: created by a migration, given on the user's page, never edited


class TaskResultAdmin(RoleAdmin, django_tasks_db.admin.DBTaskResultAdmin):
    """Background jobs (trace reports): read-only for everyone with a role, like the records they make."""


admin.site.unregister(DBTaskResult)
admin.site.register(DBTaskResult, TaskResultAdmin)
