"""Standards API: query-count budgets, ordering and search."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from standards.models import Clause, ClauseMapping, MappingKind, Standard
from traceability.services.products import product_create, product_update

pytestmark = pytest.mark.django_db


def _grow(prefix: str, n: int) -> None:
    """Standards ``{prefix}-k`` with a heading and n sub-clauses each, mapped to the next standard."""
    previous: list[Clause] = []
    for index in range(n):
        standard = Standard.objects.create(
            slug=f"{prefix}-{index}", code=f"STD {prefix}{index}", edition="2020", title="t", uses_safety_classes=True
        )
        heading = Clause.objects.create(standard=standard, number="5", title="Heading", position=0, is_heading=True)
        clauses = [
            Clause.objects.create(
                standard=standard, number=f"5.{sub}", title=f"Clause {sub}", parent=heading, position=sub, depth=1
            )
            for sub in range(1, n + 1)
        ]
        for source, target in zip(clauses, previous, strict=False):
            ClauseMapping.objects.create(source=source, target=target, kind=MappingKind.REQUIRES)
        previous = clauses


BUDGET_ENDPOINTS = [
    "/api/v1/standards/",
    "/api/v1/standards/{first}/clauses/",
    "/api/v1/standards/{first}/clauses/?applies_to=B&leaves_only=true&search=Clause",
    "/api/v1/clauses/applicable/",
    "/api/v1/clauses/applicable/?class=B&standard={first}",
    "/api/v1/clause-mappings/",
    "/api/v1/clause-mappings/?standard={first}",
    "/api/v1/products/STD/clauses/",
]


@pytest.mark.parametrize("path", BUDGET_ENDPOINTS)
def test_standards_endpoints_cost_the_same_queries_for_1_and_n_rows(api_client, auditor, qm, path):
    client = api_client(auditor)
    _grow("one", 2)  # the smallest catalogue with a mapping: 2 standards, 2 clauses each
    product = product_create(key="STD", name="s", safety_class="B", standards=["one-0", "one-1"], actor=qm)
    url = path.format(first="one-0")
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _grow("many", 12)
    product_update(product=product, standards=[f"many-{i}" for i in range(12)] + ["one-0"], actor=qm)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url.replace("one-0", "many-0"))
        assert response.status_code == 200
    assert response.json()["count"] > 2
    assert len(few) == len(many), f"{path}: {len(few)} queries for few rows, {len(many)} for many"
    assert len(many) <= 7, f"{path}: {len(many)} queries"


@pytest.fixture
def small_catalogue(db):
    _grow("std", 3)


def test_clause_list_orders_by_the_advertised_fields(api_client, auditor, small_catalogue):
    client = api_client(auditor)
    numbers = [c["number"] for c in client.get("/api/v1/standards/std-0/clauses/?ordering=-position").json()["results"]]
    assert numbers == ["5.3", "5.2", "5.1", "5"]
    titles = [c["title"] for c in client.get("/api/v1/standards/std-0/clauses/?ordering=title").json()["results"]]
    assert titles == ["Clause 1", "Clause 2", "Clause 3", "Heading"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/api/v1/standards/std-0/clauses/?ordering=notes",
            "cannot order by 'notes'; ordering fields are position, title",
        ),
        ("/api/v1/clause-mappings/?ordering=-bogus", "cannot order by '-bogus'; ordering fields are kind, id"),
        ("/api/v1/standards/?ordering=code,title", "cannot order by 'title'"),
        ("/api/v1/clauses/applicable/?ordering=number", "this list has a fixed order and takes no 'ordering'"),
    ],
)
def test_unknown_ordering_fields_are_refused(api_client, auditor, small_catalogue, path, message):
    response = api_client(auditor).get(path)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert message in response.json()["detail"]


def test_search_filters_clauses_and_mappings(api_client, auditor, small_catalogue):
    client = api_client(auditor)
    assert [c["number"] for c in client.get("/api/v1/standards/std-0/clauses/?search=clause 2").json()["results"]] == [
        "5.2"
    ]
    assert client.get("/api/v1/clauses/applicable/?search=zzzz").json()["count"] == 0
    assert client.get("/api/v1/clauses/applicable/?search=Heading").json()["count"] == 3
    mappings = client.get("/api/v1/clause-mappings/?search=Clause 3").json()["results"]
    assert sorted((m["source"], m["target"]) for m in mappings) == [
        ("std-1:5.3", "std-0:5.3"),
        ("std-2:5.3", "std-1:5.3"),
    ]
    assert client.get("/api/v1/clause-mappings/?search=zzzz").json()["count"] == 0
    ordered = client.get("/api/v1/clause-mappings/?ordering=-id").json()["results"]
    assert [m["id"] for m in ordered] == sorted((m["id"] for m in ordered), reverse=True)


def test_product_clauses_search(api_client, auditor, qm, small_catalogue):
    product_create(key="STD", name="s", safety_class="B", standards=["std-0"], actor=qm)
    client = api_client(auditor)
    assert [c["number"] for c in client.get("/api/v1/products/STD/clauses/?search=Clause 1").json()["results"]] == [
        "5.1"
    ]
    assert client.get("/api/v1/products/STD/clauses/?search=zzzz").json()["count"] == 0
