"""Untrusted text the databases cannot store, refused where it enters, naming the field.

PostgreSQL refuses the NUL character in ``text`` and ``jsonb`` (SQLite stores it silently), and a
lone UTF-16 surrogate (``"\\ud800"`` in JSON, ``_xD800_`` in a spreadsheet cell) cannot be
encoded as UTF-8 for either. Without a check, both turn into a 500 half-way through a service, or
on SQLite into a record that PostgreSQL could never hold. The entry points use these checks:
``qms.middleware`` (URL path, query string, headers, page form fields), ``qms.api.parsers`` (API
bodies), ``json_loads`` (webhook bodies), ``qms.forms.JSONField`` (admin JSON fields) and the
spreadsheet reader (cells).

JSON is also bounded in depth: a body of 100,000 ``[`` is a ``RecursionError`` in the decoder and
in everything that walks the value afterwards.
"""

import json
import re
from typing import Any

from qms.errors import InvalidInput

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
JSON_MAX_DEPTH = 64


def text_problem(value: str) -> str | None:
    """Why the database could not store ``value``, or None."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains a NUL character (U+0000), which cannot be stored"
    return f"contains a lone surrogate (U+{ord(char):04X}), which is not text"


class TextInvalid(InvalidInput):
    code = "text_invalid"


def text_check(value: str, *, field: str, where: str | None = None) -> None:
    """Raise ``TextInvalid`` naming ``where`` (default: the field) if ``value`` cannot be stored."""
    problem = text_problem(value)
    if problem is not None:
        raise TextInvalid(f"{where or field}: {problem}", field=field)


def json_too_deep(source: str) -> InvalidInput:
    return InvalidInput(f"{source}: nested too deeply to be read", code="json_invalid")


def _unstorable(value: str) -> bool:
    # str.isascii() is a flag lookup: an ASCII string can only hold a NUL, found by memchr
    return "\x00" in value if value.isascii() else UNSTORABLE.search(value) is not None


def _needs_naming(data: Any) -> bool:
    """The fast pass: does ``data`` hold unstorable text or nest too deeply? No paths built."""
    if isinstance(data, str):
        return _unstorable(data)
    stack: list[tuple[Any, int]] = [(data, 0)] if isinstance(data, (dict, list)) else []
    while stack:
        value, depth = stack.pop()
        if depth >= JSON_MAX_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict) and any(_unstorable(key) for key in value if isinstance(key, str)):
            return True
        for child in children:
            if isinstance(child, str):
                if _unstorable(child):
                    return True
            elif isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def data_check(data: Any, *, source: str = "request body") -> None:
    """Refuse a decoded JSON value holding unstorable text (in a value or a key) or nested deeper
    than JSON_MAX_DEPTH, naming the first such field (``results[3].test_id``; ``source`` for the
    value itself). Iterative: it never recurses, whatever the depth. A fast pass decides; only a
    refused value is walked again to name the field."""
    if not _needs_naming(data):
        return
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem is not None:
                raise TextInvalid(f"{path or source}: {problem}", field=path)
        elif isinstance(value, (dict, list)):
            if depth >= JSON_MAX_DEPTH:
                raise InvalidInput(
                    f"{path or source}: nested more than {JSON_MAX_DEPTH} levels deep", code="json_invalid", field=path
                )
            children: list[tuple[str, Any, int]] = []
            if isinstance(value, dict):
                for key, child in value.items():
                    problem = text_problem(key) if isinstance(key, str) else None
                    if problem is not None:
                        raise TextInvalid(f"{path or source}: a key {problem}", field=path)
                    children.append((f"{path}.{key}" if path else str(key), child, depth + 1))
            else:
                children = [(f"{path}[{index}]", child, depth + 1) for index, child in enumerate(value)]
            stack.extend(reversed(children))  # document order: the first bad field is the one named


def json_loads(raw: bytes | str, *, source: str) -> Any:
    """``json.loads`` for untrusted bodies. Not JSON is the caller's ``ValueError`` to word; deep
    nesting and unstorable text are ``InvalidInput`` naming ``source`` and the field."""
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise json_too_deep(source) from exc
    data_check(data, source=source)
    return data
