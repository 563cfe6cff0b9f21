"""Form fields shared by the admin."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

from qms.errors import InvalidInput
from qms.inputs import data_check


class JSONField(forms.JSONField):
    """Django's JSON form field, refusing on the form what the database cannot store: a NUL
    character or a lone surrogate written as ``\\u0000`` / ``\\ud800`` inside the JSON, or JSON
    nested too deeply (``qms.inputs``). The admin uses it for every model ``JSONField``."""

    def to_python(self, value: Any) -> Any:
        try:
            converted = super().to_python(value)
        except RecursionError as exc:
            raise ValidationError("nested too deeply to be read", code="invalid") from exc
        try:
            data_check(converted, source="the value")
        except InvalidInput as exc:
            raise ValidationError(exc.message, code="invalid") from exc
        return converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        """The value a form with errors shows again: refused JSON as it was typed (its decoded
        value could not even be written into the page)."""
        try:
            value = super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)
        if isinstance(value, InvalidJSONInput) or self.disabled:
            return value
        try:
            data_check(value, source="the value")
        except InvalidInput:
            return InvalidJSONInput(data)
        return value
