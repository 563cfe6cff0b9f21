"""Where an auditor sees a signed deviation: the PDF's cover and summary, every severity column
(PDF, CSV and XLSX tables), the release, gap and matrix pages, and ``trace_gaps``."""

import csv
import io

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from tests.traceability.reporting import (
    PASSWORD,
    content_of,
    outline_titles,
    pages_text,
    record_results,
    render,
    report_items,
    report_product,
)
from traceability.models import Product
from traceability.reports.exports import table_csv
from traceability.reports.identity import utc_text
from traceability.reports.render import report_render, workbook_info
from traceability.reports.tables import export_tables
from traceability.services.deviations import deviation_sign
from traceability.services.products import product_update
from traceability.services.releases import release_freeze

pytestmark = pytest.mark.django_db

RATIONALE = "TC-2 fails on the emulator's display timing only; verified by hand on the device (MAN-4)."
SOUP_RATIONALE = "SOUP versions are pinned in the lock file and reviewed by the quality team at each release."


@pytest.fixture
def deviated(catalogue, qm):
    """Class C; TC-2 fails in 1.0.0 and DEV-1 lowers that finding to a warning; SOUP-2 has no
    version and DEV-2 turns the whole rule off; then the release is frozen."""
    product = report_product(qm)
    items = report_items(product, qm)
    product = product_update(product=product, actor=qm, safety_class="C")
    from tests.traceability.reporting import add_item

    add_item(product, qm, "SOUP-2", "soup", title="libchart")
    one = deviation_sign(
        product=product,
        rule="test_failed",
        item_key="TC-2",
        severity="warning",
        rationale=RATIONALE,
        signer=qm,
        password=PASSWORD,
    )
    two = deviation_sign(
        product=product,
        rule="soup_without_version",
        severity="off",
        rationale=SOUP_RATIONALE,
        signer=qm,
        password=PASSWORD,
    )
    record_results(product, "1.0.0", {"TC-1": "passed", "TC-2": "failed"})
    release = release_freeze(product=product, version="1.0.0", actor=qm, commit_sha="abc1234")
    return {"release": release, "product": product, "items": items, "deviations": (one, two)}


def signed_at(deviation) -> str:
    from qms.models import Signature

    signature = Signature.objects.get(record_type="traceability.deviation", record_id=str(deviation.pk))
    return utc_text(signature.signed_at.isoformat().replace("+00:00", "Z"))


def test_the_report_lists_every_deviation_on_the_cover_and_the_summary(deviated):
    release = deviated["release"]
    one, two = deviated["deviations"]
    data = render(release)
    assert data == render(release)  # the same baseline gives the same bytes
    pages = pages_text(data)
    cover = pages[0]
    summary = next(page for page in pages if "Trace score" in page)
    for page in (cover, summary):
        assert "2 in force: DEV-1 (test_failed, finding of TC-2), DEV-2 (soup_without_version, whole rule)" in page
        for text in (
            "DEV-1 test_failed finding of TC-2 warning Quinn Manager (quinn)",
            "DEV-2 soup_without_version whole rule off Quinn Manager (quinn)",
            signed_at(one),
            signed_at(two),
            "TC-2 fails on the emulator's display timing only;",
            "SOUP versions are pinned in the lock file",
        ):
            assert text in page, text
    assert "2.1 Signed deviations" in outline_titles(data)
    everything = " ".join(pages)
    assert "error TC-2: warning (deviation DEV-1)" in everything  # the gaps-by-rule severity column
    assert "off (deviation DEV-2) 0 (+1 off by deviation)" in everything
    assert "gap: test failed – warning (deviation DEV-1)" in everything  # the reverse matrix's status column
    assert content_of(release).gaps.ready is True


def test_a_report_without_deviations_says_none(catalogue, qm):
    product = report_product(qm)
    report_items(product, qm)
    record_results(product, "1.0.0", {"TC-1": "passed", "TC-2": "passed"})
    release = release_freeze(product=product, version="1.0.0", actor=qm)
    pages = pages_text(render(release))
    assert "Signed deviations none" in pages[0]
    assert "2.1 Signed deviations" not in " ".join(pages)


def test_the_exports_mark_deviated_severities(deviated):
    content = content_of(deviated["release"])
    tables = {table.name: table for table in export_tables(content)}
    gaps = list(csv.reader(io.StringIO(table_csv(tables["gaps"]).decode("utf-8-sig"))))
    assert gaps[0] == ["Rule", "Severity", "Items", "Clauses", "Message", "Deviation"]
    (failed,) = [row for row in gaps if row[0] == "test_failed"]
    assert (failed[1], failed[2], failed[5]) == ("warning (deviation DEV-1)", "TC-2; SRS-2", "DEV-1")
    deviations = list(csv.reader(io.StringIO(table_csv(tables["deviations"]).decode("utf-8-sig"))))
    assert [row[:6] for row in deviations] == [
        ["Deviation", "Rule", "Scope", "Lowered to", "Signed by", "User"],
        ["DEV-1", "test_failed", "finding of TC-2", "warning", "Quinn Manager", "quinn"],
        ["DEV-2", "soup_without_version", "whole rule", "off", "Quinn Manager", "quinn"],
    ]
    assert deviations[1][7] == RATIONALE and deviations[1][8] == deviated["deviations"][0].sha256
    reverse = {row[0]: row[-2] for row in tables["reverse"].rows}  # the "Gaps" column, before the status code
    assert reverse["TC-2"] == "test_failed: warning (deviation DEV-1)"
    workbook = load_workbook(io.BytesIO(report_render(content, "xlsx").data))
    assert workbook["Gaps"]["B2"].value == "warning (deviation DEV-1)"
    assert workbook["Gaps"]["B2"].fill.fgColor.rgb.endswith("FFF4D6")  # coloured as a warning
    assert workbook["Signed deviations"]["A3"].value == "DEV-2"
    facts = dict(workbook_info(content).facts)
    assert facts["Deviation DEV-1"].startswith(
        "test_failed (finding of TC-2) → warning; signed by Quinn Manager (quinn), "
    )


def test_the_pages_mark_deviated_severities(client, deviated, auditor):
    client.force_login(auditor)
    page = client.get("/p/RPT/releases/1.0.0/").content.decode()
    assert 'error</span><div class="muted">TC-2: warning (deviation DEV-1)</div>' in page
    assert '<h2 id="deviations">Signed deviations</h2>' in page
    assert RATIONALE.replace("'", "&#x27;") in page and "Quinn Manager" in page
    gaps = client.get("/p/RPT/gaps/?release=1.0.0").content.decode()
    assert ">warning (deviation DEV-1)</span>" in gaps
    assert "off (deviation DEV-2)</span>" in gaps
    matrix = client.get("/p/RPT/matrix/?release=1.0.0").content.decode()
    assert 'title="warning (deviation DEV-1)">test_failed · warning (deviation DEV-1)</span>' in matrix


def test_a_stored_lowering_override_is_shown_as_not_applied(client, deviated, auditor, qm):
    Product.objects.filter(key="RPT").update(gap_rules={"residual_risk_unacceptable": "off"})  # an older database
    client.force_login(auditor)
    page = client.get("/p/RPT/gaps/").content.decode()
    assert (
        "<b>Not applied:</b> gap_rules override residual_risk_unacceptable → off is ignored: on a class C product "
        "a protected rule is lowered only by a signed deviation"
    ) in page


def test_trace_gaps_names_the_deviation_and_the_notes(deviated):
    out, err = io.StringIO(), io.StringIO()
    call_command("trace_gaps", "RPT", "--release", "1.0.0", stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert [line for line in lines if "test_failed" in line] == [
        "warning  test_failed              TC-2 failed in release 1.0.0 (run ci #7, 1.0.0) [deviation DEV-1]"
    ]
    assert lines[-1].endswith(": 0 errors, 99 warnings, 2 signed deviations in force")
    assert err.getvalue() == ""
    Product.objects.filter(key="RPT").update(gap_rules={"test_failed": "off"})  # an older database
    out, err = io.StringIO(), io.StringIO()
    call_command("trace_gaps", "RPT", stdout=out, stderr=err)
    assert err.getvalue() == (
        "not applied: gap_rules override test_failed → off is ignored: on a class C product a protected rule is "
        "lowered only by a signed deviation\n"
    )
