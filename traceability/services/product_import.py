"""Import items into a product named by its key, creating the product when it does not exist."""

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from django.contrib.auth.models import User
from django.db import transaction

from qms.errors import Forbidden
from qms.roles import Scope, scope_refusal
from traceability.models import Item, Product
from traceability.services.imports import ImportReport, ItemRow, RowError, items_import
from traceability.services.products import product_create

_ATTRIBUTE_NAMED = re.compile(r"attribute '([a-z_]+)'|^([a-z_]+) \d+ is beyond")


@dataclass
class ProductImportReport:
    product: Product
    product_created: bool
    items: ImportReport


def _merge_attributes(product: Product, rows: list[ItemRow], attribute_columns: Collection[str]) -> list[ItemRow]:
    """Attributes whose column the file lacks keep their current value (one query)."""
    current = dict(Item.objects.filter(product=product).values_list("key", "attributes"))
    merged = []
    for row in rows:
        kept = {name: value for name, value in (current.get(row.key) or {}).items() if name not in attribute_columns}
        if row.attributes is not None and kept:
            row = replace(row, attributes={**kept, **row.attributes})
        merged.append(row)
    return merged


@transaction.atomic
def product_items_import(
    *,
    product_key: str,
    rows: list[ItemRow],
    actor: User | None,
    source: str = "",
    attribute_columns: Collection[str] | None = None,
) -> ProductImportReport:
    """Create the product with default settings if it does not exist, then ``items_import`` the rows.

    All or nothing: when a row is refused, the product is not created either. Creating the product
    needs the ``products`` scope, approving items the ``approvals`` scope (a quality manager's; a
    developer imports drafts into existing products; ``actor=None`` is the system). With
    ``attribute_columns`` (the attribute columns a spreadsheet has) a row's attributes replace only
    those; the item keeps its other attributes.
    """
    product = Product.objects.filter(key=product_key).first()
    created = product is None
    if product is None:
        lacking = scope_refusal(actor, Scope.PRODUCTS) if actor is not None else None
        if lacking:
            raise Forbidden(
                f"product {product_key} does not exist and creating it needs the 'products' scope "
                f"(a quality manager); {lacking}",
                code="product_forbidden",
                field="product",
            )
        product = product_create(key=product_key, name=product_key, actor=actor)
    if attribute_columns is not None and not created:
        rows = _merge_attributes(product, rows, attribute_columns)
    try:
        report = items_import(product=product, rows=rows, actor=actor, source=source)
    except RowError as exc:
        # A spreadsheet has one column per attribute: name that column rather than "attributes".
        named = _ATTRIBUTE_NAMED.search(exc.problem) if exc.context.get("column") == "attributes" else None
        name = (named.group(1) or named.group(2)) if named else None
        if name is None or name not in (attribute_columns or ()):
            raise
        raise RowError(exc.context["row"], name, exc.problem, source=source) from exc
    return ProductImportReport(product=product, product_created=created, items=report)
