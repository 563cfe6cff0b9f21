"""The API's body parsers: DRF's, refusing what the database cannot store before any view sees it.

A NUL character or a lone surrogate anywhere in a JSON body (a value, a key, JSON inside a field
such as an item's ``attributes``) or in a form field (its name or value) is answered 400
``text_invalid`` naming the field (``results[3].test_id: contains a NUL character …``); JSON
nested deeper than ``qms.inputs.JSON_MAX_DEPTH`` is 400 ``json_invalid``. Set as the default
parsers in ``REST_FRAMEWORK`` and used by the views that name their parsers.
"""

from typing import Any

from rest_framework import parsers

from qms.inputs import data_check, json_too_deep, text_check


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise json_too_deep("request body") from exc
        data_check(data)
        return data


def _form_check(data: Any) -> None:
    """Form fields (Django drops non-printable characters from uploaded files' names itself)."""
    for name, values in data.lists():
        text_check(name, field=name, where="a form field name")
        for value in values:
            text_check(value, field=name)


class FormParser(parsers.FormParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _form_check(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parsed = super().parse(stream, media_type, parser_context)
        _form_check(parsed.data)
        return parsed
