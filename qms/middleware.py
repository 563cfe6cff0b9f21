"""Request checks made once, before sessions, views or the database see the request.

``RequestCheckMiddleware`` refuses with 400:

- a body over ``REQUEST_MAX_BYTES`` (env ``REQUEST_MAX_MB``), judged by ``Content-Length`` before
  anything is read. Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count uploaded files, so
  without this one multipart request could fill the disk; Django reads no body beyond
  ``Content-Length``, so the header is the whole of it;
- a NUL character (or a lone surrogate) in the URL path, a query parameter, a header, or a field
  of a page's form (the API's bodies are checked by its parsers, ``qms.api.parsers``).

The API (``/api/``) is answered ``{"error": code, "detail": message, "field": …}``; pages get a
plain-text 400 naming the problem.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from qms.errors import DomainError, InvalidInput
from qms.inputs import text_check

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def error_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    """The API's error shape on ``/api/``, a plain-text page elsewhere."""
    if is_api(request):
        return JsonResponse(error.as_dict(), status=error.status_code)
    return HttpResponse(f"{error.message}\n", status=error.status_code, content_type="text/plain; charset=utf-8")


def body_size_check(request: HttpRequest) -> None:
    length = str(request.META.get("CONTENT_LENGTH") or "")
    limit = settings.REQUEST_MAX_BYTES
    if length.isdigit() and int(length) > limit:
        raise InvalidInput(
            f"the request body is {int(length)} bytes, over the limit of {limit} bytes for one request "
            "(REQUEST_MAX_MB); nothing was read",
            code="too_large",
            limit=limit,
        )


def text_fields_check(request: HttpRequest) -> None:
    text_check(request.path_info, field="path", where="the URL path")
    for name, values in request.GET.lists():
        text_check(name, field=name, where="a query parameter name")
        for value in values:
            text_check(value, field=name, where=f"query parameter '{name}'")
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            header = key[5:].replace("_", "-").title()
            text_check(value, field=header, where=f"header {header}")
    if request.method == "POST" and not is_api(request) and request.content_type in FORM_TYPES:
        for name, values in request.POST.lists():
            text_check(name, field=name, where="a form field name")
            for value in values:
                text_check(value, field=name, where=f"form field '{name}'")


class RequestCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            body_size_check(request)
            text_fields_check(request)
        except InvalidInput as error:
            return error_response(request, error)
        return self.get_response(request)
