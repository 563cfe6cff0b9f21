from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from qms.admin import AuditedAdmin, RoleInline
from qms.roles import Scope
from standards.models import Clause, ClauseMapping, Standard


class ClauseInline(RoleInline):
    model = Clause
    fields = ["number", "title", "classes_display", "is_active"]
    readonly_fields = ["number", "title", "classes_display", "is_active"]
    extra = 0
    show_change_link = True
    ordering = ["position"]

    @admin.display(description="Classes")
    def classes_display(self, clause: Clause) -> str:
        return ", ".join(clause.classes) or "none"


@admin.register(Standard)
class StandardAdmin(AuditedAdmin):
    """Editions are edited, never deleted (products and clause evidence refer to them)."""

    write_scope = Scope.CATALOGUE
    audit_scope = "catalogue"
    list_display = ["code", "edition", "title", "kind", "uses_safety_classes", "slug"]
    search_fields = ["code", "title", "slug"]
    list_filter = ["kind", "uses_safety_classes"]
    inlines = [ClauseInline]


CLAUSE_INDENT_LEVELS = 8  # deeper clauses are indented as much as level 8 (standards/admin.css)


@admin.register(Clause)
class ClauseAdmin(AuditedAdmin):
    """Clauses are edited or retired (``is_active``), never deleted: clause evidence refers to them."""

    write_scope = Scope.CATALOGUE
    audit_scope = "catalogue"
    list_display = ["indented", "standard", "class_a", "class_b", "class_c", "is_active"]
    list_filter = [
        "standard",
        "applies_to_class_a",
        "applies_to_class_b",
        "applies_to_class_c",
        "is_active",
        "is_heading",
    ]
    search_fields = ["number", "title", "notes"]
    ordering = ["standard__code", "position"]
    list_select_related = ["standard"]
    readonly_fields = ["standard", "number", "parent", "position", "depth", "is_heading"]
    list_per_page = 200

    class Media:
        css = {"all": ["standards/admin.css"]}  # the indentation classes (no inline style under the CSP)

    @admin.display(description="Clause", ordering="position")
    def indented(self, clause: Clause) -> str:
        depth = min(clause.depth, CLAUSE_INDENT_LEVELS)
        return format_html('<span class="clause-depth-{}">{} {}</span>', depth, clause.number, clause.title)

    @admin.display(boolean=True, description="A")
    def class_a(self, clause: Clause) -> bool:
        return clause.applies_to_class_a

    @admin.display(boolean=True, description="B")
    def class_b(self, clause: Clause) -> bool:
        return clause.applies_to_class_b

    @admin.display(boolean=True, description="C")
    def class_c(self, clause: Clause) -> bool:
        return clause.applies_to_class_c

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # clauses come from the catalogue files (load_standards)


@admin.register(ClauseMapping)
class ClauseMappingAdmin(AuditedAdmin):
    """Cross-standard mappings are catalogue data: added, changed and removed (audited) with ``catalogue``."""

    write_scope = Scope.CATALOGUE
    delete_scope = Scope.CATALOGUE
    audit_scope = "catalogue"
    list_display = ["source", "kind", "target", "is_from_catalogue"]
    list_filter = ["kind", "is_from_catalogue", "source__standard", "target__standard"]
    search_fields = ["source__number", "target__number", "notes"]
    autocomplete_fields = ["source", "target"]
    list_select_related = ["source__standard", "target__standard"]
    readonly_fields = ["is_from_catalogue"]
