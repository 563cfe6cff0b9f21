from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from qms.errors import NotFound
from qms.services import token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` (or ``Bearer <key>``) with a scoped API token."""

    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <key>'")
        try:
            key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("API token contains invalid characters") from exc
        try:
            token = token_authenticate(key)
        except NotFound as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Token <key>`` in the schema's ``securitySchemes``."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "An API token: `Authorization: Token <key>` (or `Bearer <key>`). Create one with "
                "`manage.py token_create` or `POST /api/v1/tokens/`; it writes only in its scopes."
            ),
        }
