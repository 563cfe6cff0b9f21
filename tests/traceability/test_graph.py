import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from standards.models import Clause
from tests.traceability.engine import at, bulk_requirements, make_run
from traceability.graph.load import baseline_content, graph_from_content, graph_load_live
from traceability.graph.model import (
    ProductInfo,
    ReleaseInfo,
    TraceGraph,
    TraceItem,
    TraceLink,
    natural_key,
    result_verdict,
    risk_acceptable,
)
from traceability.graph.selectors import items_impacted_by, suspect_links_for_release
from traceability.graph.walks import cycles_of, downstream_of, impact_of, orphans_of, upstream_of
from traceability.models import Commit, CommitLink, Item
from traceability.services.items import clause_link_create, item_update
from traceability.services.releases import release_create

pytestmark = pytest.mark.django_db


def test_live_graph_holds_items_links_and_suspect_flags(small_graph, qm, product):
    graph = graph_load_live(product=product)
    assert sorted(graph.items) == ["RC-1", "RISK-1", "SRS-1", "SYS-1", "TC-1", "UN-1"]
    assert graph.items["SRS-1"].text == "The dose shall be rounded down."
    assert graph.items["TC-1"].attributes == {"test_id": "tests/test_dose.py::test_round"}
    assert sorted(link.label for link in graph.links) == [
        "RC-1 mitigates RISK-1",
        "SRS-1 derives_from SYS-1",
        "SRS-1 implements RC-1",
        "SYS-1 derives_from UN-1",
        "TC-1 verifies SRS-1",
    ]
    assert not any(link.suspect for link in graph.links)
    assert graph.source == "live" and graph.release is None and not graph.is_frozen

    item_update(item=small_graph["SYS-1"], actor=qm, text="changed")
    graph = graph_load_live(product=product)
    assert [link.label for link in graph.links if link.suspect] == ["SRS-1 derives_from SYS-1"]
    assert graph.suspect_keys == {"SRS-1", "SYS-1"}
    suspect = suspect_links_for_release(product=product)
    assert [(link.label, link.target_revision) for link in suspect] == [("SRS-1 derives_from SYS-1", 1)]


def _queries(product, release=None) -> int:
    with CaptureQueriesContext(connection) as context:
        graph_load_live(product=product, release=release)
    return len(context)


def test_loading_costs_the_same_queries_for_one_item_and_many(product, make_item, qm, catalogue):
    make_item("SRS-1", "software_requirement")
    release = release_create(product=product, version="1.0", actor=qm)
    one = _queries(product), _queries(product, release)

    bulk_requirements(product, 40)
    cases = list(Item.objects.filter(product=product, kind="test_case").values_list("key", flat=True))
    make_run(product, dict.fromkeys(cases, "passed"), version="1.0")
    make_run(product, dict.fromkeys(cases, "failed"), version="0.9")
    clause = Clause.objects.get(standard__slug="iec-62304-2015", number="5.2.1")
    for item in Item.objects.filter(product=product, kind="software_requirement")[:5]:
        clause_link_create(item=item, clause=clause, actor=qm)
    commit = Commit.objects.create(product=product, sha="a" * 40, message="SRS-101: round down\n\nbody")
    CommitLink.objects.bulk_create(
        [CommitLink(commit=commit, item=item) for item in Item.objects.filter(product=product)[:10]]
    )
    many = _queries(product), _queries(product, release)

    assert one == many == (9, 10)  # a release adds its artifacts
    graph = graph_load_live(product=product, release=release)
    assert len(graph.items) == 121 and len(graph.results) == 40
    assert {result.status for result in graph.results.values()} == {"passed"}
    assert graph.commits["SRS-101"][0].subject == "SRS-101: round down"


@pytest.fixture
def tested(small_graph, product):
    return small_graph


def test_results_bind_to_the_release_by_version_or_commit(tested, product, qm):
    make_run(product, {"TC-1": "passed"}, version="1.0", started_at=at(1))
    make_run(product, {"TC-1": "failed"}, version="2.0", started_at=at(2))
    make_run(product, {"TC-1": "error"}, commit_sha="abc1234", started_at=at(3))
    v1 = release_create(product=product, version="1.0", actor=qm)
    v2 = release_create(product=product, version="2.0", actor=qm)
    v3 = release_create(product=product, version="3.0", commit_sha="abc1234", actor=qm)
    v4 = release_create(product=product, version="4.0", actor=qm)

    def status(release):
        result = graph_load_live(product=product, release=release).results.get("TC-1")
        return result.status if result else None

    assert (status(v1), status(v2), status(v3), status(v4)) == ("passed", "failed", "error", None)
    assert status(None) == "error"  # without a release: the newest run


def test_the_latest_result_wins_and_skipped_counts_as_none(tested, product, qm):
    release = release_create(product=product, version="1.0", actor=qm)
    make_run(product, {"TC-1": "passed"}, version="1.0", started_at=at(5), name="late")
    make_run(product, {"TC-1": "failed"}, version="1.0", started_at=at(4), name="early")
    result = graph_load_live(product=product, release=release).results["TC-1"]
    assert (result.status, result.run_name, result.verdict) == ("passed", "late", "pass")
    assert result.run_at == "2026-03-05T12:00:00Z"

    make_run(product, {"TC-1": "skipped"}, version="1.0", started_at=at(6), name="skip")
    result = graph_load_live(product=product, release=release).results["TC-1"]
    assert (result.status, result.verdict) == ("skipped", None)


def test_a_run_without_start_time_is_ordered_by_its_creation(tested, product, qm):
    release = release_create(product=product, version="1.0", actor=qm)
    make_run(product, {"TC-1": "failed"}, version="1.0", started_at=at(1))
    make_run(product, {"TC-1": "passed_with_exception"}, version="1.0", started_at=None)  # created now
    result = graph_load_live(product=product, release=release).results["TC-1"]
    assert (result.status, result.verdict) == ("passed_with_exception", "pass")


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        ("passed", "pass"),
        ("passed_with_exception", "pass"),
        ("failed_accepted", "pass"),
        ("failed", "fail"),
        ("error", "fail"),
        ("skipped", None),
        (None, None),
    ],
)
def test_result_verdicts(status, verdict):
    assert result_verdict(status) == verdict


def test_a_baseline_round_trip_gives_the_same_graph(tested, product, qm):
    make_run(product, {"TC-1": "passed"}, version="1.0", started_at=at(1))
    item_update(item=tested["SRS-1"], actor=qm, title="Round the dose down")
    release = release_create(product=product, version="1.0", actor=qm)
    live = graph_load_live(product=product, release=release)
    content = baseline_content(live, taken_at="2026-03-09T10:00:00Z")
    frozen = graph_from_content(content, release=ReleaseInfo("1.0", "frozen", "", "", True, "f" * 64))
    assert frozen.source == "baseline" and frozen.is_frozen
    assert frozen.items == live.items
    assert sorted((link.label, link.suspect) for link in frozen.links) == sorted(
        (link.label, link.suspect) for link in live.links
    )
    assert frozen.results == live.results
    assert frozen.product == live.product
    assert [item["key"] for item in content["items"]] == sorted(live.items)
    assert content["taken_at"] == "2026-03-09T10:00:00Z" and content["release"]["version"] == "1.0"


def test_upstream_and_downstream(tested, product):
    graph = graph_load_live(product=product)
    assert upstream_of(graph, "SRS-1") == ["RC-1", "RISK-1", "SYS-1", "UN-1"]
    assert upstream_of(graph, "SRS-1", link_types=["derives_from"]) == ["SYS-1", "UN-1"]
    assert downstream_of(graph, "SYS-1") == ["SRS-1", "TC-1"]
    assert downstream_of(graph, "RISK-1") == ["RC-1", "SRS-1", "TC-1"]
    with pytest.raises(KeyError):
        upstream_of(graph, "NOPE-1")


def test_impact_of_a_change_lists_everything_downstream_with_paths(tested, product, qm, make_item, catalogue):
    make_item("TC-2", "test_case")
    from traceability.services.links import link_create

    link_create(source=Item.objects.get(key="TC-2"), target=tested["RC-1"], link_type="verifies", actor=qm)
    clause = Clause.objects.get(standard__slug="iec-62304-2015", number="5.7.1")
    clause_link_create(item=tested["TC-1"], clause=clause, actor=qm)
    graph = graph_load_live(product=product)
    impact = impact_of(graph, "SYS-1")
    assert [(item.key, item.path) for item in impact.items] == [
        ("SRS-1", ["SYS-1", "SRS-1"]),
        ("RC-1", ["SYS-1", "SRS-1", "RC-1"]),
        ("TC-1", ["SYS-1", "SRS-1", "TC-1"]),
        ("TC-2", ["SYS-1", "SRS-1", "RC-1", "TC-2"]),
    ]
    assert impact.counts() == {"software_requirement": 1, "risk_control": 1, "test_case": 2}
    assert impact.clauses == ["iec-62304-2015:5.7.1"]
    assert impact.summary == (
        "A change to SYS-1 impacts 1 software requirement, 1 risk control measure, 2 test cases and 1 clause."
    )
    assert impact_of(graph, "TC-1").summary == "A change to TC-1 impacts 1 clause."  # the clause it evidences
    assert impact_of(graph, "TC-2").summary == "A change to TC-2 impacts nothing else."

    item_update(item=tested["SYS-1"], actor=qm, text="now different")
    impact = items_impacted_by(product=product, key="SYS-1")
    assert [(item.key, item.suspect) for item in impact.items][:1] == [("SRS-1", True)]


def test_orphans_and_cycles(tested, product, make_item):
    make_item("SRS-9", "software_requirement")
    make_item("DOC-1", "document")
    graph = graph_load_live(product=product)
    assert orphans_of(graph) == ["SRS-9"]
    assert cycles_of(graph) == []

    def item(key: str) -> TraceItem:
        return TraceItem(key, "software_requirement", key, "", "approved", {}, 1, "f")

    looped = TraceGraph(
        product=ProductInfo("X", "X", "", {}, {}, []),
        release=None,
        source="live",
        items={key: item(key) for key in ("SRS-1", "SRS-2", "SRS-3")},
        links=[
            TraceLink("SRS-2", "derives_from", "SRS-1", 1, "f"),
            TraceLink("SRS-3", "derives_from", "SRS-2", 1, "f"),
            TraceLink("SRS-1", "derives_from", "SRS-3", 1, "f"),
        ],
        clauses=[],
        clause_links={},
        results={},
        commits={},
    )
    assert cycles_of(looped) == [["SRS-1", "SRS-3", "SRS-2"]]


def test_natural_key_order_and_risk_acceptability():
    keys = ["SRS-10", "SRS-2", "A-1", "SRS-1b", "7"]
    assert sorted(keys, key=natural_key) == ["A-1", "SRS-1b", "SRS-2", "SRS-10", "7"]
    matrix = {"acceptable": [[True, False], [False, False]]}
    assert risk_acceptable(matrix, 1, 1) is True
    assert risk_acceptable(matrix, 1, 2) is False
    assert risk_acceptable(matrix, 3, 1) is None
    assert risk_acceptable(matrix, None, 1) is None
    assert risk_acceptable(matrix, 0, 1) is None
