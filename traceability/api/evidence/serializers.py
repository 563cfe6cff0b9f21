from typing import Any

from rest_framework import serializers

from traceability.api.serializers import UsernameField
from traceability.models import Commit, CommitLink, TestResult, TestRun


class RunBindingInputSerializer(serializers.Serializer):
    """What a run is bound to and where it ran; ``version`` and/or ``commit``."""

    version = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    commit = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    environment = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    ci_job_url = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    finished_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class TestResultsInputSerializer(RunBindingInputSerializer):
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{test_id, status, name?, duration?, message?, output?, requirements?: [keys], rationale?}]",
    )


class ManualExecutionsInputSerializer(RunBindingInputSerializer):
    executions = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{test_case: key, status, executed_at, executed_by?, notes?, rationale?, duration?}]",
    )


class JunitUploadInputSerializer(RunBindingInputSerializer):
    file = serializers.ListField(child=serializers.FileField(), required=False, help_text="JUnit XML file(s)")


class CommitBatchInputSerializer(serializers.Serializer):
    commits = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{sha, authored_at, repository?, author_name?, author_email?, message?, parents?: [sha]}]",
    )


class IngestSummaryOutputSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    created = serializers.BooleanField()
    product = serializers.CharField()
    version = serializers.CharField()
    commit = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    flavours = serializers.ListField(child=serializers.CharField())
    results = serializers.IntegerField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    skipped = serializers.IntegerField()
    passed_with_exception = serializers.IntegerField()
    failed_accepted = serializers.IntegerField()
    linked = serializers.IntegerField()
    test_cases_created = serializers.IntegerField()
    links_created = serializers.IntegerField()
    unresolved_count = serializers.IntegerField()
    unresolved = serializers.ListField(child=serializers.DictField())


class CommitBatchOutputSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    links_created = serializers.IntegerField()
    unresolved_count = serializers.IntegerField()
    unresolved = serializers.ListField(child=serializers.DictField())


class TestRunOutputSerializer(serializers.ModelSerializer):
    created_by = UsernameField()
    token = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = TestRun
        fields = [
            "id",
            "version",
            "commit_sha",
            "source",
            "name",
            "environment",
            "ci_job_url",
            "started_at",
            "finished_at",
            "digest",
            "created_at",
            "created_by",
            "token",
            "counts",
        ]

    def get_token(self, run: TestRun) -> str | None:
        return run.token.name if run.token else None

    def get_counts(self, run: TestRun) -> dict[str, int]:
        names = ["result", "passed", "failed", "error", "skipped", "passed_with_exception", "failed_accepted"]
        labels = ["results", "passed", "failed", "errors", "skipped", "passed_with_exception", "failed_accepted"]
        return {label: getattr(run, f"{name}_count", 0) for name, label in zip(names, labels, strict=True)}


class TestResultOutputSerializer(serializers.ModelSerializer):
    version = serializers.CharField(source="run.version")
    commit_sha = serializers.CharField(source="run.commit_sha")
    source = serializers.CharField(source="run.source")  # type: ignore[assignment]
    test_case = serializers.SerializerMethodField()

    class Meta:
        model = TestResult
        fields = [
            "id",
            "run",
            "version",
            "commit_sha",
            "source",
            "test_case",
            "test_identifier",
            "status",
            "duration",
            "message",
            "output",
            "rationale",
            "executed_by",
            "executed_at",
            "requirement_keys",
        ]

    def get_test_case(self, result: TestResult) -> str | None:
        return result.test_case.key if result.test_case else None


class CommitLinkOutputSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.key")

    class Meta:
        model = CommitLink
        fields = ["item", "kind"]


class CommitOutputSerializer(serializers.ModelSerializer):
    links = CommitLinkOutputSerializer(source="item_links", many=True, read_only=True)
    created_by = UsernameField()

    class Meta:
        model = Commit
        fields = [
            "sha",
            "repository",
            "author_name",
            "author_email",
            "authored_at",
            "message",
            "parents",
            "links",
            "created_at",
            "created_by",
        ]


class WebhookSecretOutputSerializer(serializers.Serializer):
    product = serializers.CharField()
    secret = serializers.CharField()
    github_url = serializers.CharField()
    gitlab_url = serializers.CharField()


def summary_data(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as the API returns it (the serializer above documents its shape)."""
    return summary


class ArtifactRegisterInputSerializer(serializers.Serializer):
    """What CI built: ``version`` and/or ``commit`` bind it to a release like test runs."""

    name = serializers.CharField(max_length=255)
    kind = serializers.CharField(required=False, default="file", help_text="oci, file or docs")
    uri = serializers.CharField(max_length=1000, help_text="https://…, file://… or registry/repo@sha256:…")
    digest = serializers.CharField(max_length=71, help_text="sha256:<64 lower-case hex digits>")
    size = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    version = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    commit = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    ci_job_url = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    ci_run = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class ArtifactOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    uri = serializers.CharField()
    digest = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    version = serializers.CharField()
    commit_sha = serializers.CharField()
    ci_job_url = serializers.CharField()
    ci_run = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = UsernameField()


class ArtifactRegisteredOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    uri = serializers.CharField()
    digest = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    version = serializers.CharField()
    commit_sha = serializers.CharField()
    ci_job_url = serializers.CharField()
    ci_run = serializers.CharField()
    created = serializers.BooleanField()
    releases = serializers.ListField(child=serializers.CharField(), help_text="The draft releases it counts for")
