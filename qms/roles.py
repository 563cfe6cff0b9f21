"""Roles are Django groups; scopes name what a role or an API token may write.

Everyone who can sign in may read everything. Writes are split into scopes:

=================  ======================================================
scope              covers
=================  ======================================================
``catalogue``      standards, clauses, cross-standard mappings
``products``       products, their settings, releases and baselines, environments
``items``          items, links, clause links, suspect-link reviews
``evidence``       test runs and results, commits, artifacts (what CI posts)
``deployments``    deployments and their statuses (what CD engines and scripts report)
``approvals``      signatures, release and integration approvals, deviations
=================  ======================================================
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.db import models


class Role(models.TextChoices):
    QUALITY_MANAGER = "quality_manager", "Quality manager"
    DEVELOPER = "developer", "Developer"
    AUDITOR = "auditor", "Auditor"


class Scope(models.TextChoices):
    CATALOGUE = "catalogue", "Standards catalogue"
    PRODUCTS = "products", "Products and releases"
    ITEMS = "items", "Items and links"
    EVIDENCE = "evidence", "Test and commit evidence"
    DEPLOYMENTS = "deployments", "Deployments"
    APPROVALS = "approvals", "Signatures and approvals"


ALL_SCOPES = frozenset(Scope.values)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.QUALITY_MANAGER: ALL_SCOPES,
    Role.DEVELOPER: frozenset({Scope.ITEMS, Scope.EVIDENCE, Scope.DEPLOYMENTS}),
    Role.AUDITOR: frozenset(),
}


def role_names(user: User) -> list[str]:
    """The user's roles as stored now (one query, no cache), sorted: for writes and their audit."""
    return sorted(user.groups.filter(name__in=Role.values).values_list("name", flat=True))


def role_groups(roles: list[str]) -> list[Group]:
    """The groups of these roles, created if a database lacks one."""
    return [Group.objects.get_or_create(name=role)[0] for role in roles]


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_qms_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        setattr(user, "_qms_roles", cached)  # noqa: B010 - per-request cache on the user object
    return {role for role in cached if role in ROLE_SCOPES}


def user_write_scopes(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """Scopes the user may write in, from their roles (a superuser may write everywhere)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if getattr(user, "is_superuser", False):
        return ALL_SCOPES
    scopes: set[str] = set()
    for role in user_roles(user):
        scopes |= ROLE_SCOPES[role]
    return frozenset(scopes)


def write_scopes(user: AbstractBaseUser | AnonymousUser, token_scopes: Iterable[str] | None = None) -> frozenset[str]:
    """What the user may write, narrowed by the API token's scopes when acting through one."""
    scopes = user_write_scopes(user)
    return scopes if token_scopes is None else scopes & frozenset(token_scopes)


def scope_refusal(user: AbstractBaseUser, scope: str, token_scopes: Iterable[str] | None = None) -> str | None:
    """Why the user (acting through an API token with ``token_scopes``) may not write ``scope``, or None."""
    if scope in write_scopes(user, token_scopes):
        return None
    if token_scopes is not None and scope in user_write_scopes(user):
        return f"this API token lacks the scope '{scope}'"
    return f"{user.get_username()}'s role may not write {scope}"


def manages_accounts(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Quality managers (and superusers) manage user accounts and other people's API tokens."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(getattr(user, "is_superuser", False)) or Role.QUALITY_MANAGER in user_roles(user)


def acting_user(user: object) -> User:
    """The signed-in user who acts in a request (views and the admin only run for signed-in users)."""
    if not isinstance(user, User):
        raise PermissionError("an anonymous user cannot act")
    return user
