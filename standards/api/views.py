"""Read-only REST API of the standards catalogue (it is maintained with load_standards and the admin)."""

from functools import cached_property

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics

from qms.errors import InvalidInput, NotFound
from standards.api.serializers import ClauseMappingOutputSerializer, ClauseOutputSerializer, StandardOutputSerializer
from standards.models import Clause, ClauseMapping, SafetyClass, Standard
from standards.selectors import class_filter, clause_list, clauses_applicable, standard_list


class ClauseFilter(django_filters.FilterSet):
    applies_to = django_filters.ChoiceFilter(
        choices=SafetyClass.choices, method="filter_class", label="Only clauses applying to this safety class"
    )
    leaves_only = django_filters.BooleanFilter(field_name="is_heading", exclude=True)

    class Meta:
        model = Clause
        fields = ["applies_to"]

    def filter_class(self, queryset: QuerySet[Clause], name: str, value: str) -> QuerySet[Clause]:
        return queryset.filter(class_filter(value))


class StandardListView(generics.ListAPIView):
    serializer_class = StandardOutputSerializer
    ordering_fields = ["code", "edition"]
    search_fields = ["code", "title", "slug"]

    def get_queryset(self) -> QuerySet[Standard]:
        return standard_list()


class StandardDetailView(generics.RetrieveAPIView):
    serializer_class = StandardOutputSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Standard]:
        return standard_list()

    def get_object(self) -> Standard:
        standard = self.get_queryset().filter(slug=self.kwargs["slug"]).first()
        if standard is None:
            raise NotFound(f"no standard {self.kwargs['slug']!r}")
        return standard


class ClauseListView(generics.ListAPIView):
    """The clause tree of one standard, in document order."""

    serializer_class = ClauseOutputSerializer
    filterset_class = ClauseFilter
    ordering_fields = ["position", "title"]
    search_fields = ["number", "title"]

    @cached_property
    def standard(self) -> Standard:
        standard = Standard.objects.filter(slug=self.kwargs["slug"]).first()
        if standard is None:
            raise NotFound(f"no standard {self.kwargs['slug']!r}")
        return standard

    def get_queryset(self) -> QuerySet[Clause]:
        if getattr(self, "swagger_fake_view", False):
            return Clause.objects.none()
        return clause_list(standard=self.standard)


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("class", str, enum=SafetyClass.values, description="Software safety class (default C)"),
            OpenApiParameter("standard", str, many=True, description="Standard slug (repeatable; default all)"),
        ]
    )
)
class ApplicableClauseListView(generics.ListAPIView):
    """Which clauses of which standards apply to a software safety class (``?class=B``; default C)."""

    serializer_class = ClauseOutputSerializer
    search_fields = ["number", "title"]  # grouped by standard in document order; no ordering

    def get_queryset(self) -> QuerySet[Clause]:
        safety_class = self.request.query_params.get("class", "") or None
        if safety_class and safety_class not in SafetyClass.values:
            raise InvalidInput(f"class must be A, B or C, got {safety_class!r}", field="class")
        slugs = self.request.query_params.getlist("standard")
        standards = Standard.objects.filter(slug__in=slugs) if slugs else None
        return clauses_applicable(safety_class=safety_class, standards=standards).select_related("parent")


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("standard", str, description="Mappings from or to this standard (slug)")]
    )
)
class ClauseMappingListView(generics.ListAPIView):
    serializer_class = ClauseMappingOutputSerializer
    ordering_fields = ["kind", "id"]
    search_fields = ["source__number", "source__title", "target__number", "target__title", "notes"]

    def get_queryset(self) -> QuerySet[ClauseMapping]:
        mappings = ClauseMapping.objects.select_related("source__standard", "target__standard").order_by(
            "source__standard__slug", "source__position", "target__standard__slug", "target__position"
        )
        standard = self.request.query_params.get("standard")
        if standard:
            mappings = mappings.filter(source__standard__slug=standard) | mappings.filter(
                target__standard__slug=standard
            )
        return mappings
