"""Item kinds, link types, the allowed (source kind, link type, target kind) rules and the
attributes each kind carries.

The slugs here are the public vocabulary of the API, the command line and the spreadsheet
import (docs/traceability.md); they never change meaning.
"""

from dataclasses import dataclass
from typing import Any

from django.db import models


class ItemKind(models.TextChoices):
    USER_NEED = "user_need", "User need"
    SYSTEM_REQUIREMENT = "system_requirement", "System requirement"
    SOFTWARE_REQUIREMENT = "software_requirement", "Software requirement"
    SOFTWARE_ITEM = "software_item", "Software item"
    SOUP = "soup", "SOUP item"
    RISK = "risk", "Risk record"
    RISK_CONTROL = "risk_control", "Risk control measure"
    TEST_CASE = "test_case", "Test case"
    ANOMALY = "anomaly", "Anomaly"
    CHANGE_REQUEST = "change_request", "Change request"
    DOCUMENT = "document", "Document"


class ItemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    OBSOLETE = "obsolete", "Obsolete"


class LinkType(models.TextChoices):
    """Links point from the dependent item to the item it depends on (child → parent)."""

    DERIVES_FROM = "derives_from", "derives from"
    IMPLEMENTS = "implements", "implements"
    PART_OF = "part_of", "is part of"
    USES = "uses", "uses"
    CONTRIBUTES_TO = "contributes_to", "contributes to"
    MITIGATES = "mitigates", "mitigates"
    VERIFIES = "verifies", "verifies"
    VALIDATES = "validates", "validates"
    AFFECTS = "affects", "affects"
    RESOLVES = "resolves", "resolves"


REVERSE_LINK_NAMES: dict[str, str] = {
    LinkType.DERIVES_FROM: "derived into",
    LinkType.IMPLEMENTS: "implemented by",
    LinkType.PART_OF: "contains",
    LinkType.USES: "used by",
    LinkType.CONTRIBUTES_TO: "contributed to by",
    LinkType.MITIGATES: "mitigated by",
    LinkType.VERIFIES: "verified by",
    LinkType.VALIDATES: "validated by",
    LinkType.AFFECTS: "affected by",
    LinkType.RESOLVES: "resolved by",
}

# Link types that form a hierarchy: the database holds no cycle of these.
HIERARCHY_LINK_TYPES = frozenset({LinkType.DERIVES_FROM, LinkType.PART_OF})

K = ItemKind
_AFFECTABLE = (
    K.USER_NEED,
    K.SYSTEM_REQUIREMENT,
    K.SOFTWARE_REQUIREMENT,
    K.SOFTWARE_ITEM,
    K.SOUP,
    K.RISK,
    K.RISK_CONTROL,
    K.TEST_CASE,
)

LINK_RULES: dict[str, dict[str, tuple[str, ...]]] = {
    LinkType.DERIVES_FROM: {
        K.SYSTEM_REQUIREMENT: (K.USER_NEED, K.SYSTEM_REQUIREMENT),
        K.SOFTWARE_REQUIREMENT: (K.SYSTEM_REQUIREMENT, K.SOFTWARE_REQUIREMENT),
    },
    LinkType.IMPLEMENTS: {
        K.SOFTWARE_REQUIREMENT: (K.RISK_CONTROL,),
        K.SOFTWARE_ITEM: (K.SOFTWARE_REQUIREMENT, K.SYSTEM_REQUIREMENT),
    },
    LinkType.PART_OF: {K.SOFTWARE_ITEM: (K.SOFTWARE_ITEM,)},
    LinkType.USES: {K.SOFTWARE_ITEM: (K.SOUP,)},
    LinkType.CONTRIBUTES_TO: {K.SOFTWARE_ITEM: (K.RISK,), K.SOUP: (K.RISK,)},
    LinkType.MITIGATES: {K.RISK_CONTROL: (K.RISK,)},
    LinkType.VERIFIES: {
        K.TEST_CASE: (K.SOFTWARE_REQUIREMENT, K.SYSTEM_REQUIREMENT, K.RISK_CONTROL, K.SOFTWARE_ITEM),
    },
    LinkType.VALIDATES: {K.TEST_CASE: (K.USER_NEED,)},
    LinkType.AFFECTS: {K.ANOMALY: _AFFECTABLE, K.CHANGE_REQUEST: _AFFECTABLE},
    LinkType.RESOLVES: {K.CHANGE_REQUEST: (K.ANOMALY,)},
}


def link_allowed(source_kind: str, link_type: str, target_kind: str) -> bool:
    return target_kind in LINK_RULES.get(link_type, {}).get(source_kind, ())


def link_rule_text(link_type: str) -> str:
    """Human description of what a link type may connect, for error messages."""
    rules = LINK_RULES.get(link_type, {})
    return "; ".join(f"{source} → {' | '.join(targets)}" for source, targets in rules.items())


def allowed_link_triples() -> list[tuple[str, str, str]]:
    return [
        (str(source), str(link_type), str(target))
        for link_type, by_source in LINK_RULES.items()
        for source, targets in by_source.items()
        for target in targets
    ]


# --- attributes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attr:
    name: str
    type: type = str
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    help: str = ""


REQUIREMENT_CATEGORIES = (
    "functional",
    "performance",
    "interface",
    "alarm",
    "security",
    "usability",
    "data",
    "installation",
    "operation",
    "maintenance",
    "regulatory",
)
CONTROL_TYPES = ("inherent_safety", "protective_measure", "information_for_safety")
TEST_LEVELS = ("unit", "integration", "system", "acceptance", "manual")
RISK_LEVELS = ("low", "medium", "high")
ANOMALY_STATES = ("open", "resolved", "deferred")
SIGNIFICANCE = ("significant", "not_significant")

_DERIVED = Attr("derived_rationale", help="Why this requirement has no parent (a derived requirement)")
_VERIFICATION_NA = Attr("verification_rationale", help="Why no test is needed; the matrix then shows 'not applicable'")

ATTRIBUTES: dict[str, tuple[Attr, ...]] = {
    K.USER_NEED: (Attr("user_group"),),
    K.SYSTEM_REQUIREMENT: (_DERIVED, _VERIFICATION_NA),
    K.SOFTWARE_REQUIREMENT: (Attr("category", choices=REQUIREMENT_CATEGORIES), _DERIVED, _VERIFICATION_NA),
    K.SOFTWARE_ITEM: (Attr("safety_class", choices=("A", "B", "C")),),
    K.SOUP: (
        Attr("version"),
        Attr("supplier"),
        Attr("licence"),
        Attr("risk_level", choices=RISK_LEVELS),
        Attr("website"),
        Attr("language"),
    ),
    K.RISK: (
        Attr("hazard", required=True),
        Attr("sequence_of_events"),
        Attr("hazardous_situation", required=True),
        Attr("harm", required=True),
        Attr("severity", int, required=True, minimum=1),
        Attr("probability", int, required=True, minimum=1),
        Attr("residual_severity", int, minimum=1),
        Attr("residual_probability", int, minimum=1),
    ),
    K.RISK_CONTROL: (Attr("control_type", required=True, choices=CONTROL_TYPES), _VERIFICATION_NA),
    K.TEST_CASE: (
        Attr("test_id", help="Stable identifier matched against CI results (pytest node id, classname.name)"),
        Attr("level", choices=TEST_LEVELS),
        Attr("steps"),
        Attr("expected"),
        Attr(
            "unlinked",
            bool,
            help="Created automatically for a CI result whose test id matched no test case; a curator clears it",
        ),
    ),
    K.ANOMALY: (
        Attr("state", choices=ANOMALY_STATES),
        Attr("found_in"),
        Attr("evaluation", help="Evaluation of the anomaly's effect on safety (IEC 62304 5.8.3, 9.2)"),
        Attr("proposed_correction"),
        Attr("justification_for_delay"),
    ),
    K.CHANGE_REQUEST: (Attr("rationale"), Attr("significance", choices=SIGNIFICANCE)),
    K.DOCUMENT: (Attr("document_id"), Attr("version"), Attr("url")),
}


_BOOL_TEXT = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def attributes_validate(kind: str, attributes: Any) -> dict[str, Any]:
    """Return the cleaned attributes of an item of this kind, or raise ValueError naming the problem.

    Empty strings are dropped; integers given as digit strings (spreadsheets) are converted; a
    true/false attribute accepts true/false/yes/no/1/0 and is dropped when false.
    """
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise ValueError("attributes must be an object")
    spec = {attr.name: attr for attr in ATTRIBUTES.get(kind, ())}
    cleaned: dict[str, Any] = {}
    for name, value in attributes.items():
        attr = spec.get(name)
        if attr is None:
            allowed = ", ".join(spec) or "none"
            raise ValueError(f"unknown attribute '{name}' for {kind} (allowed: {allowed})")
        if value is None or value == "":
            continue
        if attr.type is bool:
            if isinstance(value, str) and value.strip().lower() in _BOOL_TEXT:
                value = _BOOL_TEXT[value.strip().lower()]
            if not isinstance(value, bool):
                raise ValueError(f"attribute '{name}' must be true or false, got {value!r}")
            if not value:
                continue  # false is the same as absent
        elif attr.type is int:
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value.strip())
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"attribute '{name}' must be a whole number, got {value!r}")
            if attr.minimum is not None and value < attr.minimum:
                raise ValueError(f"attribute '{name}' must be at least {attr.minimum}")
            if attr.maximum is not None and value > attr.maximum:
                raise ValueError(f"attribute '{name}' must be at most {attr.maximum}")
        else:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ValueError(f"attribute '{name}' must be text, got {value!r}")
            value = str(value).strip()
            if not value:
                continue
            if attr.choices and value not in attr.choices:
                raise ValueError(f"attribute '{name}' must be one of {', '.join(attr.choices)}; got {value!r}")
        cleaned[name] = value
    missing = [attr.name for attr in spec.values() if attr.required and attr.name not in cleaned]
    if missing:
        raise ValueError(f"attribute '{missing[0]}' is required for {kind}")
    return cleaned
