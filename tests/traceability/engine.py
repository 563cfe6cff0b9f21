"""Helpers for the trace-engine tests: evidence rows written straight with the ORM (the
evidence services belong to another part of the product), and a bulk product builder."""

from datetime import UTC, datetime
from typing import Any

from traceability.models import Item, Product, TestResult, TestRun
from traceability.services.imports import ItemRow, items_import


def make_run(
    product: Product,
    results: dict[str, str],
    *,
    version: str = "",
    commit_sha: str = "",
    started_at: datetime | None = None,
    name: str = "ci",
) -> TestRun:
    """A test run with one result per test-case key (status as given)."""
    run = TestRun.objects.create(
        product=product, version=version, commit_sha=commit_sha, started_at=started_at, name=name
    )
    cases = dict(Item.objects.filter(product=product, key__in=list(results)).values_list("key", "id"))
    TestResult.objects.bulk_create(
        [
            TestResult(
                run=run,
                test_case_id=cases[key],
                test_identifier=f"tests/test_{key}.py::test",
                status=status,
                rationale="reviewed" if status in ("passed_with_exception", "failed_accepted") else "",
            )
            for key, status in results.items()
        ]
    )
    return run


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def bulk_requirements(product: Product, count: int, *, actor: Any = None, tested: bool = True) -> None:
    """``count`` SYS → SRS pairs, each SRS verified by a test (when ``tested``)."""
    rows = []
    for index in range(1, count + 1):
        rows.append(ItemRow(row=len(rows) + 1, key=f"SYS-{100 + index}", kind="system_requirement", title=f"S{index}"))
        rows.append(
            ItemRow(
                row=len(rows) + 1,
                key=f"SRS-{100 + index}",
                kind="software_requirement",
                title=f"R{index}",
                links={"derives_from": [f"SYS-{100 + index}"]},
                clauses=[],
            )
        )
        if tested:
            rows.append(
                ItemRow(
                    row=len(rows) + 1,
                    key=f"TC-{100 + index}",
                    kind="test_case",
                    title=f"T{index}",
                    links={"verifies": [f"SRS-{100 + index}"]},
                )
            )
    items_import(product=product, rows=rows, actor=actor)


def _around_the_guard(cursor: Any) -> None:
    """Someone with database rights goes around the baseline's immutability triggers."""
    from django.db import connection

    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
    else:
        cursor.execute("DROP TRIGGER IF EXISTS traceability_baseline_immutable")


def baseline_tamper(old: str, new: str) -> None:
    """Alter every stored baseline's text (so it no longer matches its SHA-256)."""
    from django.db import connection

    with connection.cursor() as cursor:
        _around_the_guard(cursor)
        cursor.execute("UPDATE traceability_baseline SET content = replace(content, %s, %s)", [old, new])


def baseline_remove() -> None:
    """Delete every stored baseline row, leaving the releases frozen."""
    from django.db import connection

    with connection.cursor() as cursor:
        _around_the_guard(cursor)
        cursor.execute("DELETE FROM traceability_baseline")
