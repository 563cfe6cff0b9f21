import django_filters
from django.db.models import QuerySet

from traceability.models import Artifact, ArtifactKind, Commit, ResultStatus, TestResult, TestRun, TestRunSource


class TestRunFilter(django_filters.FilterSet):
    version = django_filters.CharFilter()
    commit = django_filters.CharFilter(field_name="commit_sha", lookup_expr="startswith", label="Commit SHA or prefix")
    source = django_filters.MultipleChoiceFilter(choices=TestRunSource.choices)
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = TestRun
        fields = ["version", "source"]


class TestResultFilter(django_filters.FilterSet):
    run = django_filters.NumberFilter(field_name="run_id")
    version = django_filters.CharFilter(field_name="run__version")
    commit = django_filters.CharFilter(field_name="run__commit_sha", lookup_expr="startswith")
    status = django_filters.MultipleChoiceFilter(choices=ResultStatus.choices)
    test_case = django_filters.CharFilter(field_name="test_case__key")
    test_id = django_filters.CharFilter(field_name="test_identifier")
    requirement = django_filters.CharFilter(method="filter_requirement", label="Key of a requirement the test verifies")

    class Meta:
        model = TestResult
        fields = ["status"]

    def filter_requirement(self, queryset: QuerySet[TestResult], name: str, value: str) -> QuerySet[TestResult]:
        return queryset.filter(test_case__links_out__target__key=value).distinct()


class CommitFilter(django_filters.FilterSet):
    repository = django_filters.CharFilter()
    sha = django_filters.CharFilter(lookup_expr="startswith", label="SHA or prefix")
    item = django_filters.CharFilter(method="filter_item", label="Key of an item the commit names")
    author = django_filters.CharFilter(method="filter_author", label="Author name or e-mail")
    since = django_filters.IsoDateTimeFilter(field_name="authored_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="authored_at", lookup_expr="lte")

    class Meta:
        model = Commit
        fields = ["repository"]

    def filter_item(self, queryset: QuerySet[Commit], name: str, value: str) -> QuerySet[Commit]:
        return queryset.filter(item_links__item__key=value).distinct()

    def filter_author(self, queryset: QuerySet[Commit], name: str, value: str) -> QuerySet[Commit]:
        return queryset.filter(author_name=value) | queryset.filter(author_email=value)


class ArtifactFilter(django_filters.FilterSet):
    version = django_filters.CharFilter()
    commit = django_filters.CharFilter(field_name="commit_sha", lookup_expr="startswith", label="Commit SHA or prefix")
    digest = django_filters.CharFilter()
    name = django_filters.CharFilter()
    kind = django_filters.MultipleChoiceFilter(choices=ArtifactKind.choices)

    class Meta:
        model = Artifact
        fields = ["version", "digest", "name"]
