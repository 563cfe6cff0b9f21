"""Read items from the YAML item format (``fixtures/demo/*.yaml``) into import rows.

Format (docs/traceability.md): a list of mappings with ``key``, ``kind``, ``title``, ``text``,
``status``, ``attributes``, ``clauses`` and one list of target keys per link type.
"""

from pathlib import Path
from typing import Any

import yaml

from qms.errors import InvalidInput
from traceability.kinds import LinkType
from traceability.services.imports import ItemRow, RowError

ITEM_KEYS = {"key", "kind", "title", "text", "status", "attributes", "clauses"}


def yaml_file_read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput(f"{path}: no such file", code="file_missing", file=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(
            f"{path.name}: not valid YAML{where} ({getattr(exc, 'problem', exc)})", code="file_invalid", file=str(path)
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path.name}: cannot be read ({exc})", code="file_invalid", file=str(path)) from exc


def _optional_text(value: Any, row: int, column: str, source: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RowError(row, column, f"must be text, got {value!r}", source=source)
    return str(value)


def _key_list(value: Any, row: int, column: str, source: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = list(value.replace(",", ";").split(";"))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RowError(row, column, "must be a list of keys", source=source)
    return [v.strip() for v in value if v.strip()]


def item_rows_from_yaml(entries: Any, *, source: str) -> list[ItemRow]:
    if not isinstance(entries, list):
        raise InvalidInput(f"{source}: 'items' must be a list", code="import_invalid")
    rows = []
    allowed = ITEM_KEYS | set(LinkType.values)
    for index, entry in enumerate(entries):
        row_number = index + 1
        if not isinstance(entry, dict):
            raise RowError(row_number, "item", "must be a mapping with key, kind and title", source=source)
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise RowError(row_number, unknown[0], "unknown field", source=source)
        key = _optional_text(entry.get("key"), row_number, "key", source) or ""
        attributes = entry.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise RowError(row_number, "attributes", "must be a mapping", source=source)
        rows.append(
            ItemRow(
                row=row_number,
                key=key.strip(),
                kind=_optional_text(entry.get("kind"), row_number, "kind", source),
                title=_optional_text(entry.get("title"), row_number, "title", source),
                text=_optional_text(entry.get("text"), row_number, "text", source),
                status=_optional_text(entry.get("status"), row_number, "status", source),
                attributes=attributes,
                links={
                    link_type: _key_list(entry[link_type], row_number, link_type, source)
                    for link_type in LinkType.values
                    if link_type in entry
                },
                clauses=_key_list(entry["clauses"], row_number, "clauses", source) if "clauses" in entry else None,
            )
        )
    return rows
