"""Writes of user accounts: create, update, activate or deactivate, set the password. All audited.

Roles are set with ``qms.services.user_role_set``. Whoever calls these (the ``user_role`` command,
the admin's user pages) has already decided the actor may manage users; the services refuse what
nobody but a superuser may do (change a superuser's account, grant superuser status).
Audit events never hold a password or its hash.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from qms.errors import Conflict, Forbidden, InvalidInput
from qms.roles import Role, role_groups, role_names
from qms.services import audit_record, roles_clean, superuser_guard
from qms.services.accounts import address_clean, signer_name_check

USER_FIELDS = ("email", "first_name", "last_name", "is_staff", "is_superuser")


def user_state(user: User, roles: Iterable[str] | None = None) -> dict[str, Any]:
    if roles is None:
        roles = role_names(user)
    return {
        "username": user.get_username(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "has_password": user.has_usable_password(),
        "roles": sorted(roles),
    }


def _email_clean(email: str) -> str:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise InvalidInput(f"{email!r} is not a valid e-mail address", field="email") from exc
    return email


def _password_check(password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise InvalidInput("password: " + " ".join(exc.messages), field="password") from exc


@transaction.atomic
def user_create(
    *,
    username: str,
    roles: Iterable[str],
    actor: User | None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
    is_staff: bool = True,
) -> User:
    """Create a user with at least one role. Without a password the account cannot sign in (only
    its API tokens work) until one is set. The password must pass the configured validators."""
    username = (username or "").strip()
    if not username:
        raise InvalidInput("a user needs a user name", field="username")
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise InvalidInput(f"user name {username!r}: {' '.join(exc.messages)}", field="username") from exc
    if len(username) > 150:
        raise InvalidInput("user name: at most 150 characters", field="username")
    wanted = roles_clean(roles)
    if not wanted:
        raise InvalidInput(f"a user needs a role ({', '.join(Role.values)})", field="roles")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"a user named {username!r} already exists", field="username")
    signer_name_check(username=username, first_name=first_name, last_name=last_name, roles=wanted)
    user = User(
        username=username,
        email=_email_clean(email),
        first_name=(first_name or "").strip()[:150],
        last_name=(last_name or "").strip()[:150],
        is_staff=is_staff,
    )
    if password is None:
        user.set_unusable_password()
    else:
        _password_check(password, user)
        user.set_password(password)
    user.save()
    user.groups.add(*role_groups(wanted))
    audit_record(actor=actor, action="user.created", obj=user, object_repr=username, after=user_state(user, wanted))
    return user


@transaction.atomic
def user_update(*, user: User, actor: User | None, **changes: Any) -> User:
    """Change name, e-mail, staff (admin access) or, for superusers only, superuser status."""
    unknown = sorted(set(changes) - set(USER_FIELDS))
    if unknown:
        raise InvalidInput(f"{unknown[0]}: not a field of a user that can be changed here", field=unknown[0])
    user = User.objects.select_for_update().get(pk=user.pk)
    superuser_guard(user=user, actor=actor)
    if "is_superuser" in changes and bool(changes["is_superuser"]) != user.is_superuser:
        if actor is not None and not actor.is_superuser:
            raise Forbidden("only a superuser may grant or remove superuser status", field="is_superuser")
    if "email" in changes:
        changes["email"] = _email_clean(changes["email"])
    for name in ("first_name", "last_name"):
        if name in changes:
            changes[name] = (changes[name] or "").strip()[:150]
    changed = [name for name, value in changes.items() if getattr(user, name) != value]
    if not changed:
        return user
    if "first_name" in changed or "last_name" in changed:
        signer_name_check(
            username=user.get_username(),
            first_name=changes.get("first_name", user.first_name),
            last_name=changes.get("last_name", user.last_name),
            roles=role_names(user),
        )
    before = user_state(user)
    for name in changed:
        setattr(user, name, changes[name])
    user.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="user.updated",
        obj=user,
        object_repr=user.get_username(),
        before=before,
        after=user_state(user),
    )
    return user


def active_change_check(*, user: User, is_active: bool, actor: User | None) -> None:
    """Nobody deactivates their own account (someone must be left to manage users)."""
    if not is_active and actor is not None and actor.pk == user.pk:
        raise Forbidden("you cannot deactivate your own account")


@transaction.atomic
def user_active_set(*, user: User, is_active: bool, actor: User | None) -> User:
    """Deactivate (the user can no longer sign in; their API tokens stop working) or reactivate.

    Users are deactivated, never deleted: the audit trail and signatures keep pointing at them.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    superuser_guard(user=user, actor=actor)
    if user.is_active == is_active:
        return user
    active_change_check(user=user, is_active=is_active, actor=actor)
    before = user_state(user)
    user.is_active = is_active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="user.activated" if is_active else "user.deactivated",
        obj=user,
        object_repr=user.get_username(),
        before=before,
        after=user_state(user),
    )
    return user


@transaction.atomic
def user_password_set(*, user: User, password: str | None, actor: User | None) -> User:
    """Set a new password (checked by the validators), or with None disable password sign-in."""
    user = User.objects.select_for_update().get(pk=user.pk)
    superuser_guard(user=user, actor=actor)
    if password is None:
        user.set_unusable_password()
        action = "user.password_disabled"
    else:
        _password_check(password, user)
        user.set_password(password)
        action = "user.password_set"
    user.save(update_fields=["password"])
    audit_record(actor=actor, action=action, obj=user, object_repr=user.get_username())
    return user


def _own_password_set(*, user: User, password: str, action: str, client_address: str | None, note: str = "") -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    _password_check(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=user,
        action=action,
        obj=user,
        object_repr=user.get_username(),
        after={"client_address": address_clean(client_address)},
        note=note,
    )
    return user


@transaction.atomic
def user_password_change(*, user: User, password: str, client_address: str | None = None) -> User:
    """A user changes their own password (``user.password_changed``, the actor is the user); the
    password change page has checked the current password."""
    return _own_password_set(
        user=user, password=password, action="user.password_changed", client_address=client_address
    )


@transaction.atomic
def user_password_reset(*, user: User, password: str, client_address: str | None = None) -> User:
    """A user sets a new password through the link of a password-reset e-mail (``user.password_reset``)."""
    return _own_password_set(
        user=user,
        password=password,
        action="user.password_reset",
        client_address=client_address,
        note="through the link of a password-reset e-mail",
    )
