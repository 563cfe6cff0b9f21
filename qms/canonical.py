"""Canonical JSON: one byte string per value, so hashes and exports are reproducible."""

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Serialise with sorted keys, no insignificant white space, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_of(value: Any) -> str:
    return sha256_hex(canonical_json(value))


def json_normalized(value: Any) -> Any:
    """The value as a JSON column gives it back on every database we run on.

    PostgreSQL's ``jsonb`` keeps numbers as ``numeric``: a float written in exponent form that is
    a whole number (``1e+16``) comes back as the integer 10000000000000000, and ``-0.0`` as 0.0.
    Audit events are hashed as written and verified as read, so what they hold is normalised to
    that form first (the same number, the same on SQLite)."""
    if isinstance(value, float):
        if value == 0.0:
            return 0.0
        if value.is_integer() and "e" in repr(value):
            return int(value)
        return value
    if isinstance(value, dict):
        return {key: json_normalized(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_normalized(item) for item in value]
    return value
