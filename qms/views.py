from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from qms.roles import user_roles


class RoleRequiredMixin(LoginRequiredMixin):
    """Pages are for signed-in users with a role (quality manager, developer, auditor)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not (user.is_superuser or user_roles(user)):
            raise PermissionDenied("Your account has no role.")
        return super().dispatch(request, *args, **kwargs)
