"""Writes of products."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from qms.errors import Conflict, InvalidInput
from qms.services import audit_record
from standards.models import Standard
from traceability.gap_rules import gap_rules_problem, protected_override_problem
from traceability.models import Product, default_risk_matrix

PRODUCT_FIELDS = ("name", "intended_use", "safety_class", "risk_matrix", "key_pattern", "gap_rules")


def product_state(product: Product, standards: Iterable[Standard] | None = None) -> dict[str, Any]:
    standards = product.standards.all() if standards is None else standards
    return {
        "key": product.key,
        **{name: getattr(product, name) for name in PRODUCT_FIELDS},
        "standards": sorted(standard.slug for standard in standards),
    }


def _standards_resolve(slugs: Iterable[str]) -> list[Standard]:
    wanted = sorted(set(slugs))
    found = {standard.slug: standard for standard in Standard.objects.filter(slug__in=wanted)}
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise InvalidInput(f"unknown standard '{missing[0]}' (load_standards loads the catalogue)", field="standards")
    return [found[slug] for slug in wanted]


def gap_rules_check(*, key: str, safety_class: str, gap_rules: Any) -> None:
    """The product's gap-rule overrides are well formed and lower no protected rule (InvalidInput
    naming the rule otherwise): the services' rule, also shown on the admin's form."""
    problem = gap_rules_problem(gap_rules)
    if problem:
        raise InvalidInput(f"gap_rules: {problem}", field="gap_rules")
    protected = protected_override_problem(gap_rules, safety_class, key)
    if protected:
        rule, message = protected
        raise InvalidInput(f"gap_rules: {message}", field="gap_rules", code="rule_protected", rule=rule)


def _full_clean(product: Product, *, exclude_unique: bool = False, rules_changed: bool = True) -> None:
    """The model's validators and the gap-rule check. ``rules_changed`` False (neither the class
    nor the overrides change): an override stored before protected rules existed is left as it
    is (it has no effect; the gap report lists it), so other settings can still be edited."""
    try:
        product.full_clean(validate_unique=not exclude_unique)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(f"{field}: {messages[0]}", field=field) from exc
    if rules_changed:
        gap_rules_check(key=product.key, safety_class=product.safety_class, gap_rules=product.gap_rules)
    else:
        problem = gap_rules_problem(product.gap_rules)
        if problem:
            raise InvalidInput(f"gap_rules: {problem}", field="gap_rules")


@transaction.atomic
def product_create(
    *,
    key: str,
    name: str,
    actor: User | None,
    intended_use: str = "",
    safety_class: str = "",
    standards: Iterable[str] = (),
    risk_matrix: dict[str, Any] | None = None,
    key_pattern: str | None = None,
    gap_rules: dict[str, str] | None = None,
) -> Product:
    if Product.objects.filter(key=key).exists():
        raise Conflict(f"product {key} already exists", field="key")
    resolved = _standards_resolve(standards)
    product = Product(
        key=key,
        name=name,
        intended_use=intended_use,
        safety_class=safety_class or "",
        risk_matrix=risk_matrix if risk_matrix is not None else default_risk_matrix(),
        gap_rules=gap_rules or {},
        created_by=actor,
        updated_by=actor,
    )
    if key_pattern:
        product.key_pattern = key_pattern
    _full_clean(product, exclude_unique=True)
    product.save()
    product.standards.set(resolved)
    audit_record(
        actor=actor,
        action="product.created",
        obj=product,
        scope=product.key,
        after=product_state(product, resolved),
    )
    return product


@transaction.atomic
def product_update(*, product: Product, actor: User | None, **changes: Any) -> Product:
    """Change product settings; ``standards`` takes a list of standard slugs."""
    unknown = set(changes) - set(PRODUCT_FIELDS) - {"standards"}
    if unknown:
        raise InvalidInput(f"unknown product field '{sorted(unknown)[0]}'")
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = product_state(product)
    standards = changes.pop("standards", None)
    resolved = _standards_resolve(standards) if standards is not None else None
    for name, value in changes.items():
        setattr(product, name, value if value is not None or name != "safety_class" else "")
    rules_changed = (product.safety_class, product.gap_rules) != (before["safety_class"], before["gap_rules"])
    _full_clean(product, exclude_unique=True, rules_changed=rules_changed)
    after = product_state(product, resolved if resolved is not None else product.standards.all())
    if after == before:
        return product
    product.updated_at = timezone.now()
    product.updated_by = actor
    product.save()
    if resolved is not None:
        product.standards.set(resolved)
    audit_record(actor=actor, action="product.updated", obj=product, scope=product.key, before=before, after=after)
    return product
