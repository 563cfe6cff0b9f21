"""Template filters of the trace pages."""

from django import template

from traceability.kinds import ItemKind
from traceability.reports.identity import utc_text

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    """``software_item`` → "Software item"; an unknown value is shown as it is."""
    try:
        return str(ItemKind(kind).label)
    except ValueError:
        return kind


register.filter("utc", utc_text)  # an ISO 8601 UTC moment as a baseline stores it → 2026-03-03 12:00:00 UTC
