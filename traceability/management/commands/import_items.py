from pathlib import Path
from typing import Any

from qms.management.base import DomainCommand
from traceability.services.product_import import product_items_import
from traceability.spreadsheets import sheet_read


class Command(DomainCommand):
    help = (
        "Import items from a spreadsheet (.csv or .xlsx) into a product, creating the product if it does not "
        "exist. All or nothing: an error names the row and the column and imports nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("file", help="A .csv or .xlsx file (docs/traceability.md, 'Spreadsheet import/export')")
        self.add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        sheet = sheet_read(path)
        result = product_items_import(
            product_key=options["product"],
            rows=sheet.rows,
            actor=self.actor(options),
            source=path.name,
            attribute_columns=sheet.attribute_columns,
        )
        product, report = result.product, result.items
        if result.product_created:
            self.stdout.write(
                f"Product {product.key} did not exist: created with default settings "
                f"(name {product.name!r}, safety class unassigned, default risk matrix, "
                f"key pattern {product.key_pattern})."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {path.name} into {product.key}: {report.items_created} items created, "
                f"{report.items_updated} updated, {report.items_unchanged} unchanged; "
                f"{report.links_created} links created, {report.links_removed} removed; "
                f"{report.clause_links_created} clause links created, {report.clause_links_removed} removed."
            )
        )
