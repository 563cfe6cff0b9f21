"""Admin of RegOps: environments are edited by quality managers (through the services, audited);
gate decisions, deployments and integration approvals are shown, never changed."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from qms.admin import RoleAdmin, RoleInline
from qms.errors import DomainError
from qms.roles import Scope, acting_user
from regops.models import Deployment, DeploymentStatus, Environment, GateDecision, IntegrationApproval
from regops.services.environments import EDITABLE, environment_check, environment_create, environment_update


class EnvironmentAdminForm(forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["product", "key", *EDITABLE]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        candidate = Environment(
            **{**{name: getattr(self.instance, name) for name in self.Meta.fields if name != "product"}, **data}
        )
        try:  # the service's rules, shown on the form
            environment_check(candidate)
        except DomainError as exc:
            field = exc.context.get("field")
            self.add_error(field if field in self.fields else None, exc.message)
        return data


@admin.register(Environment)
class EnvironmentAdmin(RoleAdmin):
    write_scope = Scope.PRODUCTS
    form = EnvironmentAdminForm
    list_display = ["product", "key", "name", "tier", "gates", "github_repository", "github_environment"]
    list_filter = ["product", "tier"]
    fields = ["product", "key", *EDITABLE]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["product", "key"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Environment, form: Any, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in EDITABLE if name in form.cleaned_data}
        try:
            if change:
                saved = environment_update(environment=obj, actor=acting_user(request.user), **data)
            else:
                saved = environment_create(
                    product=form.cleaned_data["product"],
                    key=form.cleaned_data["key"],
                    actor=acting_user(request.user),
                    **data,
                )
        except DomainError as exc:
            raise admin.helpers.ValidationError(exc.message) from exc  # type: ignore[attr-defined]
        obj.pk = saved.pk


class ReadOnly(RoleAdmin):
    """Records written by engines, scripts and signatures; the admin shows them."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


@admin.register(GateDecision)
class GateDecisionAdmin(ReadOnly):
    list_display = ["id", "product", "environment", "version", "engine", "allowed", "decided_at", "asked_by_username"]
    list_filter = ["product", "allowed", "engine"]


class DeploymentStatusInline(RoleInline):
    model = DeploymentStatus
    extra = 0
    fields = ("state", "at", "description", "smoke", "reported_by")
    readonly_fields = ("state", "at", "description", "smoke", "reported_by")


@admin.register(Deployment)
class DeploymentAdmin(ReadOnly):
    list_display = ["id", "product", "environment", "version", "engine", "external_id", "gate_flag", "created_at"]
    list_filter = ["product", "engine"]
    inlines = [DeploymentStatusInline]


@admin.register(IntegrationApproval)
class IntegrationApprovalAdmin(ReadOnly):
    list_display = ["release", "environment", "deployment", "approved_by", "approved_at"]
