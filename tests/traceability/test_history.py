"""Item and link history: "what did SRS-1 say on 3 March, what was it linked to, and who changed it"."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from qms.models import AuditEvent
from qms.services import audit_record
from traceability.models import Item, Link
from traceability.services.items import item_create, item_repr, item_state, item_update
from traceability.services.links import link_create, link_delete, link_review

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def at(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def timeline(make_item, qm, developer):
    """Day -10: SYS-1, SRS-1 and SRS-1 → SYS-1 (quinn). Day -5: SYS-1 reworded, link reviewed (dana).
    Day -2: the link deleted (dana). Now: TC-1 verifies SRS-1 (quinn)."""
    start = timezone.now() - 10 * DAY
    with mock.patch("qms.services.timezone.now", return_value=start):
        sys_item = make_item("SYS-1", "system_requirement")
        srs = make_item("SRS-1", "software_requirement", text="first wording")
        link = link_create(source=srs, target=sys_item, link_type="derives_from", actor=qm)
    with mock.patch("qms.services.timezone.now", return_value=start + 5 * DAY):
        item_update(item=sys_item, actor=developer, text="reworded")
        item_update(item=srs, actor=developer, text="second wording")
        link_review(link=link, actor=developer, note="still holds")
    with mock.patch("qms.services.timezone.now", return_value=start + 8 * DAY):
        link_delete(link=link, actor=developer)
    test_case = make_item("TC-1", "test_case", attributes={"test_id": "t"})
    verifies = link_create(source=test_case, target=srs, link_type="verifies", actor=qm)
    return {"start": start, "link": link, "verifies": verifies}


def test_link_history_lists_every_change_also_after_deletion(api_client, auditor, timeline):
    client = api_client(auditor)
    response = client.get(f"/api/v1/products/DEMO/links/{timeline['link'].pk}/history/")
    assert response.status_code == 200
    events = response.json()
    assert [(e["action"], e["actor"]) for e in events] == [
        ("link.created", "quinn"),
        ("link.reviewed", "dana"),
        ("link.deleted", "dana"),
    ]
    assert events[0]["object"] == "DEMO/SRS-1 derives_from SYS-1"
    assert events[1]["note"] == "still holds"
    assert events[1]["before"]["target_revision"] == 1 and events[1]["after"]["target_revision"] == 2
    assert not Link.objects.filter(pk=timeline["link"].pk).exists()


def test_link_at_a_moment(api_client, auditor, timeline):
    client = api_client(auditor)
    url = f"/api/v1/products/DEMO/links/{timeline['link'].pk}/history/"
    start = timeline["start"]
    before = client.get(url, {"at": at(start - DAY)}).json()
    assert (before["exists"], before["state"], before["changed_by"]) == (False, None, None)
    created = client.get(url, {"at": at(start + DAY)}).json()
    assert created["exists"] is True
    assert created["state"] == {"source": "SRS-1", "link_type": "derives_from", "target": "SYS-1", "target_revision": 1}
    assert (created["changed_by"], created["action"]) == ("quinn", "link.created")
    reviewed = client.get(url, {"at": at(start + 6 * DAY)}).json()
    assert (reviewed["state"]["target_revision"], reviewed["changed_by"]) == (2, "dana")
    deleted = client.get(url, {"at": at(start + 9 * DAY)}).json()
    assert (deleted["exists"], deleted["action"], deleted["changed_by"]) == (False, "link.deleted", "dana")


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/v1/products/DEMO/links/999999/history/", 404, "DEMO has no link #999999 and never had"),
        ("/api/v1/products/NOPE/links/1/history/", 404, "no product 'NOPE'"),
        ("/api/v1/products/DEMO/items/SRS-404/history/", 404, "DEMO has no item 'SRS-404' and never had"),
        ("/api/v1/products/DEMO/items/SRS-404/history/?at=2026-01-01T00:00:00Z", 404, "never had"),
        ("/api/v1/products/DEMO/items/SRS-1/history/?include=everything", 400, "include must be 'links'"),
        ("/api/v1/products/DEMO/items/SRS-1/history/?at=2026-03-03", 400, "'at' must be an ISO 8601 date-time"),
    ],
)
def test_bad_history_requests(api_client, auditor, timeline, path, status, message):
    response = api_client(auditor).get(path)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_link_history_of_another_products_link_is_404(api_client, auditor, qm, timeline):
    from traceability.services.products import product_create

    product_create(key="OTHER", name="Other", actor=qm)
    response = api_client(auditor).get(f"/api/v1/products/OTHER/links/{timeline['verifies'].pk}/history/")
    assert response.status_code == 404


def test_item_history_can_include_its_links(api_client, auditor, timeline):
    client = api_client(auditor)
    plain = client.get("/api/v1/products/DEMO/items/SRS-1/history/").json()
    assert [e["action"] for e in plain] == ["item.created", "item.updated"]
    events = client.get("/api/v1/products/DEMO/items/SRS-1/history/?include=links").json()
    assert [(e["action"], e["object"]) for e in events] == [
        ("item.created", "DEMO/SRS-1"),
        ("link.created", "DEMO/SRS-1 derives_from SYS-1"),
        ("item.updated", "DEMO/SRS-1"),
        ("link.reviewed", "DEMO/SRS-1 derives_from SYS-1"),
        ("link.deleted", "DEMO/SRS-1 derives_from SYS-1"),
        ("link.created", "DEMO/TC-1 verifies SRS-1"),
    ]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    sys_events = client.get("/api/v1/products/DEMO/items/SYS-1/history/?include=links").json()
    assert "DEMO/TC-1 verifies SRS-1" not in {e["object"] for e in sys_events}


def test_item_at_a_moment_with_its_links(api_client, auditor, timeline):
    client = api_client(auditor)
    start = timeline["start"]
    url = "/api/v1/products/DEMO/items/SRS-1/history/"
    then = client.get(url, {"at": at(start + 6 * DAY), "include": "links"}).json()
    assert (then["exists"], then["state"]["text"], then["changed_by"]) == (True, "second wording", "dana")
    assert [(link["id"], link["state"]["target"], link["changed_by"]) for link in then["links"]] == [
        (timeline["link"].pk, "SYS-1", "dana")
    ]
    now = client.get(url, {"at": at(timezone.now() + DAY), "include": "links"}).json()
    assert [(link["state"]["source"], link["state"]["link_type"]) for link in now["links"]] == [("TC-1", "verifies")]
    assert "links" not in client.get(url, {"at": at(start + 6 * DAY)}).json()
    first = client.get(url, {"at": at(start + DAY)}).json()
    assert (first["state"]["text"], first["changed_by"], first["action"]) == ("first wording", "quinn", "item.created")


def _item_deleted_by_an_earlier_version(item, actor) -> None:
    """Items are made obsolete, never deleted; earlier versions deleted drafts with their links."""
    for link in Link.objects.filter(source=item):
        link_delete(link=link, actor=actor)
    audit_record(
        actor=actor,
        action="item.deleted",
        obj=item,
        scope=item.product.key,
        object_repr=item_repr(item),
        before=item_state(item),
    )
    Item.objects.filter(pk=item.pk).delete()


def test_a_deleted_items_history_stays_readable(api_client, auditor, developer, product, qm):
    client = api_client(auditor)
    start = timezone.now() - 3 * DAY
    with mock.patch("qms.services.timezone.now", return_value=start):
        draft = item_create(product=product, key="SRS-9", kind="software_requirement", title="Draft", actor=developer)
        target = item_create(product=product, key="SYS-9", kind="system_requirement", title="s", actor=developer)
        link_create(source=draft, target=target, link_type="derives_from", actor=developer)
    with mock.patch("qms.services.timezone.now", return_value=start + DAY):
        _item_deleted_by_an_earlier_version(draft, qm)
    assert client.get("/api/v1/products/DEMO/items/SRS-9/").status_code == 404
    events = client.get("/api/v1/products/DEMO/items/SRS-9/history/?include=links").json()
    assert [(e["action"], e["actor"]) for e in events] == [
        ("item.created", "dana"),
        ("link.created", "dana"),
        ("link.deleted", "quinn"),
        ("item.deleted", "quinn"),
    ]
    then = client.get("/api/v1/products/DEMO/items/SRS-9/history/", {"at": at(start + DAY / 2)}).json()
    assert (then["exists"], then["state"]["title"], then["changed_by"]) == (True, "Draft", "dana")
    gone = client.get("/api/v1/products/DEMO/items/SRS-9/history/", {"at": at(start + 2 * DAY)}).json()
    assert (gone["exists"], gone["action"], gone["changed_by"]) == (False, "item.deleted", "quinn")

    # the key created again: both lives are in its history
    item_create(product=product, key="SRS-9", kind="software_requirement", title="Again", actor=developer)
    actions = [e["action"] for e in client.get("/api/v1/products/DEMO/items/SRS-9/history/").json()]
    assert actions == ["item.created", "item.deleted", "item.created"]


def _grow_links(product, qm, target, n: int, offset: int) -> None:
    for index in range(n):
        test_case = item_create(
            product=product, key=f"TC-{offset + index}", kind="test_case", title="t", actor=qm, attributes={}
        )
        link = link_create(source=test_case, target=target, link_type="verifies", actor=qm)
        item_update(item=target, actor=qm, text=f"v{offset + index}")
        link_review(link=link, actor=qm)


@pytest.mark.parametrize(
    "query",
    ["", "?include=links", "?at=2999-01-01T00:00:00Z", "?at=2999-01-01T00:00:00Z&include=links"],
)
def test_item_history_costs_the_same_queries_for_1_and_n_links(api_client, auditor, product, qm, query):
    target = item_create(product=product, key="SRS-1", kind="software_requirement", title="r", actor=qm)
    client = api_client(auditor)
    _grow_links(product, qm, target, 1, 100)
    url = f"/api/v1/products/DEMO/items/SRS-1/history/{query}"
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    _grow_links(product, qm, target, 12, 200)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    if "include" in query and "at" in query:
        assert len(response.json()["links"]) == 13
    assert len(one) == len(many), f"{query}: {len(one)} queries for 1 link, {len(many)} for 13"
    assert len(many) <= 5
    assert AuditEvent.objects.count() > 50


def test_link_history_costs_a_constant_number_of_queries(api_client, auditor, product, qm):
    target = item_create(product=product, key="SRS-1", kind="software_requirement", title="r", actor=qm)
    _grow_links(product, qm, target, 1, 100)
    link = Link.objects.get()
    client = api_client(auditor)
    url = f"/api/v1/products/DEMO/links/{link.pk}/history/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for index in range(5):
        item_update(item=target, actor=qm, text=f"again {index}")
        link_review(link=link, actor=qm)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()) == 7
    assert len(few) == len(many) <= 5
