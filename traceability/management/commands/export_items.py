from pathlib import Path
from typing import Any

from qms.management.base import DomainCommand
from traceability.selectors import item_records, product_get
from traceability.spreadsheets import sheet_write


class Command(DomainCommand):
    help = "Export a product's items, links and clauses to a spreadsheet (.csv or .xlsx) that import_items reads."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("product", help="Product key, e.g. BOLUS")
        parser.add_argument("file", help="The .csv or .xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        product = product_get(options["product"])
        path = Path(options["file"])
        count = sheet_write(path, item_records(product=product), title=f"{product.key} items")
        self.stdout.write(self.style.SUCCESS(f"Exported {count} items of {product.key} to {path}."))
