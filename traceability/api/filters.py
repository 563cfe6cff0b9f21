import django_filters
from django.db.models import Q, QuerySet

from traceability.kinds import ItemKind, ItemStatus, LinkType
from traceability.models import ClauseLink, Item, Link


class ItemFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ItemKind.choices)
    status = django_filters.MultipleChoiceFilter(choices=ItemStatus.choices)
    q = django_filters.CharFilter(method="filter_q", label="Text in key, title or text")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Item
        fields = ["kind", "status"]

    def filter_q(self, queryset: QuerySet[Item], name: str, value: str) -> QuerySet[Item]:
        return queryset.filter(Q(key__icontains=value) | Q(title__icontains=value) | Q(text__icontains=value))


class LinkFilter(django_filters.FilterSet):
    link_type = django_filters.MultipleChoiceFilter(choices=LinkType.choices)
    source = django_filters.CharFilter(field_name="source__key")
    target = django_filters.CharFilter(field_name="target__key")
    item = django_filters.CharFilter(method="filter_item", label="Key of the item at either end")
    suspect = django_filters.BooleanFilter(field_name="is_suspect")

    class Meta:
        model = Link
        fields = ["link_type"]

    def filter_item(self, queryset: QuerySet[Link], name: str, value: str) -> QuerySet[Link]:
        return queryset.filter(Q(source__key=value) | Q(target__key=value))


class ClauseLinkFilter(django_filters.FilterSet):
    item = django_filters.CharFilter(field_name="item__key")
    standard = django_filters.CharFilter(field_name="clause__standard__slug")
    clause = django_filters.CharFilter(method="filter_clause", label="standard-slug:number")

    class Meta:
        model = ClauseLink
        fields = ["item"]

    def filter_clause(self, queryset: QuerySet[ClauseLink], name: str, value: str) -> QuerySet[ClauseLink]:
        slug, _, number = value.partition(":")
        return queryset.filter(clause__standard__slug=slug, clause__number=number)
