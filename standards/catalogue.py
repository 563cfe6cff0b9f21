"""Read and validate the standards catalogue files (``fixtures/standards/*.yaml``).

Pure parsing: nothing touches the database here, so a malformed file is reported (naming the
file and the entry) before anything is written. The format is documented in docs/standards.md.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qms.errors import InvalidInput
from qms.inputs import text_problem
from standards.models import MappingKind, SafetyClass, StandardKind

MAPPINGS_FILE = "mappings.yaml"
STANDARD_KEYS = {"slug", "code", "edition", "title", "kind", "uses_safety_classes", "notes", "clauses"}
CLAUSE_KEYS = {"number", "title", "classes", "notes", "children"}
MAPPING_KEYS = {"from", "kind", "to", "notes"}


class CatalogueError(InvalidInput):
    code = "catalogue_invalid"

    def __init__(self, path: Path, entry: str, problem: str) -> None:
        super().__init__(f"{path.name}: {entry}: {problem}", file=str(path), entry=entry)


@dataclass(frozen=True)
class ClauseRow:
    number: str
    title: str
    parent_number: str | None
    position: int
    depth: int
    is_heading: bool
    classes: frozenset[str]
    notes: str


@dataclass(frozen=True)
class StandardSpec:
    slug: str
    code: str
    edition: str
    title: str
    kind: str
    uses_safety_classes: bool
    notes: str
    clauses: tuple[ClauseRow, ...]
    source_file: str


@dataclass(frozen=True)
class MappingSpec:
    source: tuple[str, str]
    kind: str
    targets: tuple[tuple[str, str], ...]
    notes: str


@dataclass(frozen=True)
class Catalogue:
    standards: tuple[StandardSpec, ...]
    mappings: tuple[MappingSpec, ...]


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise CatalogueError(path, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(path, "file", f"cannot be read ({exc})") from exc


def _text(path: Path, entry: str, data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise CatalogueError(path, entry, f"'{key}' is required")
        return ""
    if not isinstance(value, str):
        raise CatalogueError(path, entry, f"'{key}' must be a string (quote it), got {value!r}")
    problem = text_problem(value)
    if problem is not None:  # "\0" or "\uD800" in a double-quoted YAML string
        raise CatalogueError(path, entry, f"'{key}' {problem}")
    value = value.strip()
    if required and not value:
        raise CatalogueError(path, entry, f"'{key}' must not be empty")
    return value


def _unknown_keys(path: Path, entry: str, data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise CatalogueError(path, entry, f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")


def _walk_clauses(
    path: Path,
    nodes: Any,
    *,
    uses_classes: bool,
    parent: str | None,
    depth: int,
    counter: Iterator[int],
    seen: set[str],
) -> tuple[list[ClauseRow], frozenset[str]]:
    """Flatten a clause tree; returns the rows and the union of the classes of these nodes."""
    if not isinstance(nodes, list):
        raise CatalogueError(path, f"children of {parent or 'the standard'}", "must be a list of clauses")
    rows: list[ClauseRow] = []
    union: set[str] = set()
    for index, node in enumerate(nodes):
        entry = f"clause #{index + 1} under {parent}" if parent else f"clause #{index + 1}"
        if not isinstance(node, dict):
            raise CatalogueError(path, entry, "must be a mapping with 'number' and 'title'")
        number = _text(path, entry, node, "number")
        entry = f"clause {number}"
        _unknown_keys(path, entry, node, CLAUSE_KEYS)
        if number in seen:
            raise CatalogueError(path, entry, "number appears twice")
        seen.add(number)
        title = _text(path, entry, node, "title")
        if len(title) > 255:
            raise CatalogueError(path, entry, "title is longer than 255 characters (short titles only)")
        notes = _text(path, entry, node, "notes", required=False)
        position = next(counter)
        children = node.get("children")
        child_rows: list[ClauseRow] = []
        child_classes: frozenset[str] = frozenset()
        if children is not None:
            child_rows, child_classes = _walk_clauses(
                path, children, uses_classes=uses_classes, parent=number, depth=depth + 1, counter=counter, seen=seen
            )
            if not child_rows:
                raise CatalogueError(path, entry, "'children' is empty")
        raw_classes = node.get("classes")
        if raw_classes is None:
            if uses_classes and not child_rows:
                raise CatalogueError(path, entry, "'classes' is required on every clause without sub-clauses")
            classes = child_classes if uses_classes else frozenset(SafetyClass.values)
        else:
            if not uses_classes:
                raise CatalogueError(path, entry, "'classes' is only allowed when uses_safety_classes is true")
            if not isinstance(raw_classes, list) or any(c not in SafetyClass.values for c in raw_classes):
                raise CatalogueError(path, entry, f"'classes' must be a list of A, B, C; got {raw_classes!r}")
            classes = frozenset(raw_classes)
        rows.append(
            ClauseRow(
                number=number,
                title=title,
                parent_number=parent,
                position=position,
                depth=depth,
                is_heading=bool(child_rows),
                classes=classes,
                notes=notes,
            )
        )
        rows.extend(child_rows)
        union |= classes
    return rows, frozenset(union)


def standard_read(path: Path) -> StandardSpec:
    data = _load_yaml(path)
    if not isinstance(data, dict):
        raise CatalogueError(path, "file", "must be a mapping with slug, code, edition, title and clauses")
    _unknown_keys(path, "standard", data, STANDARD_KEYS)
    slug = _text(path, "standard", data, "slug")
    kind = _text(path, slug, data, "kind", required=False) or StandardKind.STANDARD
    if kind not in StandardKind.values:
        raise CatalogueError(path, slug, f"'kind' must be one of {', '.join(StandardKind.values)}")
    uses_classes = data.get("uses_safety_classes", False)
    if not isinstance(uses_classes, bool):
        raise CatalogueError(path, slug, "'uses_safety_classes' must be true or false")
    counter = iter(range(1, 1_000_000))
    rows, _ = _walk_clauses(
        path, data.get("clauses"), uses_classes=uses_classes, parent=None, depth=0, counter=counter, seen=set()
    )
    if not rows:
        raise CatalogueError(path, slug, "a standard needs at least one clause")
    return StandardSpec(
        slug=slug,
        code=_text(path, slug, data, "code"),
        edition=_text(path, slug, data, "edition"),
        title=_text(path, slug, data, "title"),
        kind=kind,
        uses_safety_classes=uses_classes,
        notes=_text(path, slug, data, "notes", required=False),
        clauses=tuple(rows),
        source_file=path.name,
    )


def _clause_ref(path: Path, entry: str, value: Any, numbers: dict[str, set[str]]) -> tuple[str, str]:
    if not isinstance(value, str) or ":" not in value:
        raise CatalogueError(path, entry, f"clause reference must be 'standard-slug:number', got {value!r}")
    slug, number = (part.strip() for part in value.split(":", 1))
    if slug not in numbers:
        raise CatalogueError(path, entry, f"unknown standard '{slug}'")
    if number not in numbers[slug]:
        raise CatalogueError(path, entry, f"standard '{slug}' has no clause '{number}'")
    return slug, number


def mappings_read(path: Path, numbers: dict[str, set[str]]) -> list[MappingSpec]:
    data = _load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("mappings"), list):
        raise CatalogueError(path, "file", "must be a mapping with a 'mappings' list")
    specs = []
    seen: set[tuple[tuple[str, str], tuple[str, str], str]] = set()
    for index, raw in enumerate(data["mappings"]):
        entry = f"mapping #{index + 1}"
        if not isinstance(raw, dict):
            raise CatalogueError(path, entry, "must be a mapping with from, kind and to")
        _unknown_keys(path, entry, raw, MAPPING_KEYS)
        source = _clause_ref(path, entry, raw.get("from"), numbers)
        entry = f"mapping #{index + 1} ({source[0]}:{source[1]})"
        kind = _text(path, entry, raw, "kind")
        if kind not in MappingKind.values:
            raise CatalogueError(path, entry, f"'kind' must be one of {', '.join(MappingKind.values)}")
        targets_raw = raw.get("to")
        if not isinstance(targets_raw, list) or not targets_raw:
            raise CatalogueError(path, entry, "'to' must be a non-empty list of clause references")
        targets = tuple(_clause_ref(path, entry, target, numbers) for target in targets_raw)
        for target in targets:
            if target == source:
                raise CatalogueError(path, entry, "a clause cannot map to itself")
            if (source, target, kind) in seen:
                raise CatalogueError(path, entry, f"duplicate mapping to {target[0]}:{target[1]}")
            seen.add((source, target, kind))
        specs.append(
            MappingSpec(
                source=source, kind=kind, targets=targets, notes=_text(path, entry, raw, "notes", required=False)
            )
        )
    return specs


def catalogue_read(directory: Path) -> Catalogue:
    if not directory.is_dir():
        raise InvalidInput(f"catalogue directory {directory} does not exist", code="catalogue_invalid")
    files = sorted(p for p in directory.glob("*.yaml") if p.name != MAPPINGS_FILE)
    if not files:
        raise InvalidInput(f"no catalogue files (*.yaml) in {directory}", code="catalogue_invalid")
    standards: list[StandardSpec] = []
    by_slug: dict[str, StandardSpec] = {}
    for path in files:
        spec = standard_read(path)
        other = by_slug.get(spec.slug)
        if other is not None:
            raise CatalogueError(path, spec.slug, f"slug is also used by {other.source_file}")
        by_slug[spec.slug] = spec
        standards.append(spec)
    mappings: list[MappingSpec] = []
    mappings_path = directory / MAPPINGS_FILE
    if mappings_path.exists():
        numbers = {spec.slug: {row.number for row in spec.clauses} for spec in standards}
        mappings = mappings_read(mappings_path, numbers)
    return Catalogue(standards=tuple(standards), mappings=tuple(mappings))
