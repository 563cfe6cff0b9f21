"""Writes of signed deviations: a quality manager lowers a protected gap rule (or one finding of
it) with a rationale and a Part 11 signature; a revocation withdraws it, signed too.

Both are written once (the models and database triggers refuse changes). Each write is checked in
full before anything is stored; the signature (password re-entered) is applied last in the same
transaction, so a wrong password leaves no deviation, no signature and no audit event.
"""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from qms.canonical import digest_of
from qms.errors import Conflict, Forbidden, InvalidInput
from qms.models import SignatureMeaning
from qms.roles import Scope, user_write_scopes
from qms.services import audit_record, signature_apply
from qms.services.accounts import signing_attempt
from traceability.gap_rules import (
    DEVIATION_SEVERITIES,
    GAP_RULES_BY_SLUG,
    PROTECTED_CLASSES,
    PROTECTED_RULES,
    effective_class,
    rule_protected,
)
from traceability.models import Deviation, DeviationRevocation, Item, Product
from traceability.models.deviations import (
    DEVIATION_RECORD_TYPE,
    RATIONALE_MIN_LENGTH,
    REVOCATION_RECORD_TYPE,
    deviation_content,
    iso_utc,
    revocation_content,
)


def deviation_state(deviation: Deviation, product: Product) -> dict[str, Any]:
    return {
        "number": deviation.label,
        "rule": deviation.rule,
        "item": deviation.item_key,
        "severity": deviation.severity,
        "rationale": deviation.rationale,
        "sha256": deviation.sha256,
        "created_at": iso_utc(deviation.created_at),
        "product": product.key,
    }


def _signer_check(signer: User, what: str) -> None:
    if Scope.APPROVALS not in user_write_scopes(signer):
        raise Forbidden(f"{signer.get_username()} may not sign {what} (needs the '{Scope.APPROVALS}' scope)")


def _text_check(text: str, *, field: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) < RATIONALE_MIN_LENGTH:
        raise InvalidInput(
            f"{field}: {what} needs a written {field} of at least {RATIONALE_MIN_LENGTH} characters "
            f"({len(text)} given): who accepts what, and why it is safe",
            field=field,
        )
    return text


def deviation_request_check(*, product: Product, rule: str, severity: str, item_key: str) -> None:
    """What a deviation may lower: a protected rule of a class B or C product, to warning or off,
    for the whole rule or one item of the product. InvalidInput naming the problem otherwise."""
    if rule not in GAP_RULES_BY_SLUG:
        raise InvalidInput(f"rule: unknown rule '{rule}' (rules: {', '.join(GAP_RULES_BY_SLUG)})", field="rule")
    klass = effective_class(product.safety_class)
    if not rule_protected(rule, klass):
        why = (
            f"'{rule}' is not a protected rule (protected: {', '.join(PROTECTED_RULES)})"
            if rule not in PROTECTED_RULES
            else f"'{rule}' is protected for class {' and '.join(PROTECTED_CLASSES)} only; "
            f"{product.key} is class {klass}"
        )
        raise InvalidInput(
            f"rule: no deviation needed for {product.key}: {why}; set its severity with the product's gap_rules",
            field="rule",
            code="deviation_not_needed",
        )
    if severity not in DEVIATION_SEVERITIES:
        raise InvalidInput(
            f"severity: a deviation lowers '{rule}' to {' or '.join(DEVIATION_SEVERITIES)}, not {severity!r}",
            field="severity",
        )
    if item_key and not Item.objects.filter(product=product, key=item_key).exists():
        raise InvalidInput(f"item: {product.key} has no item {item_key!r}", field="item", code="unknown_item")


@signing_attempt
@transaction.atomic
def deviation_sign(
    *,
    product: Product,
    rule: str,
    severity: str,
    rationale: str,
    signer: User,
    password: str,
    item_key: str = "",
    comment: str = "",
    client_address: str | None = None,
) -> Deviation:
    """Lower a protected gap rule of the product (or the finding of ``item_key``) by a signed
    deviation: the signer needs the ``approvals`` scope and re-enters the password; the signature
    (meaning ``approval``) is bound to the SHA-256 of the deviation's canonical content.

    Refused, with nothing written: a signer without the scope (403), an unknown or unprotected
    rule, a severity other than warning or off, an unknown item, a rationale shorter than
    ``RATIONALE_MIN_LENGTH`` (400), a deviation of the same rule and scope already in force (409),
    a wrong password (403).
    """
    _signer_check(signer, "deviations")
    product = Product.objects.select_for_update().get(pk=product.pk)  # its class now; numbers one at a time
    item_key = (item_key or "").strip()
    deviation_request_check(product=product, rule=rule, severity=severity, item_key=item_key)
    rationale = _text_check(rationale, field="rationale", what="a deviation")
    existing = (
        Deviation.objects.filter(product=product, rule=rule, item_key=item_key, revocation__isnull=True)
        .order_by("number")
        .first()
    )
    if existing is not None:
        scope = f"the finding of {item_key}" if item_key else "the whole rule"
        raise Conflict(
            f"{existing.label} already lowers '{rule}' for {scope} of {product.key}; revoke it first to sign another",
            code="deviation_exists",
            deviation=existing.label,
        )
    number = (Deviation.objects.filter(product=product).aggregate(n=Max("number"))["n"] or 0) + 1
    deviation = Deviation(
        product=product,
        number=number,
        rule=rule,
        item_key=item_key,
        severity=severity,
        rationale=rationale,
        created_at=timezone.now(),
        created_by=signer,
    )
    deviation.sha256 = digest_of(
        deviation_content(
            product_key=product.key,
            number=number,
            rule=rule,
            item=item_key,
            severity=severity,
            rationale=rationale,
            created_at=deviation.created_at,
            signer=signer.get_username(),
        )
    )
    deviation.save()
    signature = signature_apply(
        signer=signer,
        password=password,
        meaning=SignatureMeaning.APPROVAL,
        record_type=DEVIATION_RECORD_TYPE,
        record_id=str(deviation.pk),
        record_repr=f"{product.key} {deviation.label} ({rule}{f' {item_key}' if item_key else ''} → {severity})",
        record_hash=deviation.sha256,
        comment=comment,
        scope=product.key,
        client_address=client_address,
    )
    audit_record(
        actor=signer,
        action="deviation.signed",
        obj=deviation,
        scope=product.key,
        object_repr=f"{product.key} {deviation.label}",
        after=deviation_state(deviation, product),
        note=f"signature #{signature.pk} over {deviation.sha256}",
    )
    return deviation


@signing_attempt
@transaction.atomic
def deviation_revoke(
    *, deviation: Deviation, reason: str, signer: User, password: str, client_address: str | None = None
) -> DeviationRevocation:
    """Withdraw a deviation by a signed revocation (the deviation stays as it was signed; releases
    frozen while it was in force keep it in their baselines). Needs the ``approvals`` scope, a
    reason and the password; a deviation is revoked once (409 after that)."""
    _signer_check(signer, "revocations of deviations")
    reason = _text_check(reason, field="reason", what="a revocation")
    product = Product.objects.select_for_update().get(pk=deviation.product_id)
    deviation = Deviation.objects.get(pk=deviation.pk)
    if DeviationRevocation.objects.filter(deviation=deviation).exists():
        raise Conflict(f"{product.key} {deviation.label} is already revoked", code="deviation_revoked")
    revocation = DeviationRevocation(deviation=deviation, reason=reason, created_at=timezone.now(), created_by=signer)
    revocation.sha256 = digest_of(
        revocation_content(
            product_key=product.key, deviation=deviation, revocation=revocation, signer=signer.get_username()
        )
    )
    revocation.save()
    signature = signature_apply(
        signer=signer,
        password=password,
        meaning=SignatureMeaning.APPROVAL,
        record_type=REVOCATION_RECORD_TYPE,
        record_id=str(revocation.pk),
        record_repr=f"{product.key} {deviation.label} revocation",
        record_hash=revocation.sha256,
        scope=product.key,
        client_address=client_address,
    )
    audit_record(
        actor=signer,
        action="deviation.revoked",
        obj=deviation,
        scope=product.key,
        object_repr=f"{product.key} {deviation.label}",
        before=deviation_state(deviation, product),
        after={
            "revoked": True,
            "reason": reason,
            "sha256": revocation.sha256,
            "created_at": iso_utc(revocation.created_at),
        },
        note=f"signature #{signature.pk} over {revocation.sha256}",
    )
    return revocation
