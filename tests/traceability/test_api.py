from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qms.models import AuditEvent
from traceability.models import Item, Link
from traceability.services.items import item_create
from traceability.services.links import link_create

pytestmark = pytest.mark.django_db


def test_item_crud_over_the_api(api_client, developer, product):
    client = api_client(developer)
    response = client.post(
        "/api/v1/products/DEMO/items/",
        {
            "key": "SRS-12",
            "kind": "software_requirement",
            "title": "Round down",
            "text": "Doses are rounded down.",
            "attributes": {"category": "functional"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["revision"] == 1
    assert response.json()["created_by"] == "dana"

    response = client.patch(
        "/api/v1/products/DEMO/items/SRS-12/", {"status": "in_review", "expected_revision": 1}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["revision"] == 2

    response = client.patch(
        "/api/v1/products/DEMO/items/SRS-12/", {"title": "x", "expected_revision": 1}, format="json"
    )
    assert response.status_code == 409
    assert "revision 2, not 1" in response.json()["detail"]

    history = client.get("/api/v1/products/DEMO/items/SRS-12/history/").json()
    assert [event["action"] for event in history] == ["item.created", "item.updated"]
    assert history[1]["before"]["status"] == "draft"

    response = client.delete("/api/v1/products/DEMO/items/SRS-12/")  # items are never deleted
    assert response.status_code == 405
    assert response.json() == {
        "error": "method_not_allowed",
        "detail": 'items are quality records and are never deleted: make the item obsolete (PATCH {"status": '
        '"obsolete"}); its links and history stay',
    }
    response = client.patch("/api/v1/products/DEMO/items/SRS-12/", {"status": "obsolete"}, format="json")
    assert (response.status_code, response.json()["status"], response.json()["revision"]) == (200, "obsolete", 3)
    assert Item.objects.filter(key="SRS-12").count() == 1


def test_history_at_a_moment(api_client, developer, product):
    client = api_client(developer)
    client.post(
        "/api/v1/products/DEMO/items/", {"key": "SRS-1", "kind": "software_requirement", "title": "t"}, format="json"
    )
    assert client.get("/api/v1/products/DEMO/items/SRS-1/history/?at=2000-01-01T00:00:00Z").json()["exists"] is False
    state = client.get("/api/v1/products/DEMO/items/SRS-1/history/?at=2999-01-01T00:00:00Z").json()
    assert state["exists"] is True and state["state"]["title"] == "t" and state["changed_by"] == "dana"
    bad = client.get("/api/v1/products/DEMO/items/SRS-1/history/?at=yesterday")
    assert bad.status_code == 400 and "'at' must be an ISO 8601" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"source": "TC-1", "link_type": "derives_from", "target": "SRS-1"}, 400, "a test_case cannot 'derives_from'"),
        ({"source": "SRS-1", "link_type": "derives_from", "target": "SRS-1"}, 400, "cannot link to itself"),
        ({"source": "SRS-1", "link_type": "derives_from", "target": "SYS-1"}, 400, "duplicate link"),
        ({"source": "UN-1", "link_type": "validates", "target": "TC-1"}, 400, "a user_need cannot 'validates'"),
        ({"source": "SRS-1", "link_type": "likes", "target": "SYS-1"}, 400, "link_type"),
        ({"source": "SRS-404", "link_type": "derives_from", "target": "SYS-1"}, 404, "no item 'SRS-404'"),
    ],
)
def test_invalid_links_over_the_api(api_client, developer, small_graph, payload, status, message):
    before = (Link.objects.count(), AuditEvent.objects.count())
    response = api_client(developer).post("/api/v1/products/DEMO/links/", payload, format="json")
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert (Link.objects.count(), AuditEvent.objects.count()) == before


def test_cycle_over_the_api(api_client, developer, make_item, qm):
    a, b = make_item("SRS-1", "software_requirement"), make_item("SRS-2", "software_requirement")
    link_create(source=a, target=b, link_type="derives_from", actor=qm)
    response = api_client(developer).post(
        "/api/v1/products/DEMO/links/",
        {"source": "SRS-2", "link_type": "derives_from", "target": "SRS-1"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "link_cycle"
    assert Link.objects.count() == 1


def test_bad_item_input_over_the_api(api_client, developer, product):
    client = api_client(developer)
    cases = [
        ({"key": "SRS-1", "kind": "software_requirement"}, "title"),
        ({"key": "SRS-1", "kind": "wish", "title": "x"}, "kind"),
        ({"key": "SRS-1", "kind": "risk", "title": "x", "attributes": {"hazard": "h"}}, "hazardous_situation"),
    ]
    for payload, message in cases:
        response = client.post("/api/v1/products/DEMO/items/", payload, format="json")
        assert response.status_code == 400
        assert message in response.json()["detail"]
    response = client.patch("/api/v1/products/DEMO/items/SRS-1/", {"title": "x"}, format="json")
    assert response.status_code == 404
    assert client.get("/api/v1/products/NOPE/items/").status_code == 404
    assert not Item.objects.exists()


def test_kind_cannot_be_changed_over_the_api(api_client, developer, make_item):
    make_item("SRS-1", "software_requirement")
    response = api_client(developer).patch("/api/v1/products/DEMO/items/SRS-1/", {"kind": "test_case"}, format="json")
    assert response.status_code == 400
    assert "'kind' never changes" in response.json()["detail"]


def test_suspect_links_and_review_over_the_api(api_client, developer, qm, small_graph):
    client = api_client(developer)
    client.patch("/api/v1/products/DEMO/items/SYS-1/", {"text": "new system requirement text"}, format="json")
    suspect = client.get("/api/v1/products/DEMO/links/?suspect=true").json()["results"]
    assert [(link["source"], link["target"]) for link in suspect] == [("SRS-1", "SYS-1")]
    response = client.post(
        f"/api/v1/products/DEMO/links/{suspect[0]['id']}/review/", {"note": "still derives"}, format="json"
    )
    assert response.status_code == 200 and response.json()["is_suspect"] is False
    assert client.get("/api/v1/products/DEMO/links/?suspect=true").json()["results"] == []


def test_clause_links_over_the_api(api_client, developer, small_graph, catalogue):
    client = api_client(developer)
    response = client.post(
        "/api/v1/products/DEMO/clause-links/", {"item": "SRS-1", "clause": "iec-62304-2015:5.2.1"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["clause"] == "iec-62304-2015:5.2.1"
    bad = client.post(
        "/api/v1/products/DEMO/clause-links/", {"item": "SRS-1", "clause": "iec-62304-2015:42"}, format="json"
    )
    assert bad.status_code == 400 and "unknown clause" in bad.json()["detail"]


def _grow(product, qm, n: int) -> None:
    for index in range(n):
        sys_item = item_create(
            product=product, key=f"SYS-{100 + index}", kind="system_requirement", title="s", actor=qm
        )
        srs = item_create(product=product, key=f"SRS-{100 + index}", kind="software_requirement", title="r", actor=qm)
        link_create(source=srs, target=sys_item, link_type="derives_from", actor=qm)


LIST_ENDPOINTS = [
    "/api/v1/products/",
    "/api/v1/products/DEMO/items/",
    "/api/v1/products/DEMO/items/?kind=software_requirement&q=r",
    "/api/v1/products/DEMO/links/",
    "/api/v1/products/DEMO/links/?suspect=false",
    "/api/v1/products/DEMO/links/?search=SRS&ordering=-created_at",
    "/api/v1/products/DEMO/clause-links/",
    "/api/v1/products/DEMO/clause-links/?search=SRS",
    "/api/v1/audit-events/",
]


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
def test_list_endpoints_cost_the_same_queries_for_1_and_n_rows(api_client, auditor, product, qm, path):
    client = api_client(auditor)
    _grow(product, qm, 1)
    client.get(path)  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert client.get(path).status_code == 200
    _grow_more: Callable[[], None] = lambda: _grow_offset(product, qm)  # noqa: E731
    _grow_more()
    with CaptureQueriesContext(connection) as many:
        assert client.get(path).status_code == 200
    assert len(one) == len(many), f"{path}: {len(one)} queries for 1 row, {len(many)} for many"
    assert len(many) <= 8, f"{path}: {len(many)} queries"


def _grow_offset(product, qm) -> None:
    for index in range(1, 15):
        sys_item = item_create(
            product=product, key=f"SYS-{200 + index}", kind="system_requirement", title="s", actor=qm
        )
        srs = item_create(product=product, key=f"SRS-{200 + index}", kind="software_requirement", title="r", actor=qm)
        link_create(source=srs, target=sys_item, link_type="derives_from", actor=qm)


def test_link_search_and_ordering(api_client, auditor, small_graph):
    client = api_client(auditor)
    assert client.get("/api/v1/products/DEMO/links/?search=zzzz").json()["count"] == 0
    found = client.get("/api/v1/products/DEMO/links/?search=TC-1").json()["results"]
    assert [(link["source"], link["link_type"], link["target"]) for link in found] == [("TC-1", "verifies", "SRS-1")]
    ordered = client.get("/api/v1/products/DEMO/links/?ordering=-target__key").json()["results"]
    assert [link["target"] for link in ordered] == ["UN-1", "SYS-1", "SRS-1", "RISK-1", "RC-1"]
    bad = client.get("/api/v1/products/DEMO/links/?ordering=is_suspect")
    assert bad.status_code == 400
    assert "cannot order by 'is_suspect'; ordering fields are created_at, link_type" in bad.json()["detail"]


def test_clause_link_search(api_client, developer, small_graph, catalogue):
    client = api_client(developer)
    for item, clause in [("SRS-1", "iec-62304-2015:5.2.1"), ("TC-1", "iec-62304-2015:5.7.1")]:
        assert (
            client.post(
                "/api/v1/products/DEMO/clause-links/", {"item": item, "clause": clause}, format="json"
            ).status_code
            == 201
        )
    assert client.get("/api/v1/products/DEMO/clause-links/?search=zzzz").json()["count"] == 0
    found = client.get("/api/v1/products/DEMO/clause-links/?search=5.7.1").json()["results"]
    assert [(link["item"], link["clause"]) for link in found] == [("TC-1", "iec-62304-2015:5.7.1")]
    ordered = client.get("/api/v1/products/DEMO/clause-links/?ordering=-item__key").json()["results"]
    assert [link["item"] for link in ordered] == ["TC-1", "SRS-1"]
