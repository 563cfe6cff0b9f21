from rest_framework import serializers

from standards.models import Clause, ClauseMapping, Standard


class StandardOutputSerializer(serializers.ModelSerializer):
    clause_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Standard
        fields = [
            "slug",
            "code",
            "edition",
            "title",
            "kind",
            "uses_safety_classes",
            "notes",
            "clause_count",
            "updated_at",
        ]


class ClauseOutputSerializer(serializers.ModelSerializer):
    standard = serializers.CharField(source="standard.slug")
    ref = serializers.SerializerMethodField()
    parent = serializers.SerializerMethodField()  # type: ignore[assignment]
    classes = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Clause
        fields = [
            "ref",
            "standard",
            "number",
            "title",
            "parent",
            "depth",
            "is_heading",
            "is_active",
            "classes",
            "notes",
        ]

    def get_ref(self, clause: Clause) -> str:
        return f"{clause.standard.slug}:{clause.number}"

    def get_parent(self, clause: Clause) -> str | None:
        return clause.parent.number if clause.parent_id and clause.parent else None


class ClauseMappingOutputSerializer(serializers.ModelSerializer):
    source = serializers.SerializerMethodField()  # type: ignore[assignment]
    target = serializers.SerializerMethodField()
    source_title = serializers.CharField(source="source.title")
    target_title = serializers.CharField(source="target.title")

    class Meta:
        model = ClauseMapping
        fields = ["id", "source", "source_title", "kind", "target", "target_title", "notes", "is_from_catalogue"]

    def get_source(self, mapping: ClauseMapping) -> str:
        return f"{mapping.source.standard.slug}:{mapping.source.number}"

    def get_target(self, mapping: ClauseMapping) -> str:
        return f"{mapping.target.standard.slug}:{mapping.target.number}"
