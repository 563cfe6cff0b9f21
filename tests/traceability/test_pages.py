import pytest

from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_pages_need_a_signed_in_user_with_a_role(client, no_role_user, small_graph):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(no_role_user)
    assert client.get("/").status_code == 403


def test_product_item_and_item_detail_pages(client, auditor, small_graph):
    client.force_login(auditor)
    assert b"DEMO" in client.get("/").content
    product_page = client.get("/p/DEMO/")
    assert product_page.status_code == 200 and b"Software requirement" in product_page.content
    listing = client.get("/p/DEMO/items/?kind=software_requirement")
    assert b"SRS-1" in listing.content and b"SYS-1" not in listing.content
    detail = client.get("/p/DEMO/items/SRS-1/")
    assert detail.status_code == 200
    assert b"TC-1" in detail.content and b"item.created" in detail.content
    assert client.get("/p/DEMO/items/NOPE-1/").status_code == 404
    assert client.get("/p/NOPE/").status_code == 404


def test_item_text_is_escaped(client, auditor, make_item):
    make_item("SRS-9", "software_requirement", text="<script>alert(1)</script>")
    client.force_login(auditor)
    content = client.get("/p/DEMO/items/SRS-9/").content
    assert b"<script>alert(1)</script>" not in content
    assert b"&lt;script&gt;" in content


def test_admin_is_read_only_for_auditors(client, auditor, small_graph):
    auditor.is_staff = True
    auditor.save()
    client.force_login(auditor)
    assert client.get("/admin/traceability/item/").status_code == 200
    assert client.get("/admin/traceability/item/add/").status_code == 403
    for model in ("product", "link", "release", "baseline", "testrun", "commit", "tracereport", "manualexecution"):
        assert client.get(f"/admin/traceability/{model}/").status_code == 200, model
    for model in ("qms/auditevent", "qms/signature", "qms/apitoken", "standards/clause", "standards/standard"):
        assert client.get(f"/admin/{model}/").status_code == 200, model


def test_admin_writes_go_through_the_services(client, qm, product):
    from qms.models import AuditEvent
    from traceability.models import Item

    qm.is_staff = True
    qm.save()
    client.force_login(qm)
    form = {
        "product": product.pk,
        "key": "SRS-7",
        "kind": "software_requirement",
        "title": "From the admin",
        "text": "t",
        "status": "draft",
        "attributes": "{}",
        "links_out-TOTAL_FORMS": "0",
        "links_out-INITIAL_FORMS": "0",
    }
    response = client.post("/admin/traceability/item/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    item = Item.objects.get(key="SRS-7")
    assert (item.revision, len(item.fingerprint)) == (1, 64)
    event = AuditEvent.objects.get(action="item.created", object_id=str(item.pk))
    assert event.actor_username == "quinn"

    bad = client.post("/admin/traceability/item/add/", {**form, "key": "SRS-8", "attributes": '{"colour": "red"}'})
    assert bad.status_code == 200 and "unknown attribute" in bad.content.decode()
    assert not Item.objects.filter(key="SRS-8").exists()


def test_admin_adds_and_removes_links_through_the_services(client, qm, small_graph):
    from qms.models import AuditEvent
    from traceability.models import Link

    qm.is_staff = True
    qm.save()
    client.force_login(qm)
    item = small_graph["TC-1"]
    existing = Link.objects.get(source=item)
    form = {
        "title": item.title,
        "text": item.text,
        "status": item.status,
        "attributes": '{"test_id": "t"}',
        "links_out-TOTAL_FORMS": "2",
        "links_out-INITIAL_FORMS": "1",
        "links_out-0-id": existing.pk,
        "links_out-0-source": item.pk,
        "links_out-0-link_type": "verifies",
        "links_out-0-target": existing.target_id,
        "links_out-0-DELETE": "on",
        "links_out-1-source": item.pk,
        "links_out-1-link_type": "verifies",
        "links_out-1-target": small_graph["RC-1"].pk,
        **READ_ONLY_INLINES,
    }
    response = client.post(f"/admin/traceability/item/{item.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [link.target.key for link in Link.objects.filter(source=item)] == ["RC-1"]
    assert AuditEvent.objects.filter(action="link.created", object_repr="DEMO/TC-1 verifies RC-1").count() == 1
    assert AuditEvent.objects.filter(action="link.deleted", object_repr="DEMO/TC-1 verifies SRS-1").count() == 1


READ_ONLY_INLINES = {  # management forms of the incoming-link and clause-evidence inlines, as a browser posts them
    "links_in-TOTAL_FORMS": "0",
    "links_in-INITIAL_FORMS": "0",
    "clause_links-TOTAL_FORMS": "0",
    "clause_links-INITIAL_FORMS": "0",
}


def _staff(client, user):
    user.is_staff = True
    user.save()
    signed_in(client, user)  # no auth.login event: the tests below count the events of their request
    return client


def test_quality_managers_add_and_remove_clause_evidence_in_the_admin(client, qm, small_graph, catalogue):
    from qms.models import AuditEvent
    from standards.models import Clause
    from traceability.models import ClauseLink

    client = _staff(client, qm)
    clause = Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.1")
    assert client.get("/admin/traceability/clauselink/add/").status_code == 200
    form = {"item": small_graph["SRS-1"].pk, "clause": clause.pk, "note": "requirements analysis"}
    response = client.post("/admin/traceability/clauselink/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    link = ClauseLink.objects.get()
    assert (link.product.key, link.item.key, link.note, link.created_by) == ("DEMO", "SRS-1", form["note"], qm)
    event = AuditEvent.objects.get(action="clause_link.created")
    assert (event.actor_username, event.object_repr) == ("quinn", "DEMO/SRS-1 → iec-62304-2015:5.2.1")

    again = client.post("/admin/traceability/clauselink/add/", form)
    assert again.status_code == 200
    assert "SRS-1 is already evidence for iec-62304-2015:5.2.1" in again.content.decode()
    retired = Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.2")
    retired.is_active = False
    retired.save()
    refused = client.post("/admin/traceability/clauselink/add/", {**form, "clause": retired.pk})
    assert refused.status_code == 200 and "clause iec-62304-2015:5.2.2 is retired" in refused.content.decode()
    assert ClauseLink.objects.count() == 1
    assert AuditEvent.objects.filter(action="clause_link.created").count() == 1

    response = client.post(f"/admin/traceability/clauselink/{link.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ClauseLink.objects.exists()
    assert AuditEvent.objects.get(action="clause_link.deleted").actor_username == "quinn"


def test_auditors_and_developers_in_the_clause_link_admin(client, auditor, developer, small_graph, catalogue):
    from standards.models import Clause
    from traceability.models import ClauseLink

    clause = Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.1")
    form = {"item": small_graph["SRS-1"].pk, "clause": clause.pk, "note": ""}
    auditor_client = _staff(client, auditor)
    assert auditor_client.get("/admin/traceability/clauselink/").status_code == 200
    assert auditor_client.post("/admin/traceability/clauselink/add/", form).status_code == 403
    assert not ClauseLink.objects.exists()
    developer_client = _staff(client, developer)  # developers write items, links and clause evidence
    assert developer_client.post("/admin/traceability/clauselink/add/", form).status_code == 302
    assert ClauseLink.objects.count() == 1


def test_item_admin_page_shows_incoming_links_and_clause_evidence(client, qm, small_graph, catalogue):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from standards.models import Clause
    from traceability.services.items import clause_link_create

    srs = small_graph["SRS-1"]
    for number in ("5.2.1", "5.2.2"):
        clause = Clause.objects.get(standard__slug="iec-62304-2015", number=number)
        clause_link_create(item=srs, clause=clause, actor=qm, note=f"note {number}")
    client = _staff(client, qm)
    url = f"/admin/traceability/item/{srs.pk}/change/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    assert "Incoming links (edit them on the source item)" in page
    assert "TC-1" in page  # TC-1 verifies SRS-1
    assert "Clause evidence (add it under Clause links)" in page
    assert "note 5.2.1" in page and "note 5.2.2" in page
    assert "IEC 62304 5.2.2" in page
    few = len(queries)
    clause_link_create(
        item=srs, clause=Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.3"), actor=qm, note="n"
    )
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert len(queries) == few, "one more clause link must not cost more queries"


def test_saving_an_item_with_its_read_only_inlines_changes_only_the_item(client, qm, small_graph):
    from qms.models import AuditEvent
    from traceability.models import Link

    srs = small_graph["SRS-1"]
    incoming = Link.objects.get(target=srs)  # TC-1 verifies SRS-1
    outgoing = list(Link.objects.filter(source=srs).order_by("pk"))
    form = {
        "title": "Round down (admin)",
        "text": srs.text,
        "status": srs.status,
        "attributes": "{}",
        "links_out-TOTAL_FORMS": str(len(outgoing)),
        "links_out-INITIAL_FORMS": str(len(outgoing)),
        **{f"links_out-{i}-id": link.pk for i, link in enumerate(outgoing)},
        **{f"links_out-{i}-source": srs.pk for i in range(len(outgoing))},
        **{f"links_out-{i}-link_type": link.link_type for i, link in enumerate(outgoing)},
        **{f"links_out-{i}-target": link.target_id for i, link in enumerate(outgoing)},
        "links_in-TOTAL_FORMS": "1",
        "links_in-INITIAL_FORMS": "1",
        "links_in-0-id": incoming.pk,
        "links_in-0-target": srs.pk,
        "clause_links-TOTAL_FORMS": "0",
        "clause_links-INITIAL_FORMS": "0",
    }
    before = AuditEvent.objects.count()
    response = _staff(client, qm).post(f"/admin/traceability/item/{srs.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Link.objects.filter(target=srs).get() == incoming
    assert list(AuditEvent.objects.filter(id__gt=0).order_by("id").values_list("action", flat=True))[before:] == [
        "item.updated"
    ]
