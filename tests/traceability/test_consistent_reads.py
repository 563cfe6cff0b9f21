"""Consistent reads under write load (issue 9, item 9): an answer built from several queries sees
one moment, whatever CI commits between them.

The races are made deterministic: a hook on ``Link.objects.filter`` (the graph's links query comes
right after its items query) commits a CI upload from a second database connection and waits for
it before the query runs. Without a snapshot that upload's new test case is missing from the items
while its link and result are there (the ``KeyError`` that made the status endpoint answer 500).
"""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections, transaction

from qms.snapshot import read_snapshot
from traceability.graph.load import graph_load_live
from traceability.graph.selectors import graph_load, release_status
from traceability.models import Baseline, Item, Link, Product, Release, TestResult
from traceability.services.evidence import junit_ingest, run_input_clean
from traceability.services.evidence import runs as run_services
from traceability.services.releases import release_create, release_freeze

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs a second connection committing while the first reads"
)
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)

UPLOAD = (
    b'<?xml version="1.0"?><testsuite name="pytest" tests="1">'
    b'<testcase classname="tests.test_limits" name="test_ceiling">'
    b'<properties><property name="requirements" value="SRS-1" /></properties></testcase></testsuite>'
)


def upload(product: Product, developer: Any, version: str = "1.0") -> None:
    """A CI upload: a new test case (TC-2), its link to SRS-1 and its result, in one transaction."""
    junit_ingest(
        product=Product.objects.get(pk=product.pk),
        files=[("ci.xml", UPLOAD)],
        run=run_input_clean(version=version, name="ci"),
        actor=developer,
    )


def committed_elsewhere(work: Callable[[], None]) -> None:
    """Run ``work`` on another thread, hence another database connection, and wait until it has
    committed (it must not need anything the caller holds)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the test
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the upload on the other connection did not finish"
    if failures:
        raise failures[0]


@pytest.fixture
def between_items_and_links(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[], None]], list[str]]]:
    """``arm(work)``: the next links query first has ``work`` committed from another connection."""
    original = Link.objects.filter
    fired: list[str] = []

    def arm(work: Callable[[], None]) -> list[str]:
        def filter_after(*args: Any, **kwargs: Any) -> Any:
            if not fired:
                fired.append("committed before the links query")
                committed_elsewhere(work)
            return original(*args, **kwargs)

        monkeypatch.setattr(Link.objects, "filter", filter_after)
        return fired

    yield arm


@pytest.fixture
def draft(small_graph: dict[str, Item], qm: Any) -> Release:
    return release_create(product=small_graph["SRS-1"].product, version="1.0", actor=qm)


@transactional
def test_the_graph_is_read_in_one_transaction(draft: Release) -> None:
    seen: list[tuple[str, bool]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        graph = graph_load_live(product=draft.product, release=draft)
    assert sorted(graph.items) == ["RC-1", "RISK-1", "SRS-1", "SYS-1", "TC-1", "UN-1"]
    selects = [(sql, inside) for sql, inside in seen if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 10  # the graph's nine queries and the release's artifacts (traceability.graph.load)
    assert all(inside for _, inside in selects)
    if connection.vendor == "postgresql":
        assert seen[0][0] == "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
    assert not connection.in_atomic_block  # the snapshot ended with the load


def test_a_snapshot_inside_an_open_transaction_joins_it(db: Any) -> None:
    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(record):
        with read_snapshot():
            Product.objects.exists()
        assert connection.in_atomic_block
    assert not any("SET TRANSACTION" in sql for sql in seen)  # the isolation is the caller's


@postgresql_only
@transactional
def test_without_a_snapshot_an_upload_between_the_queries_breaks_the_graph(
    draft: Release, developer: Any, between_items_and_links: Callable[..., list[str]]
) -> None:
    """The race as it was: a READ COMMITTED transaction sees the upload's link but not its test case."""
    fired = between_items_and_links(lambda: upload(draft.product, developer))
    with pytest.raises(KeyError), transaction.atomic():
        graph_load_live(product=draft.product, release=draft)
    assert fired == ["committed before the links query"]


@postgresql_only
@transactional
def test_an_upload_between_the_graph_queries_is_not_half_seen(
    draft: Release, developer: Any, between_items_and_links: Callable[..., list[str]]
) -> None:
    product = draft.product
    before = graph_load_live(product=product, release=draft)
    fired = between_items_and_links(lambda: upload(product, developer))
    during = graph_load_live(product=product, release=draft)
    assert fired == ["committed before the links query"]
    assert sorted(during.items) == sorted(before.items)
    assert during.links == before.links and during.results == before.results == {}
    after = graph_load_live(product=product, release=draft)
    assert sorted(set(after.items) - set(during.items)) == ["TC-2"]
    assert [(link.source, link.link_type, link.target) for link in after.links if link.source == "TC-2"] == [
        ("TC-2", "verifies", "SRS-1")
    ]
    assert {key: result.status for key, result in after.results.items()} == {"TC-2": "passed"}


@postgresql_only
@transactional
def test_the_status_endpoint_answers_while_ci_uploads(
    draft: Release, developer: Any, auditor: Any, api_client: Any, between_items_and_links: Callable[..., list[str]]
) -> None:
    client = api_client(auditor)
    path = "/api/v1/products/DEMO/releases/1.0/status/"
    before = client.get(path).json()
    fired = between_items_and_links(lambda: upload(draft.product, developer))
    during = client.get(path)
    assert fired == ["committed before the links query"]
    assert during.status_code == 200
    assert during.json() == before
    after = client.get(path).json()
    assert TestResult.objects.filter(test_case__key="TC-2").count() == 1
    assert [(answer["errors"], answer["warnings"]) for answer in (before, after)] == [(4, 7), (4, 8)]


@postgresql_only
@transactional
def test_the_live_matrix_answers_while_ci_uploads(
    draft: Release, developer: Any, auditor: Any, api_client: Any, between_items_and_links: Callable[..., list[str]]
) -> None:
    client = api_client(auditor)
    path = "/api/v1/products/DEMO/releases/1.0/matrix/"
    before = client.get(path).json()
    fired = between_items_and_links(lambda: upload(draft.product, developer))
    during = client.get(path)
    assert fired == ["committed before the links query"]
    assert during.status_code == 200
    assert during.json() == before
    srs = next(row for row in client.get(path).json()["results"] if row["key"] == "SRS-1")
    assert (sorted(srs["tests"]), srs["test_results"]["TC-2"]) == (["TC-1", "TC-2"], "passed")


@postgresql_only
@transactional
def test_a_release_frozen_between_reads_is_answered_from_its_baseline_with_its_state(draft: Release, qm: Any) -> None:
    """The status reads the release again in its snapshot: frozen by someone else after the caller
    looked it up, it is answered as frozen, with the baseline, never as a draft with a baseline."""
    stale = Release.objects.select_related("product").get(pk=draft.pk)
    committed_elsewhere(
        lambda: release_freeze(product=Product.objects.get(pk=draft.product_id), version="1.0", actor=qm)
    )
    status = release_status(release=stale)
    assert (stale.state, status["state"], status["frozen"]) == ("draft", "frozen", True)
    assert status["baseline_sha256"] == Baseline.objects.get(release=draft).sha256
    graph = graph_load(product=stale.product, release=stale)
    assert (graph.source, graph.release.state if graph.release else None) == ("baseline", "frozen")


def _backend_waits_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@postgresql_only
@transactional
def test_a_freeze_waits_for_an_upload_under_way_and_takes_it_whole(
    small_graph: dict[str, Item], developer: Any, qm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """release_freeze reads inside its own transaction (no snapshot of its choosing): it locks the
    trace tables first. An upload that has written its rows but not yet appended to the audit
    chain is waited for, and is in the baseline whole. (Locking after the release's own audit
    event deadlocked: the upload waited for the chain's head, the freeze for the upload.)"""
    product = small_graph["SRS-1"].product
    written, go = threading.Event(), threading.Event()
    original = run_services.audit_record_many

    def audit_when_let_go(**kwargs: Any) -> Any:
        written.set()
        assert go.wait(20), "the upload was never let go"
        return original(**kwargs)

    monkeypatch.setattr(run_services, "audit_record_many", audit_when_let_go)
    outcome: dict[str, Any] = {}
    freezer_pid: list[int] = []

    def ci() -> None:
        try:
            upload(product, developer, version="2.0")
            outcome["upload"] = "stored"
        except Exception as exc:  # reported by the assertion below
            outcome["upload"] = repr(exc)
        finally:
            connections.close_all()

    def freeze() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                freezer_pid.append(cursor.fetchone()[0])
            release_freeze(product=Product.objects.get(pk=product.pk), version="2.0", actor=qm)
            outcome["freeze"] = "frozen"
        except Exception as exc:  # reported by the assertion below
            outcome["freeze"] = repr(exc)
        finally:
            connections.close_all()

    uploader = threading.Thread(target=ci)
    uploader.start()
    assert written.wait(20), "the upload did not reach its audit events"
    freezer = threading.Thread(target=freeze)
    freezer.start()
    for _ in range(400):  # up to 20 s for the freeze to start waiting for the upload's locks
        if freezer_pid and _backend_waits_for_a_lock(freezer_pid[0]):
            break
        threading.Event().wait(0.05)
    else:
        go.set()
        pytest.fail(f"the freeze did not wait for the upload: {outcome}")
    go.set()
    uploader.join(30)
    freezer.join(30)
    assert outcome == {"upload": "stored", "freeze": "frozen"}
    baseline = Baseline.objects.get(release__product=product, release__version="2.0")
    assert (baseline.item_count, baseline.result_count) == (7, 1)


@postgresql_only
@transactional
def test_an_item_export_is_one_moment(
    small_graph: dict[str, Item], qm: Any, between_items_and_links: Callable[..., list[str]]
) -> None:
    """An export (an accurate and complete copy) never names an item it does not hold."""
    from traceability.selectors import item_records
    from traceability.services.items import item_create
    from traceability.services.links import link_create

    product = small_graph["SRS-1"].product

    def new_parent() -> None:
        sys2 = item_create(
            product=Product.objects.get(pk=product.pk), key="SYS-2", kind="system_requirement", title="SYS-2", actor=qm
        )
        link_create(
            source=Item.objects.get(pk=small_graph["SRS-1"].pk), target=sys2, link_type="derives_from", actor=qm
        )

    fired = between_items_and_links(new_parent)
    during = item_records(product=product)
    assert fired == ["committed before the links query"]
    keys = {record.key for record in during}
    assert keys == {"RC-1", "RISK-1", "SRS-1", "SYS-1", "TC-1", "UN-1"}
    named = {target for record in during for targets in record.links.values() for target in targets}
    assert named <= keys
    srs = next(record for record in during if record.key == "SRS-1")
    assert srs.links == {"derives_from": ["SYS-1"], "implements": ["RC-1"]}
    after = next(record for record in item_records(product=product) if record.key == "SRS-1")
    assert after.links["derives_from"] == ["SYS-1", "SYS-2"]
