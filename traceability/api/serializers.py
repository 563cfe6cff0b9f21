from typing import Any

from rest_framework import serializers

from standards.models import SafetyClass
from traceability.kinds import ItemKind, ItemStatus, LinkType
from traceability.models import ClauseLink, Item, Link, Product


class UsernameField(serializers.CharField):
    """Renders a user foreign key as the user name (null for the system)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        return value.get_username() if value is not None else None


class ProductOutputSerializer(serializers.ModelSerializer):
    standards = serializers.SerializerMethodField()
    effective_safety_class = serializers.CharField(read_only=True)
    created_by = UsernameField()
    updated_by = UsernameField()

    class Meta:
        model = Product
        fields = [
            "key",
            "name",
            "intended_use",
            "safety_class",
            "effective_safety_class",
            "standards",
            "risk_matrix",
            "key_pattern",
            "gap_rules",
            "created_at",
            "created_by",
            "updated_at",
            "updated_by",
        ]

    def get_standards(self, product: Product) -> list[str]:
        return sorted(standard.slug for standard in product.standards.all())


class ProductCreateInputSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=255)
    intended_use = serializers.CharField(required=False, allow_blank=True, default="")
    safety_class = serializers.ChoiceField(
        choices=[("", "unassigned"), *SafetyClass.choices], required=False, default=""
    )
    standards = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    risk_matrix = serializers.JSONField(required=False)
    key_pattern = serializers.CharField(required=False, max_length=200)
    gap_rules = serializers.DictField(child=serializers.CharField(), required=False)


class ProductUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    intended_use = serializers.CharField(required=False, allow_blank=True)
    safety_class = serializers.ChoiceField(choices=[("", "unassigned"), *SafetyClass.choices], required=False)
    standards = serializers.ListField(child=serializers.CharField(), required=False)
    risk_matrix = serializers.JSONField(required=False)
    key_pattern = serializers.CharField(required=False, max_length=200)
    gap_rules = serializers.DictField(child=serializers.CharField(), required=False)


class ItemOutputSerializer(serializers.ModelSerializer):
    created_by = UsernameField()
    updated_by = UsernameField()

    class Meta:
        model = Item
        fields = [
            "key",
            "kind",
            "title",
            "text",
            "status",
            "attributes",
            "revision",
            "fingerprint",
            "created_at",
            "created_by",
            "updated_at",
            "updated_by",
        ]


class LinkOutputSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.key")  # type: ignore[assignment]
    target = serializers.CharField(source="target.key")
    is_suspect = serializers.BooleanField(read_only=True)
    created_by = UsernameField()
    reviewed_by = UsernameField()

    class Meta:
        model = Link
        fields = [
            "id",
            "source",
            "link_type",
            "target",
            "source_kind",
            "target_kind",
            "is_suspect",
            "target_revision",
            "created_at",
            "created_by",
            "reviewed_at",
            "reviewed_by",
        ]


class ItemLinkOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    link_type = serializers.CharField()
    key = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    is_suspect = serializers.BooleanField()


class ItemDetailOutputSerializer(ItemOutputSerializer):
    links_out = serializers.SerializerMethodField()
    links_in = serializers.SerializerMethodField()

    class Meta(ItemOutputSerializer.Meta):
        fields = [*ItemOutputSerializer.Meta.fields, "links_out", "links_in"]

    def _links(self, links: list[Link], other: str) -> list[dict[str, Any]]:
        rows = []
        for link in links:
            item = getattr(link, other)
            rows.append(
                {
                    "id": link.pk,
                    "link_type": link.link_type,
                    "key": item.key,
                    "kind": item.kind,
                    "title": item.title,
                    "is_suspect": getattr(link, "is_suspect"),  # noqa: B009 - annotated by the selector
                }
            )
        return ItemLinkOutputSerializer(rows, many=True).data  # type: ignore[return-value]

    def get_links_out(self, item: Item) -> list[dict[str, Any]]:
        return self._links(self.context["links_out"], "target")

    def get_links_in(self, item: Item) -> list[dict[str, Any]]:
        return self._links(self.context["links_in"], "source")


class ItemCreateInputSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=ItemKind.choices)
    title = serializers.CharField(max_length=500)
    text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    status = serializers.ChoiceField(choices=ItemStatus.choices, required=False, default=ItemStatus.DRAFT)
    attributes = serializers.DictField(required=False, default=dict)


class ItemUpdateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500, required=False)
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    status = serializers.ChoiceField(choices=ItemStatus.choices, required=False)
    attributes = serializers.DictField(required=False)
    expected_revision = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            name = sorted(unknown)[0]
            reason = "never changes" if name in {"key", "kind"} else "is not a field of an item"
            raise serializers.ValidationError({name: f"'{name}' {reason}"})
        return attrs


class LinkCreateInputSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=64)  # type: ignore[assignment]
    link_type = serializers.ChoiceField(choices=LinkType.choices)
    target = serializers.CharField(max_length=64)


class LinkReviewInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ClauseLinkOutputSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.key")
    clause = serializers.SerializerMethodField()
    clause_title = serializers.CharField(source="clause.title")
    created_by = UsernameField()

    class Meta:
        model = ClauseLink
        fields = ["id", "item", "clause", "clause_title", "note", "created_at", "created_by"]

    def get_clause(self, link: ClauseLink) -> str:
        return f"{link.clause.standard.slug}:{link.clause.number}"


class ClauseLinkCreateInputSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=64)
    clause = serializers.CharField(max_length=128, help_text="standard-slug:number, e.g. iec-62304-2015:5.2.1")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class HistoryEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_username")
    action = serializers.CharField()
    object_type = serializers.CharField(help_text="traceability.item or traceability.link")
    object_id = serializers.CharField()
    object = serializers.CharField(source="object_repr", help_text="e.g. BOLUS/SRS-012 or BOLUS/TC-1 verifies SRS-012")
    before = serializers.JSONField()
    after = serializers.JSONField()
    note = serializers.CharField()


class LinkStateOutputSerializer(serializers.Serializer):
    """A link as it was at a moment: its state and the event that made it so."""

    id = serializers.IntegerField()
    state = serializers.JSONField()
    changed_at = serializers.DateTimeField()
    changed_by = serializers.CharField()
    action = serializers.CharField()


class ItemAtOutputSerializer(serializers.Serializer):
    """``history/?at=``: what the item said at that moment, who made it so, and (``include=links``) its links."""

    key = serializers.CharField()
    at = serializers.DateTimeField()
    exists = serializers.BooleanField()
    state = serializers.JSONField(allow_null=True)
    changed_at = serializers.DateTimeField(allow_null=True)
    changed_by = serializers.CharField(allow_null=True)
    action = serializers.CharField(allow_null=True)
    links = LinkStateOutputSerializer(many=True, required=False, help_text="Only with include=links")


class LinkAtOutputSerializer(serializers.Serializer):
    """``links/{id}/history/?at=``: what the link was at that moment, and who made it so."""

    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    exists = serializers.BooleanField()
    state = serializers.JSONField(allow_null=True)
    changed_at = serializers.DateTimeField(allow_null=True)
    changed_by = serializers.CharField(allow_null=True)
    action = serializers.CharField(allow_null=True)
