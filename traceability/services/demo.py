"""The demo product (``fixtures/demo/``): BolusCalc, an IEC 62304 class C insulin bolus calculator."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from qms.errors import InvalidInput
from qms.roles import Role
from qms.services import audit_record, user_role_set
from traceability.itemfile import item_rows_from_yaml, yaml_file_read
from traceability.models import Product
from traceability.services.imports import ImportReport, items_import
from traceability.services.products import product_create, product_state, product_update

DEMO_FILE = "bolus.yaml"
PRODUCT_KEYS = {"key", "name", "intended_use", "safety_class", "standards", "key_pattern", "risk_matrix", "gap_rules"}

# One demo account per role; the password is the user name followed by "-demo".
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("qm", "Quinn Manager", Role.QUALITY_MANAGER),
    ("dev", "Dana Developer", Role.DEVELOPER),
    ("auditor", "Avery Auditor", Role.AUDITOR),
)


@dataclass
class DemoReport:
    product_created: bool = False
    product_updated: bool = False
    users_created: list[str] = field(default_factory=list)
    items: ImportReport = field(default_factory=ImportReport)


def _product_spec(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: 'product' must be a mapping", code="demo_invalid")
    unknown = sorted(set(data) - PRODUCT_KEYS)
    if unknown:
        raise InvalidInput(f"{source}: product: unknown field '{unknown[0]}'", code="demo_invalid")
    for required in ("key", "name"):
        if not data.get(required):
            raise InvalidInput(f"{source}: product: '{required}' is required", code="demo_invalid")
    return dict(data)


def demo_users_ensure(*, actor: User | None, report: DemoReport) -> None:
    for username, full_name, role in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            first, last = full_name.split(" ", 1)
            user = User(username=username, first_name=first, last_name=last, is_staff=True)
            user.set_password(f"{username}-demo")
            user.save()
            audit_record(
                actor=actor, action="user.created", obj=user, object_repr=username, after={"username": username}
            )
            report.users_created.append(username)
        user_role_set(user=user, roles=[role], actor=actor)


@transaction.atomic
def demo_load(*, directory: Path, actor: User | None) -> DemoReport:
    """Create or update the demo product, its items and the demo users. Idempotent."""
    path = directory / DEMO_FILE
    data = yaml_file_read(path)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path.name}: must be a mapping with 'product' and 'items'", code="demo_invalid")
    unknown = sorted(set(data) - {"product", "items"})
    if unknown:
        raise InvalidInput(f"{path.name}: unknown top-level key '{unknown[0]}'", code="demo_invalid")
    spec = _product_spec(data.get("product"), path.name)
    report = DemoReport()
    key = spec.pop("key")
    product = Product.objects.filter(key=key).first()
    if product is None:
        product = product_create(key=key, actor=actor, **spec)
        report.product_created = True
    else:
        before = product_state(product)
        product = product_update(product=product, actor=actor, **spec)
        report.product_updated = product_state(product) != before
    rows = item_rows_from_yaml(data.get("items"), source=path.name)
    report.items = items_import(product=product, rows=rows, actor=actor, source=path.name)
    demo_users_ensure(actor=actor, report=report)
    return report
