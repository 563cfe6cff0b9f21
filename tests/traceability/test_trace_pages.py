import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qms.models import AuditEvent, Signature
from standards.models import Clause
from tests.traceability.engine import baseline_remove, baseline_tamper, bulk_requirements, make_run
from traceability.models import Baseline, Item, Release
from traceability.services.items import clause_link_create, item_update
from traceability.services.links import link_create
from traceability.services.products import product_update
from traceability.services.releases import release_create, release_freeze

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean(product, make_item, qm):
    srs = make_item("SRS-1", "software_requirement", status="approved", attributes={"derived_rationale": "choice"})
    swi = make_item("SWI-1", "software_item", status="approved", text="design")
    test = make_item("TC-1", "test_case", status="approved")
    link_create(source=test, target=srs, link_type="verifies", actor=qm)
    link_create(source=swi, target=srs, link_type="implements", actor=qm)
    for version in ("1.0", "1.1"):  # TC-1 passes in the releases the tests freeze
        make_run(product, {"TC-1": "passed"}, version=version)
    return {"SRS-1": srs, "TC-1": test}


def test_the_product_page_lists_releases(client, auditor, clean, product, qm):
    release_freeze(product=product, version="1.0", actor=qm)
    release_create(product=product, version="1.1", actor=qm)
    client.force_login(auditor)
    page = client.get("/p/DEMO/").content.decode()
    assert '<a href="/p/DEMO/releases/1.0/">1.0</a>' in page and '<a href="/p/DEMO/releases/1.1/">1.1</a>' in page
    assert Baseline.objects.get().sha256[:12] in page and "not frozen" in page


def test_the_release_page(client, auditor, clean, product, qm):
    release_freeze(product=product, version="1.0", actor=qm)
    item_update(item=clean["SRS-1"], actor=qm, title="Rounded down")
    release_freeze(product=product, version="1.1", actor=qm)
    client.force_login(auditor)
    page = client.get("/p/DEMO/releases/1.1/").content.decode()
    assert Release.objects.get(version="1.1").baseline.sha256 in page
    assert "Not signed." in page and "ready" in page
    assert "Changes since" in page and "SRS-1</a> Rounded down: revision 1 → 2 (title)" in page
    assert "Approve and sign" not in page  # auditors do not sign
    assert client.get("/p/DEMO/releases/9.9/").status_code == 404


def test_approving_on_the_release_page(client, qm, developer, clean, product):
    release_freeze(product=product, version="1.0", actor=qm)
    client.force_login(qm)
    page = client.get("/p/DEMO/releases/1.0/").content.decode()
    assert "Approve and sign" in page
    assert 'href="/p/DEMO/releases/1.0/report.pdf"' in page and 'href="/p/DEMO/releases/1.0/report.xlsx"' in page
    before = AuditEvent.objects.count()
    response = client.post("/p/DEMO/releases/1.0/approve/", {"password": "wrong", "meaning": "approval"}, follow=True)
    assert "does not match; nothing was signed" in response.content.decode()
    assert not Signature.objects.exists()
    (refused,) = AuditEvent.objects.filter(id__gt=0).order_by("id")[before:]  # only the refusal, with the address
    assert (refused.action, refused.actor_username, refused.after["client_address"]) == (
        "signature.refused",
        "quinn",
        "127.0.0.1",
    )
    response = client.post(
        "/p/DEMO/releases/1.0/approve/", {"password": "quinn-pw", "meaning": "approval", "comment": "ok"}, follow=True
    )
    page = response.content.decode()
    assert "DEMO 1.0 is approved and signed." in page and "Quinn" in page
    assert Release.objects.get(version="1.0").state == "approved"

    client.force_login(developer)
    release_create(product=product, version="2.0", actor=qm)
    response = client.post("/p/DEMO/releases/2.0/freeze/", follow=True)
    assert "Your role may not do this." in response.content.decode()
    assert Release.objects.get(version="2.0").state == "draft"
    assert client.get("/p/DEMO/releases/2.0/freeze/").status_code == 405


def test_freezing_on_the_release_page(client, qm, clean, product):
    release_create(product=product, version="1.0", actor=qm)
    client.force_login(qm)
    assert "available once the release is frozen" in client.get("/p/DEMO/releases/1.0/").content.decode()
    response = client.post("/p/DEMO/releases/1.0/freeze/", follow=True)
    assert "DEMO 1.0 is frozen." in response.content.decode()
    again = client.post("/p/DEMO/releases/1.0/freeze/", follow=True)
    assert "already frozen" in again.content.decode()


def test_the_matrix_page_filters_and_pages(client, auditor, product, make_item, qm):
    bulk_requirements(product, 120, tested=False)
    make_item("SRS-99", "software_requirement", title="<b>bold</b>", attributes={"verification_rationale": "review"})
    client.force_login(auditor)
    page = client.get("/p/DEMO/matrix/").content.decode()
    assert "not frozen" in page and "page 1 of 2 · 121 rows" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    second = client.get("/p/DEMO/matrix/?page=2").content.decode()
    assert "page 2 of 2" in second
    only = client.get("/p/DEMO/matrix/?status=not_applicable").content.decode()
    assert "SRS-99" in only and "SRS-101" not in only
    gaps = client.get("/p/DEMO/matrix/?gaps=1&kind=system_requirement").content.decode()
    assert "SYS-101" in gaps
    assert client.get("/p/DEMO/matrix/?release=9.9").status_code == 404


def test_the_matrix_page_of_a_frozen_release(client, auditor, clean, product, qm):
    release_freeze(product=product, version="1.0", actor=qm)
    client.force_login(auditor)
    page = client.get("/p/DEMO/matrix/?release=1.0").content.decode()
    assert f"From the frozen baseline <code>{Baseline.objects.get().sha256}</code>" in page


def test_the_gaps_page(client, auditor, product, make_item):
    make_item("SRS-1", "software_requirement")
    client.force_login(auditor)
    page = client.get("/p/DEMO/gaps/").content.decode()
    assert "not ready" in page and "3 errors, 1 warning" in page
    errors = client.get("/p/DEMO/gaps/?severity=error").content.decode()
    assert "item_not_approved</td>" not in errors and "requirement_without_parent</td>" in errors


def test_the_item_page_shows_the_impact(client, auditor, small_graph):
    client.force_login(auditor)
    page = client.get("/p/DEMO/items/SYS-1/").content.decode()
    assert "A change to SYS-1 impacts 1 software requirement, 1 risk control measure and 1 test case." in page
    assert "SYS-1 → SRS-1 → TC-1" in page


@pytest.mark.parametrize("broken", ["missing", "corrupt"])
def test_pages_of_a_release_without_a_sound_baseline_are_409(client, auditor, clean, product, qm, broken):
    release_freeze(product=product, version="1.0", actor=qm)
    release_create(product=product, version="1.1", actor=qm)
    if broken == "missing":
        baseline_remove()
        problem = "DEMO 1.0 was frozen at "
    else:
        baseline_tamper("SRS-1 title", "forged")
        problem = "baseline of 1.0 does not match its SHA-256"
    client.force_login(auditor)
    before = (Release.objects.count(), AuditEvent.objects.count())
    for path in ("/p/DEMO/releases/1.0/", "/p/DEMO/matrix/?release=1.0", "/p/DEMO/gaps/?release=1.0"):
        response = client.get(path)
        page = response.content.decode()
        assert response.status_code == 409, path
        assert "This cannot be shown:</b> " + problem in page and "forged" not in page, path
        assert "SRS-1" not in page  # no live data in its place
    # 1.1 diffs against 1.0: its page is shown, with the problem in place of the change record
    response = client.get("/p/DEMO/releases/1.1/")
    page = response.content.decode()
    assert response.status_code == 409
    assert "Release 1.1" in page and "not frozen" in page
    assert "The change record cannot be shown:</b> " + problem in page
    assert (Release.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/p/DEMO/matrix/?status=done", "status: unknown status &#x27;done&#x27; (known: verified, not_verified, "),
        ("/p/DEMO/matrix/?kind=soup", "kind: unknown kind &#x27;soup&#x27; (known: software_requirement, "),
        ("/p/DEMO/gaps/?severity=fatal", "severity: unknown severity &#x27;fatal&#x27; (known: error, warning)"),
    ],
)
def test_bad_filters_on_the_pages_are_400(client, auditor, clean, path, message):
    client.force_login(auditor)
    response = client.get(path)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Bad request:</b> " + message in page
    assert f'<a href="{path.split("?")[0]}">Show it without filters</a>' in page
    assert client.get(path.split("?")[0] + "?status=&kind=&severity=").status_code == 200  # empty: no filter


def test_the_matrix_page_colours_gaps_by_severity_and_labels_clauses(
    client, auditor, product, make_item, qm, catalogue
):
    product_update(product=product, actor=qm, standards=["iec-62304-2015"])
    srs = make_item("SRS-1", "software_requirement", attributes={"derived_rationale": "choice"})
    clause_link_create(item=srs, clause=Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.1"), actor=qm)
    other = Clause.objects.get(standard__slug="iso-14971-2019", number="4.1")  # not one of the product's standards
    clause_link_create(item=srs, clause=other, actor=qm)
    client.force_login(auditor)

    def page():
        with CaptureQueriesContext(connection) as queries:
            content = client.get("/p/DEMO/matrix/").content.decode()
        return content, len(queries)

    content, one = page()
    assert '<span class="badge sev-error" title="error">requirement_without_verification</span>' in content
    assert '<span class="badge sev-warning" title="warning">item_not_approved</span>' in content
    assert '<span title="iec-62304-2015:5.2.1">IEC 62304 5.2.1</span>' in content
    assert '<span title="iso-14971-2019:4.1">iso-14971-2019:4.1</span>' in content  # its standard is not loaded
    bulk_requirements(product, 30, tested=False)
    for index in range(101, 131):
        clause_link_create(
            item=Item.objects.get(product=product, key=f"SRS-{index}"),
            clause=Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.2"),
            actor=qm,
        )
    content, many = page()
    assert content.count("IEC 62304 5.2.2</span>") == 30
    assert many == one  # labels and severities come from the loaded graph: no query per row
