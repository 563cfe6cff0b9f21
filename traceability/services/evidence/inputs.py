"""What a test run is made of, validated: the run's binding (version / commit SHA) and its results
from JSON (``POST .../test-runs/``) or manual executions (``POST .../manual-executions/``).

Errors name the entry (``results[3].status: ...``) and nothing is stored.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from qms.errors import InvalidInput
from traceability.kinds import ItemKind
from traceability.models import Item, Product, ResultStatus
from traceability.models.evidence import REVIEWED_STATUSES
from traceability.models.releases import SHA_VALIDATOR, VERSION_VALIDATOR

RESULT_FIELDS = {"test_id", "name", "status", "duration", "message", "output", "requirements", "rationale"}
EXECUTION_FIELDS = {"test_case", "status", "executed_by", "executed_at", "notes", "rationale", "duration"}


@dataclass
class CaseInput:
    """One result to store, whatever its source."""

    identifier: str
    status: str
    title: str = ""
    duration: float | None = None
    message: str = ""
    output: str = ""
    rationale: str = ""
    executed_by: str = ""
    executed_at: datetime | None = None
    requirement_keys: list[str] = field(default_factory=list)  # named explicitly
    texts: list[str] = field(default_factory=list)  # searched with the product's key pattern
    test_case: Item | None = None  # given directly (manual executions)
    where: str = ""  # the entry in the payload, for errors: results[4], executions[0], report.xml testcase 7


@dataclass(frozen=True)
class RunInput:
    version: str = ""
    commit_sha: str = ""
    name: str = ""
    environment: str = ""
    ci_job_url: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None


def run_input_clean(
    *,
    version: str = "",
    commit_sha: str = "",
    name: str = "",
    environment: str = "",
    ci_job_url: str = "",
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> RunInput:
    """Validate what a run is bound to: a version, a commit SHA, or both."""
    version = (version or "").strip()
    commit_sha = (commit_sha or "").strip().lower()
    if not version and not commit_sha:
        raise InvalidInput("a test run needs a version or a commit SHA (or both)", field="version")
    for value, validator, label in ((version, VERSION_VALIDATOR, "version"), (commit_sha, SHA_VALIDATOR, "commit")):
        if value:
            try:
                validator(value)
            except ValidationError as exc:
                raise InvalidInput(f"{label}: {value!r} is not valid ({exc.messages[0]})", field=label) from exc
    if ci_job_url:
        try:
            URLValidator(schemes=["http", "https"])(ci_job_url)
        except ValidationError as exc:
            raise InvalidInput(f"ci_job_url: {ci_job_url!r} is not an http(s) URL", field="ci_job_url") from exc
        if len(ci_job_url) > 500:
            raise InvalidInput("ci_job_url: at most 500 characters", field="ci_job_url")
    for label, text in (("name", name), ("environment", environment)):
        if len(text or "") > 255:
            raise InvalidInput(f"{label}: at most 255 characters", field=label)
    for label, moment in (("started_at", started_at), ("finished_at", finished_at)):
        if moment is not None and timezone.is_naive(moment):
            raise InvalidInput(f"{label}: needs a time zone", field=label)
    return RunInput(
        version=version,
        commit_sha=commit_sha,
        name=(name or "").strip(),
        environment=(environment or "").strip(),
        ci_job_url=ci_job_url or "",
        started_at=started_at,
        finished_at=finished_at,
    )


def _entry_error(where: str, problem: str, field: str) -> InvalidInput:
    return InvalidInput(f"{where}: {problem}", code="entry_invalid", field=field, entry=where)


def _text(entry: dict[str, Any], name: str, where: str, *, required: bool = False, limit: int | None = None) -> str:
    value = entry.get(name)
    if value is None or value == "":
        if required:
            raise _entry_error(f"{where}.{name}", "is required", name)
        return ""
    if not isinstance(value, str):
        raise _entry_error(f"{where}.{name}", f"must be text, got {value!r}", name)
    if limit is not None and len(value) > limit:
        raise _entry_error(f"{where}.{name}", f"at most {limit} characters", name)
    return value


def _duration(entry: dict[str, Any], where: str) -> float | None:
    value = entry.get("duration")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _entry_error(f"{where}.duration", f"must be a number of seconds ≥ 0, got {value!r}", "duration")
    return float(value)


def _status(entry: dict[str, Any], where: str) -> str:
    status = entry.get("status")
    if status not in ResultStatus.values:
        raise _entry_error(
            f"{where}.status", f"unknown status {status!r} (statuses: {', '.join(ResultStatus.values)})", "status"
        )
    return str(status)


def _rationale(entry: dict[str, Any], where: str, status: str) -> str:
    rationale = _text(entry, "rationale", where)
    if status in REVIEWED_STATUSES and not rationale.strip():
        raise _entry_error(f"{where}.rationale", f"status {status} needs a rationale", "rationale")
    return rationale


def moment_parse(value: Any, where: str) -> datetime:
    """An ISO 8601 date-time with a time zone, or a date (midnight UTC)."""
    if isinstance(value, datetime):
        moment: datetime | None = value
    elif isinstance(value, str):
        try:
            day: date | None = parse_date(value) if len(value.strip()) == 10 else None
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else parse_datetime(value)
        except ValueError:  # well formed but impossible, e.g. 2026-02-30
            moment = None
    else:
        moment = None
    if moment is None:
        raise _entry_error(where, f"must be an ISO 8601 date or date-time, got {value!r}", where.rsplit(".", 1)[-1])
    if timezone.is_naive(moment):
        raise _entry_error(where, f"{value!r} needs a time zone (e.g. 2026-03-03T12:00:00Z)", where.rsplit(".", 1)[-1])
    return moment.astimezone(UTC)


def _entries(raw: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(f"{name}: must be a non-empty list", field=name)
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise _entry_error(f"{name}[{index}]", "must be an object", name)
    return raw


def result_inputs_parse(raw: Any) -> list[CaseInput]:
    """``results`` of ``POST .../test-runs/``: ``test_id``, ``status`` and optional fields."""
    cases = []
    for index, entry in enumerate(_entries(raw, "results")):
        where = f"results[{index}]"
        unknown = sorted(set(entry) - RESULT_FIELDS)
        if unknown:
            raise _entry_error(where, f"unknown field '{unknown[0]}' (fields: {', '.join(sorted(RESULT_FIELDS))})", "")
        test_id = _text(entry, "test_id", where, required=True, limit=500)
        requirements = entry.get("requirements", [])
        if not isinstance(requirements, list) or not all(isinstance(key, str) for key in requirements):
            raise _entry_error(f"{where}.requirements", "must be a list of item keys", "requirements")
        name = _text(entry, "name", where, limit=500)
        message = _text(entry, "message", where)
        status = _status(entry, where)
        cases.append(
            CaseInput(
                identifier=test_id,
                title=name,
                status=status,
                duration=_duration(entry, where),
                message=message,
                output=_text(entry, "output", where),
                rationale=_rationale(entry, where, status),
                requirement_keys=list(dict.fromkeys(key.strip() for key in requirements if key.strip())),
                texts=[test_id, name, message],
                where=where,
            )
        )
    return cases


def manual_inputs_parse(raw: Any, *, product: Product, default_tester: str) -> list[CaseInput]:
    """``executions`` of ``POST .../manual-executions/``: a test case key, status, tester, date, notes."""
    entries = _entries(raw, "executions")
    keys = {entry.get("test_case") for entry in entries if isinstance(entry.get("test_case"), str)}
    items = {item.key: item for item in Item.objects.filter(product=product, key__in=keys)}
    cases = []
    for index, entry in enumerate(entries):
        where = f"executions[{index}]"
        unknown = sorted(set(entry) - EXECUTION_FIELDS)
        if unknown:
            raise _entry_error(
                where, f"unknown field '{unknown[0]}' (fields: {', '.join(sorted(EXECUTION_FIELDS))})", ""
            )
        key = _text(entry, "test_case", where, required=True)
        item = items.get(key)
        if item is None:
            raise _entry_error(f"{where}.test_case", f"{product.key} has no item {key!r}", "test_case")
        if item.kind != ItemKind.TEST_CASE:
            raise _entry_error(f"{where}.test_case", f"{key} is a {item.kind}, not a test_case", "test_case")
        if "executed_at" not in entry:
            raise _entry_error(f"{where}.executed_at", "is required (when the test was executed)", "executed_at")
        status = _status(entry, where)
        cases.append(
            CaseInput(
                identifier=str(item.attributes.get("test_id") or item.key),
                status=status,
                duration=_duration(entry, where),
                message=_text(entry, "notes", where),
                rationale=_rationale(entry, where, status),
                executed_by=_text(entry, "executed_by", where, limit=255) or default_tester,
                executed_at=moment_parse(entry["executed_at"], f"{where}.executed_at"),
                test_case=item,
                where=where,
            )
        )
    return cases
