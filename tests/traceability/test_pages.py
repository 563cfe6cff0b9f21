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
