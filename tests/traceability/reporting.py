"""Helpers for the report tests: a small release built with the services (items, links, clause
evidence, a test run, freeze, approval), and reading PDFs back with pypdf."""

import io
import re
from typing import Any

from django.contrib.auth.models import User
from pypdf import PdfReader

from standards.models import Clause
from traceability.models import Item, Product, Release, TestResult, TestRun
from traceability.reports.content import ReportContent
from traceability.reports.pdf import report_pdf
from traceability.reports.selectors import report_content_for_release
from traceability.services.items import clause_link_create, item_create
from traceability.services.links import link_create
from traceability.services.products import product_create
from traceability.services.releases import release_approve, release_freeze

PASSWORD = "quinn-pw"  # the qm fixture's password (tests/conftest.py)


def report_product(qm: User, *, standards: tuple[str, ...] = ("iec-62304-2015",), name: str = "Report Pump") -> Product:
    return product_create(
        key="RPT", name=name, safety_class="B", standards=list(standards), actor=qm, key_pattern=r"[A-Z]+-\d+"
    )


def add_item(product: Product, qm: User, key: str, kind: str, **fields: Any) -> Item:
    fields.setdefault("title", f"{key} title")
    fields.setdefault("status", "approved")
    return item_create(product=product, key=key, kind=kind, actor=qm, **fields)


def report_items(product: Product, qm: User, *, srs_text: str = "The dose shall be rounded down.") -> dict[str, Item]:
    """A release without error-level gaps (class B): UN-1 ← SYS-1 ← SRS-1, SRS-2; SWI-1 implements
    both and uses SOUP-1; RISK-1 mitigated by RC-1, implemented by SRS-1; TC-1, TC-2 verify;
    ANOM-1 (evaluated) affects SRS-2; SRS-1 is evidence for IEC 62304 5.2.1."""
    risk = {
        "hazard": "Overdose",
        "hazardous_situation": "Too much insulin given",
        "harm": "Hypoglycaemia",
        "severity": 4,
        "probability": 3,
        "residual_severity": 4,
        "residual_probability": 1,
    }
    items = {
        "UN-1": add_item(product, qm, "UN-1", "user_need", title="Dose safely"),
        "SYS-1": add_item(product, qm, "SYS-1", "system_requirement", title="Safe dose"),
        "SRS-1": add_item(product, qm, "SRS-1", "software_requirement", title="Round down", text=srs_text),
        "SRS-2": add_item(product, qm, "SRS-2", "software_requirement", title="Show the dose"),
        "SWI-1": add_item(
            product, qm, "SWI-1", "software_item", title="Dose engine", text="Design.", attributes={"safety_class": "B"}
        ),
        "SOUP-1": add_item(
            product, qm, "SOUP-1", "soup", title="libdecimal", attributes={"version": "2.1", "supplier": "Decimal Org"}
        ),
        "RISK-1": add_item(product, qm, "RISK-1", "risk", title="Overdose risk", attributes=risk),
        "RC-1": add_item(
            product, qm, "RC-1", "risk_control", title="Cap", attributes={"control_type": "protective_measure"}
        ),
        "TC-1": add_item(product, qm, "TC-1", "test_case", title="Rounding test", attributes={"level": "unit"}),
        "TC-2": add_item(product, qm, "TC-2", "test_case", title="Display test", attributes={"level": "system"}),
        "ANOM-1": add_item(
            product,
            qm,
            "ANOM-1",
            "anomaly",
            title="Slow redraw",
            attributes={"state": "open", "evaluation": "No effect on safety", "found_in": "0.9"},
        ),
    }
    for source, link_type, target in (
        ("SYS-1", "derives_from", "UN-1"),
        ("SRS-1", "derives_from", "SYS-1"),
        ("SRS-2", "derives_from", "SYS-1"),
        ("SRS-1", "implements", "RC-1"),
        ("SWI-1", "implements", "SRS-1"),
        ("SWI-1", "implements", "SRS-2"),
        ("SWI-1", "uses", "SOUP-1"),
        ("SWI-1", "contributes_to", "RISK-1"),
        ("RC-1", "mitigates", "RISK-1"),
        ("TC-1", "verifies", "SRS-1"),
        ("TC-2", "verifies", "SRS-2"),
        ("ANOM-1", "affects", "SRS-2"),
    ):
        link_create(source=items[source], target=items[target], link_type=link_type, actor=qm)
    clause = Clause.objects.filter(standard__slug="iec-62304-2015", number="5.2.1").first()
    if clause is not None:
        clause_link_create(item=items["SRS-1"], clause=clause, actor=qm)
    return items


def record_results(product: Product, version: str, results: dict[str, str]) -> TestRun:
    run = TestRun.objects.create(product=product, version=version, name="ci #7", environment="linux")
    cases = dict(Item.objects.filter(product=product, key__in=list(results)).values_list("key", "id"))
    TestResult.objects.bulk_create(
        [
            TestResult(run=run, test_case_id=cases[key], test_identifier=f"tests/{key}", status=status)
            for key, status in results.items()
        ]
    )
    return run


def frozen_release(product: Product, qm: User, version: str = "1.0.0") -> Release:
    record_results(product, version, {"TC-1": "passed", "TC-2": "passed"})
    return release_freeze(product=product, version=version, actor=qm, commit_sha="abc1234", git_tag=f"v{version}")


def approve(release: Release, qm: User) -> Release:
    return release_approve(release=release, signer=qm, password=PASSWORD, comment="Ready to ship")


def content_of(release: Release) -> ReportContent:
    release.refresh_from_db()
    return report_content_for_release(release=release)


def render(release: Release) -> bytes:
    return report_pdf(content_of(release))[0]


def pages_text(data: bytes) -> list[str]:
    """Text of each page, white space collapsed to single spaces."""
    reader = PdfReader(io.BytesIO(data))
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def outline_titles(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    titles: list[str] = []

    def walk(entries: Any) -> None:
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                titles.append(entry.title)

    walk(reader.outline)
    return titles
