"""Concurrent link creation: hierarchy checks are serialised; a race ends in 409, never 500."""

import threading

import pytest
from django.db import connection, connections, transaction

from qms.errors import Conflict, InvalidInput
from qms.models import AuditEvent
from traceability.models import Item, Link
from traceability.services import links as link_services
from traceability.services.links import link_create


def test_a_duplicate_that_slips_past_the_check_is_a_conflict(db, small_graph, qm, monkeypatch):
    monkeypatch.setattr(link_services, "link_exists", lambda **kwargs: False)  # as if a concurrent request won
    before = (Link.objects.count(), AuditEvent.objects.count())
    with pytest.raises(Conflict, match="SRS-1 derives_from SYS-1 clashes with a concurrent change") as caught:
        link_create(source=small_graph["SRS-1"], target=small_graph["SYS-1"], link_type="derives_from", actor=qm)
    assert caught.value.code == "link_conflict"
    assert (Link.objects.count(), AuditEvent.objects.count()) == before


def test_a_racing_duplicate_over_the_api_is_409(db, api_client, developer, small_graph, monkeypatch):
    monkeypatch.setattr(link_services, "link_exists", lambda **kwargs: False)
    before = (Link.objects.count(), AuditEvent.objects.count())
    response = api_client(developer).post(
        "/api/v1/products/DEMO/links/", {"source": "TC-1", "link_type": "verifies", "target": "SRS-1"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"] == "link_conflict"
    assert "clashes with a concurrent change" in response.json()["detail"]
    assert (Link.objects.count(), AuditEvent.objects.count()) == before


def test_an_integrity_error_anywhere_in_the_api_is_409(db, api_client, developer, small_graph, monkeypatch):
    from django.db import IntegrityError

    def clash(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr("traceability.api.views.item_create", clash)
    response = api_client(developer).post(
        "/api/v1/products/DEMO/items/", {"key": "SRS-9", "kind": "software_requirement", "title": "t"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "nothing was written" in response.json()["detail"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite has one writer)")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # like the other transaction tests
def test_concurrent_opposite_hierarchy_links_cannot_both_pass(make_item, qm):
    a = make_item("SRS-1", "software_requirement")
    b = make_item("SRS-2", "software_requirement")
    first_created = threading.Event()
    release_first = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                link_create(source=a, target=b, link_type="derives_from", actor=qm)
                first_created.set()
                release_first.wait(10)
            outcome["first"] = "created"
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_created.wait(10)
            link_create(
                source=Item.objects.get(pk=b.pk), target=Item.objects.get(pk=a.pk), link_type="derives_from", actor=qm
            )
            outcome["second"] = "created"
        except InvalidInput as exc:
            outcome["second"] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_created.wait(10)
    threads[1].join(1.0)
    assert threads[1].is_alive(), "the second link_create should wait for the first transaction"
    release_first.set()
    for thread in threads:
        thread.join(20)
    assert outcome == {"first": "created", "second": "link_cycle"}
    assert list(Link.objects.values_list("source__key", "target__key")) == [("SRS-1", "SRS-2")]
