"""Writes of the account controls (21 CFR 11.10(d), 11.300(d)): sign-ins and sign-outs, failed
sign-ins and refused signatures (audited with the user name given and the client address, and
counted toward the lockout), and unlocking an account.

Actions: ``auth.login``, ``auth.logout``, ``auth.login_failed``, ``auth.locked_out``,
``signature.refused``, ``user.unlocked``. The lockout counter is django-axes's (``qms.lockout``
reads it). Services never see a request: views, the axes handler (``qms.auth``) and commands
pass the client address as ``client_address``.

A refused signature is raised inside the signing transaction, which rolls back; it is recorded
afterwards by ``signing_attempt``, the decorator of every service that signs.
"""

import functools
import ipaddress
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from qms import services as audit  # the package imports this module for signature_apply: no names from it here
from qms.errors import Conflict, Forbidden, InvalidInput, NotFound
from qms.lockout import LockState, cool_off, failure_limit, lock_state, when
from qms.roles import ROLE_SCOPES, Role, Scope, user_roles

SIGNING_CLIENT = "electronic signature"  # the axes attempt row of refused signatures (its "user agent")


def address_clean(client_address: str | None) -> str | None:
    """A client address as stored (an IP address), or None when there is none or it is not one."""
    try:
        return str(ipaddress.ip_address((client_address or "").strip()))
    except ValueError:
        return None


def _given_name(username: str | None) -> str:
    """A user name as typed at sign-in: kept as given (that is the point), within bounds."""
    return (username or "").replace("\x00", "")[:150]


def _user_entry(*, action: str, username: str, after: dict[str, Any], note: str = "") -> "audit.AuditEntry":
    user_id = User.objects.filter(username=username).values_list("pk", flat=True).first() if username else None
    return audit.AuditEntry(
        action=action,
        object_type="auth.user",
        object_id="" if user_id is None else str(user_id),
        object_repr=username,
        after=after,
        note=note,
    )


def _locked_out_entry(*, username: str, address: str | None, state: LockState, via: str) -> "audit.AuditEntry":
    assert state.locked_until is not None
    return _user_entry(
        action="auth.locked_out",
        username=username,
        after={
            "username": username,
            "client_address": address,
            "failures": state.failures,
            "locked_until": state.locked_until.isoformat(),
            "last_failure": via,  # the kind of failure that locked it: sign-in or signature
        },
        note=f"locked until {when(state.locked_until)}",
    )


# --- sign-in ---------------------------------------------------------------------------------


@transaction.atomic
def login_record(*, user: User, client_address: str | None) -> None:
    audit.audit_record(
        actor=user,
        action="auth.login",
        obj=user,
        object_repr=user.get_username(),
        after={"client_address": address_clean(client_address)},
    )


@transaction.atomic
def logout_record(*, user: User, client_address: str | None, note: str = "") -> None:
    audit.audit_record(
        actor=user,
        action="auth.logout",
        obj=user,
        object_repr=user.get_username(),
        after={"client_address": address_clean(client_address)},
        note=note,
    )


@transaction.atomic
def login_failure_record(*, username: str | None, client_address: str | None, account_locked: bool) -> LockState:
    """A failed sign-in, already counted by axes (a sign-in refused because the account is locked is
    not counted): ``auth.login_failed``, and ``auth.locked_out`` when this failure locked the account.

    The actor is unknown (nobody signed in): the user name given is the event's object.
    """
    name = _given_name(username)
    address = address_clean(client_address)
    state = lock_state(name)
    after: dict[str, Any] = {
        "username": name,
        "client_address": address,
        "reason": "account_locked" if account_locked else "invalid_credentials",
        "failures": state.failures,
    }
    if account_locked and state.locked_until is not None:
        after["locked_until"] = state.locked_until.isoformat()
    entries = [_user_entry(action="auth.login_failed", username=name, after=after)]
    if not account_locked and state.is_locked:
        entries.append(_locked_out_entry(username=name, address=address, state=state, via="sign-in"))
    audit.audit_record_many(actor=None, entries=entries)
    return state


# --- signatures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningAttempt:
    """What a signer tried to sign, for the record of a refusal."""

    signer: User
    client_address: str | None
    meaning: str
    record_type: str
    record_id: str
    record_repr: str
    scope: str = ""


class SigningRefused(Forbidden):
    """A signature refused for a wrong password (``signature_refused``, counted toward the lockout)
    or a locked account (``account_locked``); recorded by ``signing_attempt`` after the rollback."""

    def __init__(self, message: str, *, attempt: SigningAttempt, code: str, **context: Any) -> None:
        super().__init__(message, code=code, **context)
        self.attempt = attempt


def signer_check(attempt: SigningAttempt, *, password: str) -> None:
    """Who may sign, checked before a signature is written (``qms.services.signature_apply``).

    - The signer has a full name, printed on the signature (11.50(a)(1)): InvalidInput
      ``signer_without_name`` otherwise, nothing recorded.
    - The account is not locked (11.300(d)): ``account_locked``, with the time it ends; the
      password is not even checked.
    - The password is the signer's (11.200(a)): ``signature_refused``, counted toward the lockout.
    """
    signer = attempt.signer
    username = signer.get_username()
    if not (signer.first_name.strip() and signer.last_name.strip()):
        raise InvalidInput(
            f"{username} has no full name (first and last name), which a signature prints; a quality manager "
            f"sets it on the admin's Users page or with `user_role {username} --name ...`; nothing was signed",
            code="signer_without_name",
        )
    locked_until = lock_state(username).locked_until
    if locked_until is not None:
        raise SigningRefused(
            f"the account {username} is locked after too many failed attempts until {when(locked_until)} "
            "(a quality manager can unlock it sooner); nothing was signed",
            attempt=attempt,
            code="account_locked",
            locked_until=locked_until.isoformat(),
        )
    if not signer.is_active or not password or not signer.check_password(password):
        raise SigningRefused(
            f"the password of {username} does not match; nothing was signed",
            attempt=attempt,
            code="signature_refused",
        )


SIGNING_ROLES = frozenset(role for role, scopes in ROLE_SCOPES.items() if Scope.APPROVALS in scopes)


def signer_name_check(*, username: str, first_name: str, last_name: str, roles: Iterable[str]) -> None:
    """A user whose role signs (the ``approvals`` scope: quality managers) has a first and a last
    name, printed on their signatures: checked when users are created, renamed or given a role."""
    signing = sorted(set(roles) & SIGNING_ROLES)
    if signing and not ((first_name or "").strip() and (last_name or "").strip()):
        raise InvalidInput(
            f"{username} needs a first and a last name to be a {Role(signing[0]).label.lower()}: "
            "that role signs, and a signature prints the signer's full name",
            code="signer_without_name",
            field="last_name" if (first_name or "").strip() else "first_name",
        )


def _failure_count(*, username: str, address: str | None, path: str) -> None:
    """Add a refused signature to the user name's axes attempts, as axes adds a failed sign-in."""
    now = timezone.now()
    AccessAttempt.objects.filter(username=username, attempt_time__lte=now - cool_off()).delete()  # as axes does
    attempt, created = AccessAttempt.objects.select_for_update().get_or_create(
        username=username,
        ip_address=address,
        user_agent=SIGNING_CLIENT,
        defaults={"get_data": "", "post_data": "", "http_accept": "", "path_info": path, "failures_since_start": 1},
    )
    if not created:
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            failures_since_start=F("failures_since_start") + 1, attempt_time=now, path_info=path
        )


@transaction.atomic
def signing_refusal_record(refused: SigningRefused) -> LockState:
    """``signature.refused`` (and ``auth.locked_out`` when a wrong password locked the account)."""
    attempt = refused.attempt
    username = attempt.signer.get_username()
    address = address_clean(attempt.client_address)
    if refused.code == "signature_refused":
        _failure_count(username=username, address=address, path=f"signature: {attempt.record_repr}"[:255])
    state = lock_state(username)
    after: dict[str, Any] = {
        "username": username,
        "client_address": address,
        "reason": "account_locked" if refused.code == "account_locked" else "wrong_password",
        "meaning": attempt.meaning,
        "failures": state.failures,
    }
    if refused.code == "account_locked" and state.locked_until is not None:
        after["locked_until"] = state.locked_until.isoformat()
    entries = [
        audit.AuditEntry(
            action="signature.refused",
            object_type=attempt.record_type,
            object_id=attempt.record_id,
            object_repr=f"{username} {attempt.meaning} {attempt.record_repr}",
            scope=attempt.scope,
            after=after,
        )
    ]
    if refused.code == "signature_refused" and state.is_locked:
        entries.append(_locked_out_entry(username=username, address=address, state=state, via="signature"))
    audit.audit_record_many(actor=attempt.signer, entries=entries)
    return state


P = ParamSpec("P")
R = TypeVar("R")
_signing_depth: ContextVar[int] = ContextVar("signing_depth", default=0)


def signing_attempt(service: Callable[P, R]) -> Callable[P, R]:
    """Decorate every service that signs, above its ``@transaction.atomic``.

    A refused signature (``SigningRefused``) rolls the signing transaction back; the outermost
    signing service then records it (audit event, lockout counter) in a transaction of its own and
    re-raises. That service runs in a durable transaction: inside a caller's transaction the
    record would be rolled back with it, so that is refused (RuntimeError), not silently lost.
    """

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        depth = _signing_depth.get()
        token = _signing_depth.set(depth + 1)
        try:
            if depth:
                return service(*args, **kwargs)
            with transaction.atomic(durable=True):
                return service(*args, **kwargs)
        except SigningRefused as refused:
            if not depth:
                signing_refusal_record(refused)
            raise
        finally:
            _signing_depth.reset(token)

    return run


# --- unlocking -------------------------------------------------------------------------------


def unlock_check(actor: User | None) -> None:
    """Quality managers (and superusers, and the system) unlock accounts."""
    if actor is not None and not (actor.is_superuser or Role.QUALITY_MANAGER in user_roles(actor)):
        raise Forbidden(f"only a quality manager may unlock an account ({actor.get_username()} is not one)")


@transaction.atomic
def account_unlock(*, username: str, actor: User | None) -> User:
    """Lift a lockout before its time (``user.unlocked``): the user's failure count starts again at 0."""
    unlock_check(actor)
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    state = lock_state(username)
    if state.locked_until is None:
        raise Conflict(
            f"{username} is not locked ({state.failures} of {failure_limit()} failed attempts counted); "
            "nothing was changed",
            code="not_locked",
        )
    axes_reset(username=username)
    audit.audit_record(
        actor=actor,
        action="user.unlocked",
        obj=user,
        object_repr=username,
        before={"failures": state.failures, "locked_until": state.locked_until.isoformat()},
        after={"failures": 0, "locked_until": None},
    )
    return user
