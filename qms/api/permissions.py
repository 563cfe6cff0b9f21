from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from qms.models import ApiToken
from qms.roles import user_roles, user_write_scopes, write_scopes


def request_token(request: Request) -> ApiToken | None:
    """The API token the request authenticated with (None: a signed-in session)."""
    return request.auth if isinstance(request.auth, ApiToken) else None


def request_write_scopes(request: Request) -> frozenset[str]:
    """What this request may write: the user's role scopes, narrowed by the API token's scopes."""
    token = request_token(request)
    return write_scopes(request.user, token.scopes if token is not None else None)


class RolePermission(permissions.BasePermission):
    """Everyone with a role reads; writes need the view's ``write_scope``.

    A view names the scope it writes in with ``write_scope`` (or ``get_write_scope(request)``).
    Views without one are read-only.
    """

    message = "You do not have a role that allows this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or not user.is_active:
            return False
        if not (getattr(user, "is_superuser", False) or user_roles(user)):
            self.message = "Your account has no role (quality manager, developer or auditor)."
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        scope = (
            view.get_write_scope(request) if hasattr(view, "get_write_scope") else getattr(view, "write_scope", None)
        )
        if scope is None:
            self.message = "This endpoint is read-only."
            return False
        if scope not in request_write_scopes(request):
            if isinstance(request.auth, ApiToken) and scope in user_write_scopes(user):
                self.message = f"This API token lacks the scope '{scope}'."
            else:
                self.message = f"Your role may not write {scope}."
            return False
        return True
