"""Every endpoint requires authentication; auditors read everything and change nothing."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from qms.models import AuditEvent
from traceability.models import ClauseLink, Item, Link

pytestmark = pytest.mark.django_db

SAMPLE = {"product_key": "DEMO", "key": "SRS-1", "pk": "1", "number": "1", "slug": "iec-62304-2015"}
# endpoints that need a query parameter to answer at all (without it: 400 naming it)
REQUIRED_QUERY = {"/trace/": "?direction=upstream"}


def api_paths() -> list[str]:
    paths = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern):
                full = prefix + route
                if full.startswith("api/"):
                    for name, value in SAMPLE.items():
                        for converter in ("str", "int", "slug"):
                            full = full.replace(f"<{converter}:{name}>", value)
                    paths.append("/" + full)

    walk(get_resolver().url_patterns, "")
    return paths


def test_the_api_has_the_expected_endpoints():
    paths = set(api_paths())
    for expected in (
        "/api/v1/products/",
        "/api/v1/products/DEMO/items/",
        "/api/v1/products/DEMO/links/",
        "/api/v1/standards/",
        "/api/v1/standards/iec-62304-2015/clauses/",
        "/api/schema/",
        "/api/docs/",
    ):
        assert expected in paths


@pytest.mark.parametrize("path", api_paths())
@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_every_endpoint_refuses_anonymous_users(client, path, method):
    response = getattr(client, method)(path)
    assert response.status_code in (401, 403), f"{method.upper()} {path} gave {response.status_code}"


@pytest.mark.parametrize("path", api_paths())
def test_users_without_a_role_are_refused(api_client, no_role_user, path):
    # Webhooks authenticate by the product's secret, not by a user: a missing signature is 401
    # (tests/traceability/test_webhooks.py).
    expected = 401 if "/webhooks/" in path else 403
    assert api_client(no_role_user).get(path).status_code == expected


def test_auditors_read_everything(api_client, auditor, small_graph, catalogue):
    client = api_client(auditor)
    for path in api_paths():
        if "/webhooks/" in path:
            continue  # authenticated by the product's webhook secret, not by a role
        query = next((q for suffix, q in REQUIRED_QUERY.items() if path.endswith(suffix)), "")
        response = client.get(path + query)
        assert response.status_code in (200, 404, 405), f"GET {path}{query} gave {response.status_code}"
    assert client.get("/api/v1/products/DEMO/items/SRS-1/").status_code == 200


def test_auditors_change_nothing(api_client, auditor, small_graph, catalogue):
    client = api_client(auditor)
    before = (Item.objects.count(), Link.objects.count(), ClauseLink.objects.count(), AuditEvent.objects.count())
    link = Link.objects.first()
    attempts = [
        ("post", "/api/v1/products/", {"key": "NEW", "name": "x"}),
        ("patch", "/api/v1/products/DEMO/", {"name": "renamed"}),
        ("post", "/api/v1/products/DEMO/items/", {"key": "SRS-9", "kind": "software_requirement", "title": "x"}),
        ("patch", "/api/v1/products/DEMO/items/SRS-1/", {"title": "changed"}),
        ("delete", "/api/v1/products/DEMO/items/SRS-1/", None),
        ("post", "/api/v1/products/DEMO/links/", {"source": "TC-1", "link_type": "verifies", "target": "SYS-1"}),
        ("delete", f"/api/v1/products/DEMO/links/{link.pk}/", None),
        ("post", f"/api/v1/products/DEMO/links/{link.pk}/review/", {}),
        ("post", "/api/v1/products/DEMO/clause-links/", {"item": "SRS-1", "clause": "iec-62304-2015:5.2.1"}),
    ]
    for method, path, data in attempts:
        response = getattr(client, method)(path, data, format="json")
        assert response.status_code == 403, f"{method.upper()} {path} gave {response.status_code}"
    after = (Item.objects.count(), Link.objects.count(), ClauseLink.objects.count(), AuditEvent.objects.count())
    assert after == before


def test_developers_edit_items_but_not_products(api_client, developer, small_graph):
    client = api_client(developer)
    assert client.patch("/api/v1/products/DEMO/items/SRS-1/", {"title": "new"}, format="json").status_code == 200
    response = client.patch("/api/v1/products/DEMO/", {"name": "renamed"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": "permission_denied", "detail": "Your role may not write products."}


def test_schema_and_docs_are_served_without_a_cdn(api_client, auditor):
    client = api_client(auditor)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/products/{product_key}/items/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
