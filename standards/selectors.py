"""Reads of the standards catalogue."""

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from standards.models import Clause, SafetyClass, Standard


def effective_safety_class(safety_class: str | None) -> str:
    """IEC 62304 4.3: until a class is assigned, class C requirements apply."""
    return safety_class or SafetyClass.C


def class_filter(safety_class: str | None) -> Q:
    return Q(**{f"applies_to_class_{effective_safety_class(safety_class).lower()}": True})


def clauses_applicable(
    *, safety_class: str | None, standards: Iterable[Standard] | None = None, leaves_only: bool = False
) -> QuerySet[Clause]:
    """Which clauses of which standards apply to a product of this class (unassigned → C)."""
    clauses = Clause.objects.filter(class_filter(safety_class), is_active=True)
    if standards is not None:
        clauses = clauses.filter(standard__in=list(standards))
    if leaves_only:
        clauses = clauses.filter(is_heading=False)
    return clauses.select_related("standard").order_by("standard__code", "standard__edition", "position")


def standard_list() -> QuerySet[Standard]:
    return Standard.objects.annotate(clause_count=Count("clauses", filter=Q(clauses__is_active=True))).order_by(
        "code", "edition"
    )


def clause_list(*, standard: Standard, include_retired: bool = False) -> QuerySet[Clause]:
    clauses = Clause.objects.filter(standard=standard).select_related("parent", "standard")
    if not include_retired:
        clauses = clauses.filter(is_active=True)
    return clauses.order_by("position")


def clause_get_by_ref(ref: str) -> Clause | None:
    """Resolve ``standard-slug:number`` to a clause."""
    slug, _, number = ref.partition(":")
    return Clause.objects.select_related("standard").filter(standard__slug=slug.strip(), number=number.strip()).first()
