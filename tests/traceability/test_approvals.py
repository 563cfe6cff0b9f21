"""Separation of duties for items: only an approver (the ``approvals`` scope: a quality manager)
makes an item approved, on every path (services, API, admin, imports). A refusal is a 403 naming
the problem and writes nothing."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from qms.errors import Forbidden
from qms.models import AuditEvent
from tests.conftest import signed_in, token_client
from traceability.models import Item, Product
from traceability.services.imports import ItemRow, items_import
from traceability.services.items import item_create, item_update
from traceability.services.product_import import product_items_import

pytestmark = pytest.mark.django_db

APPROVE = "setting SRS-1 to approved needs the 'approvals' scope (a quality manager)"
KEEP_APPROVED = (
    "SRS-1 is approved: changing its title, text or attributes and keeping it approved needs the 'approvals' "
    "scope (a quality manager; set the status to draft or in_review with the change)"
)


def state() -> tuple:
    items = tuple(Item.objects.order_by("key").values_list("key", "status", "revision", "title", "updated_by"))
    return items, AuditEvent.objects.count(), Product.objects.count()


@pytest.fixture
def draft(make_item) -> Item:
    return make_item("SRS-1", "software_requirement", title="Round down")


@pytest.fixture
def approved(make_item) -> Item:
    return make_item("SRS-1", "software_requirement", title="Round down", status="approved")


# --- the services -----------------------------------------------------------------------------


def test_a_developer_cannot_create_an_approved_item(product, developer):
    before = state()
    with pytest.raises(Forbidden) as refused:
        item_create(
            product=product, key="SRS-1", kind="software_requirement", title="t", status="approved", actor=developer
        )
    assert (refused.value.code, refused.value.message) == (
        "approval_forbidden",
        f"{APPROVE}; dana's role may not write approvals",
    )
    assert state() == before


def test_a_developer_cannot_approve_an_item_and_nothing_is_written(draft, developer):
    before = state()
    with pytest.raises(Forbidden, match=r"^setting SRS-1 to approved needs"):
        item_update(item=draft, actor=developer, status="approved", title="Also a new title")
    assert state() == before


def test_a_developer_cannot_change_an_approved_item_and_keep_it_approved(approved, developer):
    before = state()
    with pytest.raises(Forbidden) as refused:
        item_update(item=approved, actor=developer, text="reworded")
    assert refused.value.message == f"{KEEP_APPROVED}; dana's role may not write approvals"
    assert state() == before


def test_leaving_approved_is_an_ordinary_change(approved, developer):
    item = item_update(item=approved, actor=developer, status="in_review", text="reworded")
    assert (item.status, item.revision, item.updated_by) == ("in_review", 2, developer)
    event = AuditEvent.objects.filter(action="item.updated").get()
    assert (event.actor_username, event.before["status"], event.after["status"]) == ("dana", "approved", "in_review")
    obsolete = item_update(item=item, actor=developer, status="obsolete")
    assert (obsolete.status, obsolete.revision) == ("obsolete", 3)


def test_a_developer_may_save_an_approved_item_whose_content_is_unchanged(approved, developer):
    item = item_update(item=approved, actor=developer, status="approved", title="Round down ")
    assert (item.revision, AuditEvent.objects.filter(action="item.updated").count()) == (1, 0)


def test_a_quality_manager_approves_and_the_system_may_too(draft, qm):
    item = item_update(item=draft, actor=qm, status="approved")
    assert (item.status, item.revision, item.updated_by) == ("approved", 2, qm)
    item = item_update(item=item, actor=qm, text="reworded by the approver")
    assert (item.status, item.revision) == ("approved", 3)
    item = item_update(item=item, actor=None, text="a command run on the server (no --as)")
    assert (item.status, item.revision, item.updated_by) == ("approved", 4, None)


# --- the API ------------------------------------------------------------------------------------


def test_a_developer_cannot_approve_over_the_api(api_client, developer, draft):
    client = api_client(developer)
    before = state()
    created = client.post(
        "/api/v1/products/DEMO/items/",
        {"key": "SRS-2", "kind": "software_requirement", "title": "t", "status": "approved"},
        format="json",
    )
    assert created.status_code == 403
    assert created.json() == {
        "error": "approval_forbidden",
        "detail": "setting SRS-2 to approved needs the 'approvals' scope (a quality manager); "
        "dana's role may not write approvals",
        "field": "status",
        "key": "SRS-2",
    }
    patched = client.patch("/api/v1/products/DEMO/items/SRS-1/", {"status": "approved"}, format="json")
    assert (patched.status_code, patched.json()["error"]) == (403, "approval_forbidden")
    assert state() == before


def test_a_token_without_approvals_cannot_approve_even_for_a_quality_manager(qm, draft):
    before = state()
    response = token_client(qm, ["items"]).patch(
        "/api/v1/products/DEMO/items/SRS-1/", {"status": "approved"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == f"{APPROVE}; this API token lacks the scope 'approvals'"
    assert state()[0] == before[0]
    assert not AuditEvent.objects.filter(action="item.updated").exists()

    response = token_client(qm, ["items", "approvals"]).patch(
        "/api/v1/products/DEMO/items/SRS-1/", {"status": "approved"}, format="json"
    )
    assert (response.status_code, response.json()["status"], response.json()["revision"]) == (200, "approved", 2)
    assert AuditEvent.objects.get(action="item.updated").actor_username == "quinn"


def test_a_quality_manager_approves_over_the_api(api_client, qm, draft):
    response = api_client(qm).patch("/api/v1/products/DEMO/items/SRS-1/", {"status": "approved"}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "approved")


# --- the admin ----------------------------------------------------------------------------------

ITEM_FORM = {
    "links_out-TOTAL_FORMS": "0",
    "links_out-INITIAL_FORMS": "0",
    "links_in-TOTAL_FORMS": "0",
    "links_in-INITIAL_FORMS": "0",
    "clause_links-TOTAL_FORMS": "0",
    "clause_links-INITIAL_FORMS": "0",
}


def _staff(client, user: User):
    user.is_staff = True
    user.save()
    signed_in(client, user)
    return client


def test_a_developer_cannot_approve_in_the_admin(client, developer, product, approved):
    client = _staff(client, developer)
    draft = item_create(product=product, key="SRS-2", kind="software_requirement", title="Draft", actor=developer)
    before = state()
    added = client.post(
        "/admin/traceability/item/add/",
        {
            **ITEM_FORM,
            "product": product.pk,
            "key": "SRS-3",
            "kind": "software_requirement",
            "title": "New",
            "text": "",
            "status": "approved",
            "attributes": "{}",
        },
    )
    assert added.status_code == 200
    assert "setting SRS-3 to approved needs the &#x27;approvals&#x27; scope" in added.content.decode()
    changed = client.post(
        f"/admin/traceability/item/{draft.pk}/change/",
        {**ITEM_FORM, "title": "Draft", "text": "", "status": "approved", "attributes": "{}"},
    )
    assert changed.status_code == 200
    assert "setting SRS-2 to approved needs the &#x27;approvals&#x27; scope" in changed.content.decode()
    kept = client.post(
        f"/admin/traceability/item/{approved.pk}/change/",
        {**ITEM_FORM, "title": "Round down", "text": "reworded", "status": "approved", "attributes": "{}"},
    )
    assert kept.status_code == 200
    assert "SRS-1 is approved: changing its title, text or attributes and keeping it approved" in kept.content.decode()
    assert state() == before

    moved = client.post(  # leaving approved, with the change: an ordinary edit
        f"/admin/traceability/item/{approved.pk}/change/",
        {**ITEM_FORM, "title": "Round down", "text": "reworded", "status": "in_review", "attributes": "{}"},
    )
    assert moved.status_code == 302
    assert Item.objects.filter(key="SRS-1").values_list("status", "revision").get() == ("in_review", 2)


def test_a_quality_manager_approves_in_the_admin(client, qm, draft):
    response = _staff(client, qm).post(
        f"/admin/traceability/item/{draft.pk}/change/",
        {**ITEM_FORM, "title": "Round down", "text": "", "status": "approved", "attributes": "{}"},
    )
    assert response.status_code == 302
    assert Item.objects.filter(key="SRS-1").values_list("status", "revision", "updated_by__username").get() == (
        "approved",
        2,
        "quinn",
    )


def test_developers_make_items_obsolete_in_the_admin(client, developer, approved):
    client = _staff(client, developer)
    response = client.post(
        "/admin/traceability/item/", {"action": "make_obsolete", "_selected_action": [approved.pk]}, follow=True
    )
    assert "1 item(s) made obsolete." in response.content.decode()
    assert Item.objects.filter(key="SRS-1").values_list("status", "revision").get() == ("obsolete", 2)
    event = AuditEvent.objects.get(action="item.updated")
    assert (event.actor_username, event.before["status"], event.after["status"]) == ("dana", "approved", "obsolete")


# --- imports ------------------------------------------------------------------------------------


def test_a_developers_import_cannot_approve_and_writes_nothing(product, developer, qm, approved):
    before = state()
    rows = [
        ItemRow(row=2, key="SRS-2", kind="software_requirement", title="Fine"),
        ItemRow(row=3, key="SRS-3", kind="software_requirement", title="Approved", status="approved"),
    ]
    with pytest.raises(Forbidden) as refused:
        items_import(product=product, rows=rows, actor=developer, source="reqs.csv")
    assert refused.value.message == (
        "reqs.csv: row 3, column status: setting SRS-3 to approved needs the 'approvals' scope (a quality manager); "
        "dana's role may not write approvals"
    )
    with pytest.raises(Forbidden, match=r"^reqs.csv: row 2, column status: SRS-1 is approved: changing"):
        items_import(
            product=product, rows=[ItemRow(row=2, key="SRS-1", text="new")], actor=developer, source="reqs.csv"
        )
    assert state() == before

    unchanged = items_import(product=product, rows=[ItemRow(row=2, key="SRS-1", status="approved")], actor=developer)
    assert unchanged.items_unchanged == 1
    report = items_import(product=product, rows=rows, actor=qm)
    assert report.items_created == 2


def test_a_developer_cannot_create_a_product_by_importing(developer, product):
    before = state()
    rows = [ItemRow(row=2, key="SRS-1", kind="software_requirement", title="t")]
    with pytest.raises(Forbidden) as refused:
        product_items_import(product_key="NEW", rows=rows, actor=developer)
    assert (refused.value.code, refused.value.message) == (
        "product_forbidden",
        "product NEW does not exist and creating it needs the 'products' scope (a quality manager); "
        "dana's role may not write products",
    )
    assert state() == before
    assert product_items_import(product_key="DEMO", rows=rows, actor=developer).items.items_created == 1


def test_the_import_items_command_names_the_approver(tmp_path, product, developer, qm):
    sheet = tmp_path / "reqs.csv"
    sheet.write_text("key,kind,title,status\nSRS-1,software_requirement,Round down,approved\n", encoding="utf-8")
    before = state()
    with pytest.raises(CommandError) as refused:
        call_command("import_items", "DEMO", str(sheet), "--as", developer.username, stdout=io.StringIO())
    assert str(refused.value) == (
        "reqs.csv: row 2, column status: setting SRS-1 to approved needs the 'approvals' scope (a quality "
        "manager); dana's role may not write approvals"
    )
    assert state() == before
    call_command("import_items", "DEMO", str(sheet), "--as", qm.username, stdout=io.StringIO())
    event = AuditEvent.objects.get(action="item.created", object_repr="DEMO/SRS-1")
    assert (event.actor_username, event.after["status"]) == ("quinn", "approved")
