"""Domain errors raised by services and selectors.

Each carries an HTTP status so the API, the pages and the command line report the same problem
the same way: the API returns ``{"error": code, "detail": message, ...context}``, management
commands print the message and exit non-zero.
"""

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.context = context

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.message, **self.context}


class InvalidInput(DomainError):
    """Input breaks a rule (HTTP 400)."""


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state, e.g. a frozen baseline (HTTP 409)."""

    status_code = 409
    code = "conflict"


class Unavailable(DomainError):
    """Something the request needs is not configured or not reachable, e.g. a signing key (HTTP 503)."""

    status_code = 503
    code = "unavailable"
