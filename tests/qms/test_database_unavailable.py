"""A lost database: 503 (JSON on the API, plain text on pages), never a 500 page; the first request
after a dropped persistent connection reconnects (CONN_HEALTH_CHECKS)."""

from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError, close_old_connections, connection
from django.test import Client

from tests.conftest import token_client

pytestmark = pytest.mark.django_db

UNAVAILABLE = "the database is not reachable; nothing was done, try again in a minute"


def database_down():
    """Every new query fails as when the server is gone (the connection cannot be opened)."""
    return mock.patch.object(
        connection, "ensure_connection", side_effect=OperationalError("connection refused: is the server running?")
    )


@pytest.mark.parametrize(
    "url",
    ["/api/v1/products/", "/api/v1/products/DEMO/releases/1.0/status/", "/api/v1/products/DEMO/items/?q=x"],
)
def test_the_api_answers_503_json_when_the_database_is_gone(small_graph, developer, url):
    client = Client(raise_request_exception=False)
    client.force_login(developer)
    with database_down():
        connection.close()
        response = client.get(url)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    assert response.json() == {"error": "database_unavailable", "detail": UNAVAILABLE}


def test_a_token_request_gets_503_json_too(small_graph, developer):
    client = token_client(developer, ["evidence"])
    with database_down():
        connection.close()
        response = client.post("/api/v1/products/DEMO/junit/?version=1.0.0", b"<testsuite/>", content_type="text/xml")
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"


@pytest.mark.parametrize("url", ["/p/DEMO/", "/admin/", "/accounts/login/"])
def test_pages_answer_a_plain_503(small_graph, developer, url):
    client = Client(raise_request_exception=False)
    client.force_login(developer)
    with database_down():
        connection.close()
        response = client.get(url)
    assert response.status_code == 503
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Retry-After"] == "30"
    assert response.content.decode() == f"Service unavailable: {UNAVAILABLE}.\n"


def test_the_login_page_posted_without_a_database_is_a_plain_503(db):
    client = Client(raise_request_exception=False)
    with database_down():
        connection.close()
        response = client.post("/accounts/login/", {"username": "quinn", "password": "x"})
    assert response.status_code == 503
    assert response.content.decode() == f"Service unavailable: {UNAVAILABLE}.\n"


def test_other_crashes_on_the_api_are_json_500_not_an_html_page(small_graph, developer):
    client = Client(raise_request_exception=False)
    client.force_login(developer)
    with mock.patch("traceability.api.views.product_list", side_effect=RuntimeError("boom")):
        response = client.get("/api/v1/products/")
    assert response.status_code == 500
    assert response.json() == {"error": "server_error", "detail": "an unexpected error; it was logged"}


def test_connection_health_checks_are_on():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server connection to drop: PostgreSQL only")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # like the other transaction tests
@pytest.mark.parametrize("health_checks", [True, False])
def test_the_first_request_after_a_dropped_connection_reconnects(small_graph, developer, health_checks):
    """A persistent connection (DB_CONN_MAX_AGE) that the server dropped, e.g. on a restart."""
    import psycopg

    client = Client(raise_request_exception=False)
    client.force_login(developer)
    connection.close()
    with mock.patch.dict(connection.settings_dict, CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=health_checks):
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        with psycopg.connect(**{key: value for key, value in params.items() if key != "cursor_factory"}) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        close_old_connections()  # what Django does when a request starts
        response = client.get("/api/v1/products/")
    connection.close()
    if health_checks:
        assert response.status_code == 200
        assert [product["key"] for product in response.json()["results"]] == ["DEMO"]
    else:  # without them the request fails; it still fails as a 503, not a 500
        assert response.status_code == 503
        assert response.json()["error"] == "database_unavailable"
