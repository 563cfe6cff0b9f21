"""The risk trace (IEC 62304 7.3.3): hazard → hazardous situation → harm → risk control →
verification, with initial and residual risk judged by the product's risk matrix.

Risk status, in order of precedence:

``not_controlled``
    no risk control although the initial risk is not acceptable;
``residual_unacceptable``
    the residual risk (residual values, defaulting to the initial ones) is not acceptable;
``control_not_verified``
    a risk control is not verified for this release (see ``Verifier``);
``controlled``
    every risk control is verified (or not applicable with a justification);
``acceptable``
    no risk control and the initial risk is acceptable.

A value outside the matrix, or missing, counts as not acceptable.
"""

from dataclasses import dataclass
from typing import Any

from traceability.graph.model import TraceGraph, TraceItem, level_name, risk_acceptable, without_gc
from traceability.graph.verification import NOT_APPLICABLE, VERIFIED, TestCell, Verifier
from traceability.kinds import ItemKind, LinkType

RISK_NOT_CONTROLLED = "not_controlled"
RISK_RESIDUAL_UNACCEPTABLE = "residual_unacceptable"
RISK_CONTROL_NOT_VERIFIED = "control_not_verified"
RISK_CONTROLLED = "controlled"
RISK_ACCEPTABLE = "acceptable"
RISK_STATUSES = (
    RISK_NOT_CONTROLLED,
    RISK_RESIDUAL_UNACCEPTABLE,
    RISK_CONTROL_NOT_VERIFIED,
    RISK_CONTROLLED,
    RISK_ACCEPTABLE,
)


@dataclass(slots=True)
class ControlTrace:
    key: str
    title: str
    item_status: str
    control_type: str
    implemented_by: list[str]  # software requirements implementing the control
    tests: list[TestCell]  # tests verifying the control itself
    status: str  # a row status: verified, not_verified, failed, suspect, not_applicable
    reason: str
    justification: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "item_status": self.item_status,
            "control_type": self.control_type,
            "implemented_by": self.implemented_by,
            "tests": [test.as_dict() for test in self.tests],
            "status": self.status,
            "reason": self.reason,
            "justification": self.justification,
        }


@dataclass(slots=True)
class RiskLevel:
    severity: int | None
    probability: int | None
    severity_name: str
    probability_name: str
    acceptable: bool | None  # None: value missing or outside the matrix

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "probability": self.probability,
            "severity_name": self.severity_name,
            "probability_name": self.probability_name,
            "acceptable": self.acceptable,
        }


@dataclass(slots=True)
class RiskRow:
    key: str
    title: str
    item_status: str
    hazard: str
    sequence_of_events: str
    hazardous_situation: str
    harm: str
    software_items: list[str]  # software items and SOUP contributing to the hazardous situation
    initial: RiskLevel
    residual: RiskLevel
    controls: list[ControlTrace]
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "item_status": self.item_status,
            "hazard": self.hazard,
            "sequence_of_events": self.sequence_of_events,
            "hazardous_situation": self.hazardous_situation,
            "harm": self.harm,
            "software_items": self.software_items,
            "initial": self.initial.as_dict(),
            "residual": self.residual.as_dict(),
            "controls": [control.as_dict() for control in self.controls],
            "status": self.status,
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def risk_levels(matrix: dict[str, Any], risk: TraceItem) -> tuple[RiskLevel, RiskLevel]:
    """Initial and residual risk of a risk record (residual values default to the initial ones)."""
    severity, probability = _int(risk.attributes.get("severity")), _int(risk.attributes.get("probability"))
    residual_severity = _int(risk.attributes.get("residual_severity")) or severity
    residual_probability = _int(risk.attributes.get("residual_probability")) or probability

    def level(sev: int | None, prob: int | None) -> RiskLevel:
        return RiskLevel(
            severity=sev,
            probability=prob,
            severity_name=level_name(matrix, "severities", sev),
            probability_name=level_name(matrix, "probabilities", prob),
            acceptable=risk_acceptable(matrix, sev, prob),
        )

    return level(severity, probability), level(residual_severity, residual_probability)


@without_gc
def risk_trace_rows(graph: TraceGraph, *, verifier: Verifier | None = None) -> list[RiskRow]:
    """One row per non-obsolete risk record, in natural key order."""
    verifier = verifier or Verifier(graph)
    matrix = graph.product.risk_matrix
    items = graph.items
    rows = []
    for risk in graph.of_kind(ItemKind.RISK):
        initial, residual = risk_levels(matrix, risk)
        controls = []
        for key in graph.ordered(graph.sources(risk.key, LinkType.MITIGATES)):
            control = items[key]
            verification = verifier.of(key)
            controls.append(
                ControlTrace(
                    key=key,
                    title=control.title,
                    item_status=control.status,
                    control_type=str(control.attr("control_type") or ""),
                    implemented_by=graph.ordered(
                        k for k in graph.sources(key, LinkType.IMPLEMENTS) if items[k].kind != ItemKind.SOFTWARE_ITEM
                    ),
                    tests=verification.tests,
                    status=verification.status,
                    reason=verification.reason,
                    justification=verification.justification,
                )
            )
        if not controls:
            status = RISK_ACCEPTABLE if initial.acceptable else RISK_NOT_CONTROLLED
        elif not residual.acceptable:
            status = RISK_RESIDUAL_UNACCEPTABLE
        elif any(control.status not in (VERIFIED, NOT_APPLICABLE) for control in controls):
            status = RISK_CONTROL_NOT_VERIFIED
        else:
            status = RISK_CONTROLLED
        rows.append(
            RiskRow(
                key=risk.key,
                title=risk.title,
                item_status=risk.status,
                hazard=str(risk.attr("hazard") or ""),
                sequence_of_events=str(risk.attr("sequence_of_events") or ""),
                hazardous_situation=str(risk.attr("hazardous_situation") or ""),
                harm=str(risk.attr("harm") or ""),
                software_items=graph.ordered(graph.sources(risk.key, LinkType.CONTRIBUTES_TO)),
                initial=initial,
                residual=residual,
                controls=controls,
                status=status,
            )
        )
    return rows
