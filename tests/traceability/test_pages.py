import pytest

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
    }
    response = client.post(f"/admin/traceability/item/{item.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert [link.target.key for link in Link.objects.filter(source=item)] == ["RC-1"]
    assert AuditEvent.objects.filter(action="link.created", object_repr="DEMO/TC-1 verifies RC-1").count() == 1
    assert AuditEvent.objects.filter(action="link.deleted", object_repr="DEMO/TC-1 verifies SRS-1").count() == 1
