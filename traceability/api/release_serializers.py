"""Serializers of releases, signatures and the trace engine's answers (matrix, gaps, diff, impact)."""

from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from qms.models import Signature, SignatureMeaning
from traceability.api.serializers import UsernameField
from traceability.gap_rules import FINDING_SEVERITIES, GAP_RULES_BY_SLUG
from traceability.graph.matrix import DEFAULT_ROOT_KIND, ROOT_KINDS, ROW_STATUSES
from traceability.kinds import LinkType
from traceability.models import Release

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise


class ReleaseOutputSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.key")
    frozen = serializers.BooleanField(source="is_frozen")
    baseline_sha256 = serializers.CharField(allow_null=True, read_only=True)
    approved = serializers.BooleanField(
        read_only=True, help_text="The state says approved or released and the release approval record exists"
    )
    created_by = UsernameField()
    state_changed_by = UsernameField()

    class Meta:
        model = Release
        fields = [
            "product",
            "version",
            "state",
            "approved",
            "frozen",
            "baseline_sha256",
            "git_tag",
            "commit_sha",
            "notes",
            "frozen_at",
            "withdrawn_reason",
            "created_at",
            "created_by",
            "state_changed_at",
            "state_changed_by",
        ]


class ReleaseCreateInputSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=64)
    git_tag = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    commit_sha = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class ReleaseFreezeInputSerializer(serializers.Serializer):
    commit_sha = serializers.CharField(max_length=40, required=False, allow_blank=True)
    git_tag = serializers.CharField(max_length=255, required=False, allow_blank=True)


class SignatureInputSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    meaning = serializers.ChoiceField(choices=SignatureMeaning.choices, default=SignatureMeaning.APPROVAL)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    username = serializers.CharField(
        required=False, help_text="The signer's user name, checked against the authenticated user when given"
    )


class ReleaseWithdrawInputSerializer(serializers.Serializer):
    reason = serializers.CharField()


class SignatureOutputSerializer(serializers.ModelSerializer):
    signer = serializers.CharField(source="signer_username")

    class Meta:
        model = Signature
        fields = [
            "id",
            "signer",
            "printed_name",
            "signed_at",
            "meaning",
            "record_type",
            "record_id",
            "record_repr",
            "record_hash",
            "comment",
        ]


class ReleaseApprovedOutputSerializer(serializers.Serializer):
    release = ReleaseOutputSerializer()
    signature = SignatureOutputSerializer()


class ReleaseStatusOutputSerializer(serializers.Serializer):
    product = serializers.CharField()
    version = serializers.CharField()
    state = serializers.CharField()
    frozen = serializers.BooleanField()
    ready = serializers.BooleanField(help_text="No error-level gap")
    approved = serializers.BooleanField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    warnings = serializers.IntegerField()
    baseline_sha256 = serializers.CharField(allow_null=True)
    commit_sha = serializers.CharField()
    git_tag = serializers.CharField()
    signatures = serializers.IntegerField()


def _unknown(what: str, choices: Any) -> dict[str, "str | StrPromise"]:
    """An ``invalid_choice`` message that names the known values."""
    return {"invalid_choice": f"unknown {what} '{{input}}' (known: {', '.join(str(c) for c in choices)})"}


class MatrixQueryInputSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(
        choices=ROW_STATUSES, required=False, error_messages=_unknown("status", ROW_STATUSES)
    )
    gaps_only = serializers.BooleanField(required=False, default=False)
    root_kind = serializers.ChoiceField(
        choices=[str(kind) for kind in ROOT_KINDS],
        default=str(DEFAULT_ROOT_KIND),
        error_messages=_unknown("root kind", ROOT_KINDS),
    )


class MatrixRowOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    item_status = serializers.CharField()
    revision = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ROW_STATUSES)
    justification = serializers.CharField()
    reason = serializers.CharField()
    user_needs = serializers.ListField(child=serializers.CharField())
    system_requirements = serializers.ListField(child=serializers.CharField())
    parents = serializers.ListField(child=serializers.CharField())
    risks = serializers.ListField(child=serializers.CharField())
    risk_controls = serializers.ListField(child=serializers.CharField())
    software_items = serializers.ListField(child=serializers.CharField())
    tests = serializers.ListField(child=serializers.CharField())
    test_results = serializers.DictField(child=serializers.CharField(allow_null=True))
    commits = serializers.ListField(child=serializers.CharField())
    clauses = serializers.ListField(child=serializers.CharField())
    suspect_links = serializers.ListField(child=serializers.CharField())
    gaps = serializers.ListField(child=serializers.CharField())


class MatrixPageOutputSerializer(serializers.Serializer):
    product = serializers.CharField()
    release = serializers.CharField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    frozen = serializers.BooleanField()
    baseline_sha256 = serializers.CharField(allow_null=True)
    taken_at = serializers.CharField(allow_null=True)
    root_kind = serializers.CharField()
    coverage = serializers.DictField()
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = MatrixRowOutputSerializer(many=True)


class FindingOutputSerializer(serializers.Serializer):
    rule = serializers.CharField()
    severity = serializers.CharField()
    deviation = serializers.CharField(
        allow_null=True, help_text="The signed deviation (DEV-3) that lowered this finding's severity"
    )
    items = serializers.ListField(child=serializers.CharField())
    clauses = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()


class GapsPageOutputSerializer(serializers.Serializer):
    product = serializers.CharField()
    release = serializers.CharField(allow_null=True)
    frozen = serializers.BooleanField()
    ready = serializers.BooleanField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    warnings = serializers.IntegerField()
    by_rule = serializers.ListField(child=serializers.DictField())
    deviations = serializers.ListField(
        child=serializers.DictField(), help_text="The signed deviations in force (of the baseline, when frozen)"
    )
    notes = serializers.ListField(
        child=serializers.CharField(), help_text="Overrides or deviations that were not applied, and why"
    )
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = FindingOutputSerializer(many=True)


class GapsQueryInputSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(
        choices=FINDING_SEVERITIES, required=False, error_messages=_unknown("severity", FINDING_SEVERITIES)
    )
    rule = serializers.ChoiceField(
        choices=list(GAP_RULES_BY_SLUG), required=False, error_messages=_unknown("rule", GAP_RULES_BY_SLUG)
    )


class GraphQueryInputSerializer(serializers.Serializer):
    release = serializers.CharField(
        required=False, help_text="A release version: its baseline when frozen (default: the live graph)"
    )


class ItemTraceQueryInputSerializer(GraphQueryInputSerializer):
    direction = serializers.ChoiceField(
        choices=["upstream", "downstream"], error_messages=_unknown("direction", ["upstream", "downstream"])
    )
    link_type = serializers.MultipleChoiceField(
        choices=LinkType.values,
        required=False,
        error_messages=_unknown("link type", LinkType.values),
        help_text="Follow only these link types (repeatable; default: all)",
    )
