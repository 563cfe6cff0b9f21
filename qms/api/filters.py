"""The API's search and ordering backends: they advertise only what a view supports.

DRF's own backends document ``search`` and ``ordering`` on every list view and silently ignore
them where the view has no ``search_fields`` / ``ordering_fields``. Here:

- ``search`` exists only on views with ``search_fields``;
- ``ordering`` exists only on views with a non-empty ``ordering_fields`` (never guessed from the
  serializer); an unknown field is refused with 400 naming the fields that are allowed, and so is
  ``ordering`` on a list with a fixed order.
"""

from typing import Any

from django.db.models import QuerySet
from rest_framework import filters
from rest_framework.request import Request

from qms.errors import InvalidInput


def _ordering_fields(view: Any) -> list[str]:
    return [field if isinstance(field, str) else field[0] for field in getattr(view, "ordering_fields", None) or []]


class OrderingFilter(filters.OrderingFilter):
    def get_valid_fields(self, queryset: QuerySet[Any], view: Any, context: Any = None) -> list[tuple[str, str]]:
        return [(field, field) for field in _ordering_fields(view)]

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        allowed = _ordering_fields(view)
        params = request.query_params.get(self.ordering_param)
        if not params:
            return self.get_default_ordering(view)
        if not allowed:
            raise InvalidInput("this list has a fixed order and takes no 'ordering'", field=self.ordering_param)
        terms = [term.strip() for term in params.split(",") if term.strip()]
        unknown = [term for term in terms if term.removeprefix("-") not in allowed]
        if unknown:
            raise InvalidInput(
                f"cannot order by {unknown[0]!r}; ordering fields are {', '.join(allowed)} (prefix '-' to reverse)",
                field=self.ordering_param,
            )
        return terms or self.get_default_ordering(view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        allowed = _ordering_fields(view)
        if not allowed:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": f"Order by {', '.join(allowed)} (comma-separated; prefix '-' to reverse).",
                "schema": {"type": "string"},
            }
        ]


class SearchFilter(filters.SearchFilter):
    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = getattr(view, "search_fields", None)
        if not fields:
            return []
        names = ", ".join(field.lstrip("^=@$").replace("__", ".") for field in fields)
        return [
            {
                "name": self.search_param,
                "required": False,
                "in": "query",
                "description": f"Case-insensitive text in any of: {names}.",
                "schema": {"type": "string"},
            }
        ]
