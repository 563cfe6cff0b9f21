"""Finding item keys in free text: test names, docstrings, messages, commit messages.

Keys are found with the product's ``key_pattern`` (``SRS-012``), as whole words: a key is not
preceded or followed by a letter or digit, so ``XSRS-0123`` never yields ``SRS-012``.
"""

import re
from functools import lru_cache

from traceability.models import CommitLinkKind

_SPLIT = re.compile(r"[\s,;]+")
_VERBS = r"implement(?:s|ed)?|fix(?:es|ed)?|close[sd]?|resolve[sd]?"


@lru_cache(maxsize=64)
def key_regex(pattern: str) -> re.Pattern[str]:
    """The product's key pattern as a whole-word search expression."""
    return re.compile(rf"(?<![A-Za-z0-9])(?:{pattern})(?![A-Za-z0-9])")


def keys_in(text: str, pattern: str) -> list[str]:
    """Keys in a text, in order of first appearance, without repeats."""
    if not text:
        return []
    return list(dict.fromkeys(match.group(0) for match in key_regex(pattern).finditer(text)))


def keys_listed(value: str) -> list[str]:
    """Keys of an explicit list (``"SRS-012, SRS-013"``): split on commas, semicolons, white space."""
    return list(dict.fromkeys(part for part in _SPLIT.split(value or "") if part))


@lru_cache(maxsize=64)
def _verb_regex(pattern: str) -> re.Pattern[str]:
    key = rf"(?<![A-Za-z0-9])(?:{pattern})(?![A-Za-z0-9])"
    return re.compile(rf"\b(?P<verb>(?i:{_VERBS}))\b\s*:?\s*(?P<keys>{key}(?:\s*(?:,|and|&)\s*{key})*)")


def commit_message_references(message: str, pattern: str) -> list[tuple[str, str]]:
    """``(key, kind)`` for every key a commit message names.

    ``Implements: SRS-012`` (or "implements SRS-012, SRS-013") → implements; ``Fixes: ANOM-3``
    (also fixes/fixed/closes/resolves) → fixes; any other key → mentions. A key named twice keeps
    the first explicit kind.
    """
    kinds: dict[str, str] = {}
    for match in _verb_regex(pattern).finditer(message or ""):
        verb = match.group("verb").lower()
        kind = CommitLinkKind.IMPLEMENTS if verb.startswith("implement") else CommitLinkKind.FIXES
        for key in keys_in(match.group("keys"), pattern):
            kinds.setdefault(key, kind)
    for key in keys_in(message, pattern):
        kinds.setdefault(key, CommitLinkKind.MENTIONS)
    return list(kinds.items())
