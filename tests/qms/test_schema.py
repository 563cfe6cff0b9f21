"""The OpenAPI schema generates cleanly and documents what the API really does."""

import io

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict:
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    generated["_stats"] = (dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))
    return generated


def test_schema_has_no_errors_and_no_warnings(schema):
    warnings, errors = schema["_stats"]
    assert warnings == {}
    assert errors == {}


def test_spectacular_validate_fail_on_warn_passes():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    assert '"openapi"' in out.getvalue()


def test_token_authentication_is_a_security_scheme(schema):
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "Token <key>" in scheme["description"]
    assert {"tokenAuth": []} in schema["paths"]["/api/v1/products/{product_key}/items/"]["get"]["security"]


def _query_params(schema: dict, path: str, method: str = "get") -> set[str]:
    return {p["name"] for p in schema["paths"][path][method].get("parameters", []) if p["in"] == "query"}


def test_product_scoped_lists_document_their_filters(schema):
    assert {"kind", "status", "q", "updated_after", "ordering", "search"} <= _query_params(
        schema, "/api/v1/products/{product_key}/items/"
    )
    assert {"link_type", "source", "target", "item", "suspect", "search"} <= _query_params(
        schema, "/api/v1/products/{product_key}/links/"
    )
    assert {"item", "standard", "clause"} <= _query_params(schema, "/api/v1/products/{product_key}/clause-links/")
    assert {"applies_to", "leaves_only"} <= _query_params(schema, "/api/v1/standards/{slug}/clauses/")
    assert {"version", "commit", "source"} <= _query_params(schema, "/api/v1/products/{product_key}/test-runs/")


def test_search_and_ordering_are_advertised_only_where_supported(schema):
    assert "search" not in _query_params(schema, "/api/v1/products/{product_key}/test-runs/")
    assert "ordering" not in _query_params(schema, "/api/v1/clauses/applicable/")
    assert "ordering" not in _query_params(schema, "/api/v1/products/{product_key}/clauses/")
    assert {"class", "standard", "search"} <= _query_params(schema, "/api/v1/clauses/applicable/")


def test_delete_endpoints_are_documented(schema):
    assert "delete" not in schema["paths"]["/api/v1/products/{product_key}/items/{key}/"]  # items are never deleted
    for path in [
        "/api/v1/products/{product_key}/links/{id}/",
        "/api/v1/products/{product_key}/clause-links/{id}/",
    ]:
        assert "204" in schema["paths"][path]["delete"]["responses"], path


def test_schema_endpoint_serves_the_same_schema(api_client, auditor):
    response = api_client(auditor).get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "tokenAuth" in response.json()["components"]["securitySchemes"]
