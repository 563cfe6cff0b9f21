from typing import Any

from rest_framework import serializers

from regops.models import Deployment, Environment, GateDecision
from regops.selectors import deployment_state


class EnvironmentOutputSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.key")

    class Meta:
        model = Environment
        fields = [
            "product",
            "key",
            "name",
            "tier",
            "gates",
            "url",
            "github_repository",
            "github_environment",
            "gitlab_project",
            "gitlab_environment",
            "argocd_application",
            "flux_object",
            "created_at",
            "updated_at",
        ]


class EnvironmentBindingsInputSerializer(serializers.Serializer):
    url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    github_repository = serializers.CharField(required=False, allow_blank=True, max_length=200)
    github_environment = serializers.CharField(required=False, allow_blank=True, max_length=255)
    gitlab_project = serializers.CharField(required=False, allow_blank=True, max_length=255)
    gitlab_environment = serializers.CharField(required=False, allow_blank=True, max_length=255)
    argocd_application = serializers.CharField(required=False, allow_blank=True, max_length=255)
    flux_object = serializers.CharField(required=False, allow_blank=True, max_length=255)


class EnvironmentCreateInputSerializer(EnvironmentBindingsInputSerializer):
    key = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=255)
    tier = serializers.CharField(help_text="development, testing, staging, production or other")
    gates = serializers.ListField(
        child=serializers.CharField(), required=False, allow_null=True, default=None, help_text="Default: by tier"
    )


class EnvironmentUpdateInputSerializer(EnvironmentBindingsInputSerializer):
    name = serializers.CharField(required=False, max_length=255)
    tier = serializers.CharField(required=False)
    gates = serializers.ListField(child=serializers.CharField(), required=False)


class GateResultOutputSerializer(serializers.Serializer):
    gate = serializers.CharField()
    status = serializers.CharField(help_text="passed, missing or failed")
    required = serializers.BooleanField()  # type: ignore[assignment]
    reasons = serializers.ListField(child=serializers.CharField())


class GateAnswerOutputSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    product = serializers.CharField()
    environment = serializers.CharField()
    tier = serializers.CharField()
    release = serializers.CharField(allow_null=True)
    release_state = serializers.CharField(allow_null=True)
    baseline_sha256 = serializers.CharField(allow_null=True)
    digests = serializers.ListField(child=serializers.CharField())
    inputs = serializers.DictField(child=serializers.CharField())
    gates = GateResultOutputSerializer(many=True)
    reasons = serializers.ListField(child=serializers.CharField())
    decision = serializers.IntegerField(required=False, help_text="The gate decision recorded in the ledger")


class GateQueryInputSerializer(serializers.Serializer):
    digest = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    version = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    commit = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    strict = serializers.BooleanField(required=False, default=False, help_text="403 when denied")
    engine = serializers.CharField(required=False, default="api", max_length=32)
    external_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class DeploymentStatusOutputSerializer(serializers.Serializer):
    state = serializers.CharField()
    at = serializers.DateTimeField()
    description = serializers.CharField()
    log_url = serializers.CharField()
    steps = serializers.ListField(child=serializers.DictField())
    smoke = serializers.DictField(allow_null=True)
    reported_by = serializers.CharField()


class DeploymentOutputSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.key")
    release = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    statuses = DeploymentStatusOutputSerializer(many=True, read_only=True)
    gate_decision = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    gate_allowed = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id",
            "environment",
            "release",
            "version",
            "digests",
            "engine",
            "external_id",
            "external_url",
            "initiator",
            "state",
            "gate_decision",
            "gate_allowed",
            "gate_flag",
            "rollback_of",
            "created_at",
            "statuses",
        ]

    def get_release(self, deployment: Deployment) -> str | None:
        return deployment.release.version if deployment.release is not None else None

    def get_state(self, deployment: Deployment) -> str | None:
        status = deployment_state(deployment)
        return status.state if status is not None else None

    def get_gate_allowed(self, deployment: Deployment) -> bool | None:
        return deployment.gate_decision.allowed if deployment.gate_decision is not None else None


class DeploymentReportInputSerializer(serializers.Serializer):
    environment = serializers.CharField(max_length=32)
    state = serializers.CharField(help_text="queued, in_progress, success, failure or rolled_back")
    digests = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    version = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    engine = serializers.CharField(required=False, default="api", max_length=32)
    external_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    external_url = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    initiator = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    log_url = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    steps = serializers.ListField(child=serializers.DictField(), required=False, allow_null=True, default=None)
    smoke = serializers.DictField(required=False, allow_null=True, default=None)
    rollback_of = serializers.IntegerField(required=False, allow_null=True, default=None)


class GateDecisionOutputSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.key")
    asked_by = serializers.CharField(source="asked_by_username")

    class Meta:
        model = GateDecision
        fields = [
            "id",
            "environment",
            "version",
            "baseline_sha256",
            "digests",
            "inputs",
            "engine",
            "external",
            "allowed",
            "gates",
            "reasons",
            "decided_at",
            "asked_by",
            "digest",
        ]


class IntegrationApprovalInputSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    deployment = serializers.IntegerField(required=False, allow_null=True, default=None)
    username = serializers.CharField(required=False)


class IntegrationApprovalOutputSerializer(serializers.Serializer):
    release = serializers.CharField()
    environment = serializers.CharField()
    deployment = serializers.IntegerField()
    baseline_sha256 = serializers.CharField()
    digests = serializers.ListField(child=serializers.CharField())
    printed_name = serializers.CharField()
    signed_at = serializers.DateTimeField()
    meaning = serializers.CharField()


def integration_data(approval: Any) -> dict[str, Any]:
    signature = approval.signature
    return {
        "release": approval.release.version,
        "environment": approval.environment.key,
        "deployment": approval.deployment_id,
        "baseline_sha256": approval.baseline_sha256,
        "digests": approval.digests,
        "printed_name": signature.printed_name,
        "signed_at": signature.signed_at,
        "meaning": signature.meaning,
    }
