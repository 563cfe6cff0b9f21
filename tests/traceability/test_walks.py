"""Upstream / downstream of an item, orphans and cycles: selectors, API, item page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.traceability.engine import bulk_requirements
from traceability.graph.selectors import cycles_for_release, item_trace, orphans_for_release
from traceability.models import Item, Link
from traceability.services.items import item_update
from traceability.services.links import link_create
from traceability.services.releases import release_freeze

pytestmark = pytest.mark.django_db

BASE = "/api/v1/products/DEMO"


def entries(response):
    return [(e["key"], e["kind"], e["depth"], e["path"], e["suspect"]) for e in response.json()["results"]]


def test_upstream_and_downstream_of_an_item(api_client, auditor, small_graph, product, qm):
    client = api_client(auditor)
    up = client.get(f"{BASE}/items/SRS-1/trace/?direction=upstream")
    assert up.status_code == 200
    assert {k: up.json()[k] for k in ("product", "release", "frozen", "key", "kind", "direction", "count")} == {
        "product": "DEMO",
        "release": None,
        "frozen": False,
        "key": "SRS-1",
        "kind": "software_requirement",
        "direction": "upstream",
        "count": 4,
    }
    assert entries(up) == [
        ("RC-1", "risk_control", 1, ["SRS-1", "RC-1"], False),
        ("SYS-1", "system_requirement", 1, ["SRS-1", "SYS-1"], False),
        ("RISK-1", "risk", 2, ["SRS-1", "RC-1", "RISK-1"], False),
        ("UN-1", "user_need", 2, ["SRS-1", "SYS-1", "UN-1"], False),
    ]
    assert up.json()["results"][0]["title"] == "RC-1 title"
    assert up.json()["counts"] == {"system_requirement": 1, "user_need": 1, "risk": 1, "risk_control": 1}

    item_update(item=small_graph["SYS-1"], actor=qm, text="changed")  # SRS-1 derives_from SYS-1 is suspect
    down = client.get(f"{BASE}/items/SYS-1/trace/?direction=downstream")
    assert entries(down) == [
        ("SRS-1", "software_requirement", 1, ["SYS-1", "SRS-1"], True),
        ("TC-1", "test_case", 2, ["SYS-1", "SRS-1", "TC-1"], False),
    ]
    only = client.get(f"{BASE}/items/SRS-1/trace/?direction=upstream&link_type=derives_from")
    assert [e[0] for e in entries(only)] == ["SYS-1", "UN-1"] and only.json()["link_types"] == ["derives_from"]
    both = client.get(f"{BASE}/items/SRS-1/trace/?direction=upstream&link_type=mitigates&link_type=implements")
    assert [e[0] for e in entries(both)] == ["RC-1", "RISK-1"]


def test_a_release_is_traced_from_its_baseline(api_client, auditor, small_graph, product, make_item, qm):
    release_freeze(product=product, version="1.0", actor=qm)
    link_create(source=make_item("TC-2", "test_case"), target=small_graph["SRS-1"], link_type="verifies", actor=qm)
    client = api_client(auditor)
    live = client.get(f"{BASE}/items/SRS-1/trace/?direction=downstream").json()
    frozen = client.get(f"{BASE}/items/SRS-1/trace/?direction=downstream&release=1.0").json()
    assert [e["key"] for e in live["results"]] == ["TC-1", "TC-2"]
    assert [e["key"] for e in frozen["results"]] == ["TC-1"]
    assert (frozen["release"], frozen["frozen"]) == ("1.0", True)
    assert client.get(f"{BASE}/orphans/?release=1.0").json()["frozen"] is True


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("items/SRS-1/trace/", 400, "direction: This field is required."),
        ("items/SRS-1/trace/?direction=sideways", 400, "direction: unknown direction 'sideways' (known: upstream, "),
        ("items/SRS-1/trace/?direction=upstream&link_type=owns", 400, "link_type: unknown link type 'owns' (known: "),
        ("items/NOPE-1/trace/?direction=upstream", 404, "DEMO has no item 'NOPE-1'"),
        ("items/SRS-1/trace/?direction=upstream&release=9.9", 404, "DEMO has no release '9.9'"),
        ("orphans/?release=9.9", 404, "DEMO has no release '9.9'"),
        ("cycles/?release=9.9", 404, "DEMO has no release '9.9'"),
    ],
)
def test_bad_input_is_a_clear_error(api_client, auditor, small_graph, path, status, message):
    response = api_client(auditor).get(f"{BASE}/{path}")
    assert response.status_code == status
    assert response.json()["detail"].startswith(message)


def test_the_selectors_refuse_bad_input(small_graph, product):
    from qms.errors import InvalidInput, NotFound

    with pytest.raises(InvalidInput, match="direction: unknown direction 'up'"):
        item_trace(product=product, key="SRS-1", direction="up")
    with pytest.raises(InvalidInput, match="link_type: unknown link type 'owns'"):
        item_trace(product=product, key="SRS-1", direction="upstream", link_types=["owns"])
    with pytest.raises(NotFound, match="DEMO has no item 'SRS-9'"):
        item_trace(product=product, key="SRS-9", direction="upstream")


def test_an_obsolete_item_reaches_nothing(small_graph, product, qm):
    item_update(item=small_graph["SRS-1"], actor=qm, status="obsolete")
    _, trace = item_trace(product=product, key="SRS-1", direction="upstream")
    assert (trace.kind, trace.items) == ("software_requirement", [])


def test_orphans_and_cycles(api_client, auditor, small_graph, product, make_item):
    make_item("SRS-9", "software_requirement", title="Lonely")
    make_item("DOC-1", "document")
    client = api_client(auditor)
    assert client.get(f"{BASE}/orphans/").json()["results"] == [
        {"key": "SRS-9", "kind": "software_requirement", "title": "Lonely"}
    ]
    assert client.get(f"{BASE}/cycles/").json()["count"] == 0
    # written around the link service, which refuses cycles
    srs = {key: make_item(key, "software_requirement") for key in ("SRS-21", "SRS-22")}
    Link.objects.bulk_create(
        Link(
            product=product,
            source=srs[source],
            target=srs[target],
            link_type="derives_from",
            source_kind="software_requirement",
            target_kind="software_requirement",
            target_fingerprint=srs[target].fingerprint,
        )
        for source, target in (("SRS-21", "SRS-22"), ("SRS-22", "SRS-21"))
    )
    cycles = client.get(f"{BASE}/cycles/").json()
    assert cycles["results"] == [{"link_type": "derives_from", "keys": ["SRS-21", "SRS-22"]}]
    _, found = cycles_for_release(product=product)
    assert [(c.link_type, c.keys) for c in found] == [("derives_from", ["SRS-21", "SRS-22"])]
    _, orphans = orphans_for_release(product=product)
    assert [o.key for o in orphans] == ["SRS-9"]


def _count(client, path):
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(context)


def test_the_walks_cost_the_same_queries_for_one_item_and_many(api_client, auditor, small_graph, product, qm):
    release_freeze(product=product, version="1.0", actor=qm)
    client = api_client(auditor)
    paths = (
        f"{BASE}/items/SYS-1/trace/?direction=downstream",
        f"{BASE}/items/SRS-1/trace/?direction=upstream&release=1.0",
        f"{BASE}/orphans/",
        f"{BASE}/cycles/?release=1.0",
        "/p/DEMO/items/SYS-1/",
    )
    client.force_login(auditor)  # the item page uses the session
    one = [_count(client, path) for path in paths]
    bulk_requirements(product, 25)
    sys_1 = Item.objects.get(product=product, key="SYS-1")
    for index in range(101, 126):  # 25 more requirements below SYS-1
        srs = Item.objects.get(product=product, key=f"SRS-{index}")
        link_create(source=srs, target=sys_1, link_type="derives_from", actor=qm)
    many = [_count(client, path) for path in paths]
    assert many == one
    # live: the graph's nine queries plus session, user, role and product; a baseline: its row,
    # the release's signatures and approval record (traceability.integrity)
    assert one == [13, 8, 13, 8, 18]
    assert client.get(paths[0]).json()["count"] == 2 + 25 * 2


def test_the_item_page_shows_upstream_and_downstream(client, auditor, small_graph):
    client.force_login(auditor)
    page = client.get("/p/DEMO/items/SRS-1/").content.decode()
    assert '<h2 id="upstream">Upstream</h2>' in page and '<h2 id="downstream">Downstream</h2>' in page
    assert "SRS-1 depends on 4 items, transitively" in page
    assert "SRS-1 → SYS-1 → UN-1" in page and "SRS-1 → RC-1 → RISK-1" in page
    assert "SRS-1 is depended on by 1 item, transitively (test case: 1)." in page
    assert "<td>Risk record</td>" in page and "risk_control</td>" not in page
