"""The registry of record checks that ``audit_verify`` runs after the chain.

Each app registers the checks of its own records in its ``AppConfig.ready`` (``qms`` checks
signatures; ``traceability`` baselines, approvals, release states, stored reports, deviations),
so the command in ``qms`` runs them without importing a higher app. A check receives what the
chain verification witnessed (the object ids of the events whose actions it asked for) and
yields one ``RecordProblem`` per record that does not hold up.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordProblem:
    record: str  # e.g. "signature #12" or "release BOLUS 1.0.0"
    problem: str

    def __str__(self) -> str:
        return f"{self.record}: {self.problem}"


Witnessed = dict[str, set[str]]  # action → object ids of the events with that action
CheckFunction = Callable[[Witnessed], Iterable[RecordProblem]]


@dataclass(frozen=True)
class RecordCheck:
    name: str
    function: CheckFunction
    witnesses: tuple[str, ...] = field(default=())


_CHECKS: dict[str, RecordCheck] = {}


def record_check(name: str, *, witnesses: tuple[str, ...] = ()) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under ``name``; ``witnesses``: the audit actions whose object ids it needs."""

    def register(function: CheckFunction) -> CheckFunction:
        _CHECKS[name] = RecordCheck(name, function, witnesses)
        return function

    return register


def record_checks() -> list[RecordCheck]:
    return list(_CHECKS.values())


def witnessed_actions() -> set[str]:
    return {action for check in _CHECKS.values() for action in check.witnesses}


def record_checks_run(witnessed: Witnessed) -> Iterator[tuple[str, list[RecordProblem]]]:
    for check in _CHECKS.values():
        yield check.name, list(check.function(witnessed))
