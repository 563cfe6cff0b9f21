"""Spreadsheet (CSV / XLSX) import and export of a product's items.

Parsing and writing files is not a service: ``sheet_read`` turns a file into import rows for
``traceability.services.product_import.product_items_import``; ``sheet_write`` writes the rows of
``traceability.selectors.item_records``. The format is described in ``columns.py`` and
docs/traceability.md ("Spreadsheet import/export").
"""

from traceability.spreadsheets.reader import Sheet, sheet_read
from traceability.spreadsheets.writer import sheet_write

__all__ = ["Sheet", "sheet_read", "sheet_write"]
