"""Template filters of the trace pages."""

from django import template

from traceability.kinds import ItemKind

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    """``software_item`` → "Software item"; an unknown value is shown as it is."""
    try:
        return str(ItemKind(kind).label)
    except ValueError:
        return kind
