"""Writes of the quality-system foundation: roles, API tokens, signatures.

The audit trail (appending events, checkpoints) is in ``qms.services.audit`` and re-exported
here; user accounts (create, update, activate, password) are in ``qms.services.users``.
"""

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from qms.errors import Conflict, Forbidden, InvalidInput, NotFound
from qms.models import ApiToken, Signature, SignatureMeaning, signature_seal
from qms.roles import Role, Scope, manages_accounts, role_groups, role_names, user_roles, user_write_scopes
from qms.services.accounts import SigningAttempt, signer_check, signer_name_check, signing_attempt
from qms.services.audit import (
    BULK_EVENTS,
    AuditEntry,
    audit_checkpoint_after_commit,
    audit_checkpoint_write,
    audit_entry_for,
    audit_record,
    audit_record_many,
)

__all__ = [
    "BULK_EVENTS",
    "AuditEntry",
    "audit_checkpoint_after_commit",
    "audit_checkpoint_write",
    "audit_entry_for",
    "audit_record",
    "audit_record_many",
    "roles_clean",
    "signature_apply",
    "signature_state",
    "superuser_guard",
    "token_authenticate",
    "token_create",
    "token_hash",
    "token_revoke",
    "user_role_set",
]


# --- roles -----------------------------------------------------------------------------------


def superuser_guard(*, user: User, actor: User | None) -> None:
    """Only a superuser (or the system) changes a superuser's account: no escalation through a role."""
    if user.is_superuser and actor is not None and not actor.is_superuser:
        raise Forbidden(f"only a superuser may change the account of {user.get_username()} (a superuser)")


def roles_clean(roles: Iterable[str]) -> list[str]:
    wanted = sorted(set(roles))
    unknown = [role for role in wanted if role not in Role.values]
    if unknown:
        raise InvalidInput(f"unknown role {unknown[0]!r}; roles are {', '.join(Role.values)}", field="roles")
    return wanted


@transaction.atomic
def user_role_set(*, user: User, roles: Iterable[str], actor: User | None) -> None:
    """Replace the user's roles (groups), audited (``user.roles_changed``); no event when unchanged."""
    wanted = roles_clean(roles)
    superuser_guard(user=user, actor=actor)
    before = role_names(user)
    if before == wanted:
        return
    signer_name_check(username=user.get_username(), first_name=user.first_name, last_name=user.last_name, roles=wanted)
    groups = role_groups(wanted)
    user.groups.remove(*Group.objects.filter(name__in=Role.values))
    user.groups.add(*groups)
    user.__dict__.pop("_qms_roles", None)  # the per-request role cache of qms.roles.user_roles
    audit_record(
        actor=actor,
        action="user.roles_changed",
        obj=user,
        object_repr=user.get_username(),
        before={"roles": before},
        after={"roles": wanted},
    )


# --- API tokens ------------------------------------------------------------------------------

TOKEN_PREFIX = "qi"  # noqa: S105 - public marker, not a secret


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _token_state(token: ApiToken) -> dict[str, Any]:
    return {
        "user": token.user.get_username(),
        "name": token.name,
        "prefix": token.prefix,
        "scopes": list(token.scopes),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    actor: User | None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its key; the key is not stored and cannot be shown again.

    A token's scopes are at most its user's role's write scopes. An auditor's token therefore has
    no scope: it is a read-only token (for scripted exports), refused on every write.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("a token needs a name", field="name")
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in Scope.values]
    if unknown:
        raise InvalidInput(f"unknown scope {unknown[0]!r}; scopes are {', '.join(Scope.values)}", field="scopes")
    username = user.get_username()
    if not user.is_active:
        raise InvalidInput(f"{username} is deactivated and cannot have API tokens", field="user")
    if not (user.is_superuser or user_roles(user)):
        raise InvalidInput(f"{username} has no role, so a token of theirs could do nothing", field="user")
    beyond = sorted(set(wanted) - user_write_scopes(user))
    if beyond:
        raise InvalidInput(
            f"the role of {username} cannot write '{beyond[0]}', so a token of theirs cannot either"
            + (" (an auditor's token is read-only: no scopes)" if not user_write_scopes(user) else ""),
            field="scopes",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("expires_at must be in the future", field="expires_at")
    if ApiToken.objects.filter(user=user, name=name).exists():
        raise Conflict(f"{user.get_username()} already has a token named {name!r}", field="name")
    prefix = secrets.token_hex(4)
    key = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=token_hash(key),
        scopes=wanted,
        created_by=actor,
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    audit_record(
        actor=actor,
        action="token.created",
        obj=token,
        object_repr=f"{user.get_username()}/{name}",
        after=_token_state(token),
    )
    return token, key


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    """Revoke a token: one's own, or anyone's for those who manage accounts (quality managers,
    superusers; ``actor=None``: the system). Forbidden otherwise."""
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if actor is not None and token.user_id != actor.pk and not manages_accounts(actor):
        raise Forbidden(
            f"token {token.name!r} belongs to {token.user.get_username()}: you can revoke only your own tokens "
            "(quality managers revoke anyone's)",
            code="token_forbidden",
        )
    if token.revoked_at is not None:
        raise Conflict(f"token {token.name!r} is already revoked")
    before = _token_state(token)
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        action="token.revoked",
        obj=token,
        object_repr=f"{token.user.get_username()}/{token.name}",
        before=before,
        after=_token_state(token),
    )
    return token


def token_authenticate(key: str) -> ApiToken:
    """Return the active token for a presented key, or raise NotFound."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise NotFound("malformed API token")
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not secrets.compare_digest(token.key_hash, token_hash(key)):
        raise NotFound("invalid API token")
    if not token.is_active or not token.user.is_active:
        raise NotFound("API token is revoked, expired or belongs to an inactive user")
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# --- electronic signatures -------------------------------------------------------------------

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def signature_state(signature: Signature) -> dict[str, Any]:
    return {
        "signer": signature.signer_username,
        "printed_name": signature.printed_name,
        "signed_at": signature.signed_at.isoformat(),
        "meaning": signature.meaning,
        "record_type": signature.record_type,
        "record_id": signature.record_id,
        "record": signature.record_repr,
        "record_hash": signature.record_hash,
        "comment": signature.comment,
    }


@signing_attempt  # a refused password or a locked account is recorded after this rolls back
@transaction.atomic
def signature_apply(
    *,
    signer: User,
    password: str,
    meaning: str,
    record_type: str,
    record_id: str,
    record_repr: str,
    record_hash: str,
    comment: str = "",
    scope: str = "",
    client_address: str | None = None,
) -> Signature:
    """Sign a record with the signer's password, audited.

    21 CFR 11.200(a)(1): a signing outside one continuous session uses both components, so the
    signer's password is checked on every signature (the user name is the authenticated user).
    The signer needs a full name (the printed name) and an account that is not locked
    (``qms.services.accounts.signer_check``). A wrong password raises Forbidden (403) and writes
    no signature; the refusal is audited and counted toward the lockout after the rollback. The
    same signer signing the same record (type, id, hash) with the same meaning and comment again
    gets the existing signature back (``repeated`` set), not a second one: a retried request never
    signs twice.
    """
    if meaning not in SignatureMeaning.values:
        raise InvalidInput(
            f"unknown signature meaning {meaning!r}; meanings are {', '.join(SignatureMeaning.values)}", field="meaning"
        )
    if not SHA256_RE.fullmatch(record_hash or ""):
        raise InvalidInput("the signed record needs a SHA-256 hash (64 lower-case hex digits)", field="record_hash")
    attempt = SigningAttempt(
        signer=signer,
        client_address=client_address,
        meaning=meaning,
        record_type=record_type,
        record_id=str(record_id),
        record_repr=record_repr[:255],
        scope=scope,
    )
    signer_check(attempt, password=password)
    existing = Signature.objects.filter(
        signer=signer,
        meaning=meaning,
        record_type=record_type,
        record_id=str(record_id),
        record_hash=record_hash,
        comment=comment.strip(),
    ).first()
    if existing is not None:
        existing.repeated = True
        return existing
    signature = Signature(
        signer=signer,
        signer_username=signer.get_username(),
        printed_name=signer.get_full_name().strip(),
        signed_at=timezone.now(),
        meaning=meaning,
        record_type=record_type,
        record_id=str(record_id),
        record_repr=record_repr[:255],
        record_hash=record_hash,
        comment=comment.strip(),
        scope=scope,
    )
    signature.seal = signature_seal(signature)
    signature.save()
    audit_record(
        actor=signer,
        action="signature.applied",
        obj=signature,
        scope=scope,
        object_repr=f"{signature.printed_name} {meaning} {signature.record_repr}",
        after=signature_state(signature),
    )
    return signature
