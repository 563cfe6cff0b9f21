"""The spreadsheet format: its columns, how lists are written, and the formula-injection rule.

Columns (header row, in this order on export):

- ``key``, ``kind``, ``title``, ``text``, ``status``;
- one column per link type (``derives_from``, ``implements``, …): target keys separated by ``;``;
- ``clauses``: ``standard-slug:number`` separated by ``;``;
- one column per item attribute (``category``, ``hazard``, ``severity``, …, see ``ATTRIBUTES``).

Formula injection: a spreadsheet program runs a cell that starts with ``=``, ``+``, ``-``, ``@``
(or a tab or carriage return) as a formula. On export such a cell gets a leading apostrophe
``'``; so does a cell that already starts with an apostrophe followed by one of those characters
or by another apostrophe. On import one leading apostrophe is removed from exactly those cells.
The two rules undo each other, so every text survives a round trip unchanged.
"""

import re
from collections.abc import Collection, Iterable

from traceability.kinds import ATTRIBUTES, LINK_RULES, LinkType

BASE_COLUMNS = ("key", "kind", "title", "text", "status")
LINK_COLUMNS: tuple[str, ...] = tuple(str(link_type) for link_type in LinkType.values)
CLAUSES_COLUMN = "clauses"
ATTRIBUTE_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(attr.name for attrs in ATTRIBUTES.values() for attr in attrs))
ALL_COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *LINK_COLUMNS, CLAUSES_COLUMN, *ATTRIBUTE_COLUMNS)

LIST_SEPARATOR = "; "
_LIST_SPLIT = re.compile(r"[;,\s]+")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_ESCAPED_STARTS = (*FORMULA_STARTS, QUOTE)


def cell_neutralise(value: str) -> str:
    """Prefix an apostrophe where a spreadsheet program would see a formula (export)."""
    if value.startswith(FORMULA_STARTS) or (value.startswith(QUOTE) and value[1:2] in _ESCAPED_STARTS):
        return QUOTE + value
    return value


def cell_restore(value: str) -> str:
    """Undo ``cell_neutralise`` (import)."""
    if value.startswith(QUOTE) and value[1:2] in _ESCAPED_STARTS:
        return value[1:]
    return value


def key_list_split(value: str) -> list[str]:
    """Keys or clause references separated by ``;`` (commas and line breaks are accepted too)."""
    return [part for part in _LIST_SPLIT.split(value) if part]


def key_list_join(values: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(values)


def header_normalise(name: str) -> str:
    """``Derives from`` and ``DERIVES_FROM`` both name the column ``derives_from``."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def export_columns(kinds: Collection[str]) -> list[str]:
    """Every base, link-type and clauses column, and the attribute columns of the kinds present."""
    attributes = {attr.name for kind in kinds for attr in ATTRIBUTES.get(kind, ())}
    return [
        *BASE_COLUMNS,
        *(link_type for link_type in LINK_COLUMNS if link_type in LINK_RULES),
        CLAUSES_COLUMN,
        *(name for name in ATTRIBUTE_COLUMNS if name in attributes),
    ]
