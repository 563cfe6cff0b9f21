"""Writes of items and their clause links."""

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.validators import RegexValidator
from django.db import transaction
from django.utils import timezone

from qms.canonical import digest_of
from qms.errors import Conflict, Forbidden, InvalidInput
from qms.models import ApiToken, Signature, SignatureMeaning
from qms.roles import Scope, scope_refusal
from qms.services import audit_record, signature_apply
from qms.services.accounts import signing_attempt
from standards.models import Clause
from traceability.kinds import ItemKind, ItemStatus, attributes_validate
from traceability.models import ClauseLink, Item, Product
from traceability.models.items import ITEM_KEY_RE, ITEM_RECORD_TYPE

ITEM_FIELDS = ("title", "text", "status", "attributes")
_KEY_VALIDATOR = RegexValidator(ITEM_KEY_RE)


def item_fingerprint(*, title: str, text: str, attributes: dict[str, Any]) -> str:
    """Hash of what a reviewer of a link to this item reviewed: its title, text and attributes."""
    return digest_of({"title": title, "text": text, "attributes": attributes})


def item_state(item: Item) -> dict[str, Any]:
    return {
        "key": item.key,
        "kind": item.kind,
        "title": item.title,
        "text": item.text,
        "status": item.status,
        "attributes": item.attributes,
        "revision": item.revision,
    }


def item_repr(item: Item, product: Product | None = None) -> str:
    return f"{(product or item.product).key}/{item.key}"


def item_key_problem(product: Product, key: str) -> str | None:
    if not re.fullmatch(ITEM_KEY_RE, key):
        return f"key {key!r} may hold only letters, digits, '-', '_', '.', ':' (at most 64)"
    if not re.fullmatch(product.key_pattern, key):
        return f"key {key!r} does not match the key pattern of {product.key} ({product.key_pattern})"
    return None


def item_fields_clean(
    *, product: Product, kind: str, title: str, text: str, status: str, attributes: Any
) -> dict[str, Any]:
    """Validate an item's fields; returns the cleaned attributes or raises ValueError naming the field."""
    if kind not in ItemKind.values:
        raise ValueError(f"kind: unknown kind {kind!r} (kinds: {', '.join(ItemKind.values)})")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("title: an item needs a title")
    if len(title) > 500:
        raise ValueError("title: at most 500 characters")
    if not isinstance(text, str):
        raise ValueError("text: must be text")
    if status not in ItemStatus.values:
        raise ValueError(f"status: unknown status {status!r} (statuses: {', '.join(ItemStatus.values)})")
    try:
        cleaned = attributes_validate(kind, attributes)
    except ValueError as exc:
        raise ValueError(f"attributes: {exc}") from exc
    if kind == ItemKind.RISK:
        matrix = product.risk_matrix
        for name, levels in (
            ("severity", "severities"),
            ("residual_severity", "severities"),
            ("probability", "probabilities"),
            ("residual_probability", "probabilities"),
        ):
            value = cleaned.get(name)
            if value is not None and value > len(matrix[levels]):
                raise ValueError(
                    f"attributes: {name} {value} is beyond the product's risk matrix (1..{len(matrix[levels])})"
                )
    return cleaned


def item_approval_check(
    *,
    item: Item | None,
    key: str,
    status: str,
    fingerprint: str,
    actor: User | None,
    token: ApiToken | None = None,
    where: str = "",
) -> None:
    """Separation of duties: only an approver makes an item approved, or keeps an approved item
    approved while its title, text or attributes change (``fingerprint``).

    An approver holds the ``approvals`` scope (a quality manager); acting through an API token,
    the token must hold it too. Moving an item out of approved is an ordinary change for anyone
    who may edit items. ``item`` is the item as stored (None: a new item); ``actor=None`` is the
    system (a command run on the server without ``--as``). Forbidden (``approval_forbidden``)
    otherwise, prefixed with ``where`` (e.g. the import row).
    """
    if status != ItemStatus.APPROVED or actor is None:
        return
    was_approved = item is not None and item.status == ItemStatus.APPROVED
    if was_approved and item is not None and item.fingerprint == fingerprint:
        return  # stays approved with the content that was approved
    lacking = scope_refusal(actor, Scope.APPROVALS, token.scopes if token is not None else None)
    if lacking is None:
        return
    what = (
        f"{key} is approved: changing its title, text or attributes and keeping it approved needs the "
        f"'approvals' scope (a quality manager; set the status to draft or in_review with the change)"
        if was_approved
        else f"setting {key} to approved needs the 'approvals' scope (a quality manager)"
    )
    raise Forbidden(f"{where}{what}; {lacking}", code="approval_forbidden", field="status", key=key)


def _clean_or_400(**fields: Any) -> dict[str, Any]:
    try:
        return item_fields_clean(**fields)
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise InvalidInput(str(exc), field=field) from exc


@transaction.atomic
def item_create(
    *,
    product: Product,
    key: str,
    kind: str,
    title: str,
    actor: User | None,
    text: str = "",
    status: str = ItemStatus.DRAFT,
    attributes: dict[str, Any] | None = None,
    token: ApiToken | None = None,
) -> Item:
    """Create an item at revision 1. Creating it approved needs the ``approvals`` scope
    (:func:`item_approval_check`; ``token``: the API token the actor acts through)."""
    problem = item_key_problem(product, key)
    if problem:
        raise InvalidInput(problem, field="key")
    cleaned = _clean_or_400(product=product, kind=kind, title=title, text=text, status=status, attributes=attributes)
    fingerprint = item_fingerprint(title=title.strip(), text=text, attributes=cleaned)
    item_approval_check(item=None, key=key, status=status, fingerprint=fingerprint, actor=actor, token=token)
    if Item.objects.filter(product=product, key=key).exists():
        raise Conflict(f"{product.key} already has an item {key}", field="key", key=key)
    now = timezone.now()
    item = Item.objects.create(
        product=product,
        key=key,
        kind=kind,
        title=title.strip(),
        text=text,
        status=status,
        attributes=cleaned,
        fingerprint=fingerprint,
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )
    audit_record(
        actor=actor,
        action="item.created",
        obj=item,
        scope=product.key,
        object_repr=item_repr(item, product),
        after=item_state(item),
    )
    return item


@transaction.atomic
def item_update(
    *,
    item: Item,
    actor: User | None,
    expected_revision: int | None = None,
    token: ApiToken | None = None,
    **changes: Any,
) -> Item:
    """Change title, text, status or attributes. Every change advances the revision.

    ``expected_revision`` guards against lost updates: when the item moved on since the caller
    read it, the update is refused with 409. Approving, or changing an approved item's content
    and keeping it approved, needs the ``approvals`` scope (:func:`item_approval_check`); making
    an item obsolete (never deleted) or moving it back to draft is an ordinary change.
    """
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        reason = "kind never changes" if name == "kind" else "key never changes" if name == "key" else "unknown field"
        raise InvalidInput(f"{name}: {reason}", field=name)
    item = Item.objects.select_for_update().select_related("product").get(pk=item.pk)
    if expected_revision is not None and expected_revision != item.revision:
        raise Conflict(
            f"{item.key} is at revision {item.revision}, not {expected_revision}: reload and try again",
            key=item.key,
            revision=item.revision,
        )
    values = {name: changes.get(name, getattr(item, name)) for name in ITEM_FIELDS}
    if isinstance(values["title"], str):
        values["title"] = values["title"].strip()
    values["attributes"] = _clean_or_400(product=item.product, kind=item.kind, **values)
    if all(values[name] == getattr(item, name) for name in ITEM_FIELDS):
        return item
    fingerprint = item_fingerprint(title=values["title"], text=values["text"], attributes=values["attributes"])
    item_approval_check(
        item=item, key=item.key, status=values["status"], fingerprint=fingerprint, actor=actor, token=token
    )
    before = item_state(item)
    for name, value in values.items():
        setattr(item, name, value)
    item.fingerprint = fingerprint
    item.revision += 1
    item.updated_at = timezone.now()
    item.updated_by = actor
    item.save()
    audit_record(
        actor=actor,
        action="item.updated",
        obj=item,
        scope=item.product.key,
        object_repr=item_repr(item),
        before=before,
        after=item_state(item),
    )
    return item


@transaction.atomic
def items_make_obsolete(*, items: Iterable[Item], actor: User | None) -> list[Item]:
    """Retire items: status ``obsolete``, revision advanced, audited; all or none. Items are quality
    records and never deleted; an obsolete item keeps its links and history and takes no part in
    the matrix, the gaps or new baselines. Returns the items that changed (not those already obsolete)."""
    current = (
        Item.objects.select_for_update()
        .filter(pk__in=[item.pk for item in items])
        .exclude(status=ItemStatus.OBSOLETE)
        .order_by("pk")
    )
    return [item_update(item=item, actor=actor, status=ItemStatus.OBSOLETE) for item in current]


@signing_attempt
@transaction.atomic
def item_approve(
    *,
    item: Item,
    signer: User,
    password: str,
    comment: str = "",
    client_address: str | None = None,
) -> Signature:
    """Approve an item of any kind (a change request above all: IEC 62304 6.2.4) with a Part 11
    signature: the status becomes ``approved`` through :func:`item_update` (audited, revision
    advanced; nothing changes when it is approved already), and the signer signs, meaning
    ``approval``, the item's fingerprint: the SHA-256 of its title, text and attributes.

    The fingerprint does not cover the status, so approving does not change it and the signature
    stays bound to the approved content until the content changes (then the approval no longer
    counts: ``traceability.graph.selectors.item_approvals``). The signature names the approved
    revision (``BOLUS CR-7 r4``). Signing the same content again with the same comment returns the
    existing signature (``repeated``).

    Refused, with nothing written: a signer without the ``approvals`` scope (403
    ``approval_forbidden``), an obsolete item (409 ``item_obsolete``), an item whose stored
    fingerprint no longer matches its content (409 ``integrity_error``), a wrong password (403
    ``signature_refused``, audited and counted toward the lockout by ``signing_attempt``).
    """
    lacking = scope_refusal(signer, Scope.APPROVALS)
    if lacking is not None:
        raise Forbidden(
            f"approving {item.key} with a signature needs the 'approvals' scope (a quality manager); {lacking}",
            code="approval_forbidden",
            key=item.key,
        )
    item = Item.objects.select_for_update().select_related("product").get(pk=item.pk)
    product = item.product
    if item.status == ItemStatus.OBSOLETE:
        raise Conflict(
            f"{item_repr(item, product)} is obsolete: an obsolete item takes no part in releases and is not approved",
            code="item_obsolete",
            key=item.key,
        )
    if item_fingerprint(title=item.title, text=item.text, attributes=item.attributes) != item.fingerprint:
        raise Conflict(
            f"{item_repr(item, product)}: its stored fingerprint does not match its title, text and attributes "
            "(changed outside the application); nothing was signed",
            code="integrity_error",
            key=item.key,
        )
    item = item_update(item=item, actor=signer, status=ItemStatus.APPROVED)
    return signature_apply(
        signer=signer,
        password=password,
        meaning=SignatureMeaning.APPROVAL,
        record_type=ITEM_RECORD_TYPE,
        record_id=str(item.pk),
        record_repr=f"{product.key} {item.key} r{item.revision}",
        record_hash=item.fingerprint,
        comment=comment,
        scope=product.key,
        client_address=client_address,
    )


def clause_link_check(*, item: Item, clause: Clause) -> None:
    """The item can become evidence for the clause: not retired (InvalidInput), not already (Conflict)."""
    if not clause.is_active:
        raise InvalidInput(f"clause {clause.standard.slug}:{clause.number} is retired", field="clause")
    if ClauseLink.objects.filter(item=item, clause=clause).exists():
        raise Conflict(f"{item.key} is already evidence for {clause.standard.slug}:{clause.number}")


@transaction.atomic
def clause_link_create(*, item: Item, clause: Clause, actor: User | None, note: str = "") -> ClauseLink:
    product = item.product
    clause_link_check(item=item, clause=clause)
    link = ClauseLink.objects.create(product=product, item=item, clause=clause, note=note, created_by=actor)
    ref = f"{clause.standard.slug}:{clause.number}"
    audit_record(
        actor=actor,
        action="clause_link.created",
        obj=link,
        scope=product.key,
        object_repr=f"{product.key}/{item.key} → {ref}",
        after={"item": item.key, "clause": ref, "note": note},
    )
    return link


@transaction.atomic
def clause_link_delete(*, clause_link: ClauseLink, actor: User | None) -> None:
    link = ClauseLink.objects.select_related("item", "clause__standard", "product").get(pk=clause_link.pk)
    ref = f"{link.clause.standard.slug}:{link.clause.number}"
    audit_record(
        actor=actor,
        action="clause_link.deleted",
        obj=link,
        scope=link.product.key,
        object_repr=f"{link.product.key}/{link.item.key} → {ref}",
        before={"item": link.item.key, "clause": ref, "note": link.note},
    )
    link.delete()
