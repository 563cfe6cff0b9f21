"""One error shape for the whole API: ``{"error": code, "detail": message, ...}``."""

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import HttpResponseBase
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from qms.errors import DomainError
from qms.views import DATABASE_ERRORS, database_unavailable

logger = logging.getLogger("qms.api")


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
        return "invalid input"
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "invalid input"
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponseBase | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            {"error": "invalid", "detail": _first_message(detail), "fields": detail},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DATABASE_ERRORS):
        logger.error("database unavailable: %s", exc, exc_info=exc)
        return database_unavailable(api=True)
    if isinstance(exc, IntegrityError):
        # A constraint refused the write: almost always a concurrent request that got there first
        # (the services check the same rules before writing). The transaction was rolled back.
        return Response(
            {
                "error": "conflict",
                "detail": "the change clashes with the current state (probably a concurrent change); "
                "nothing was written; reload and try again",
            },
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": "invalid", "detail": _first_message(exc.detail), "fields": exc.detail}
    elif isinstance(exc, exceptions.APIException):
        response.data = {"error": exc.default_code, "detail": _first_message(exc.detail)}
    return response
