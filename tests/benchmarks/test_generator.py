"""The benchmark generator is code that must not rot: at a tiny size, its three outputs (this
product's database, the Doorstop tree, the StrictDoc documents) hold the same graph."""

import subprocess

import pytest

from benchmarks.floor import floor_run
from benchmarks.generate import (
    DatasetSpec,
    dataset_graph,
    doorstop_graph_read,
    doorstop_write,
    product_graph_read,
    product_load,
    strictdoc_graph_read,
    strictdoc_write,
)
from qms.models import AuditEvent
from traceability.models import Item, Link, Product

TINY = DatasetSpec(systems=3, software=7, tests=5)


def test_sizes_follow_the_default_proportions():
    assert DatasetSpec.of_items(15_000) == DatasetSpec() == DatasetSpec(systems=1000, software=9000, tests=5000)
    assert (DatasetSpec.of_items(3000).systems, DatasetSpec.of_items(3000).software) == (200, 1800)
    assert DatasetSpec.of_items(1000).total == 1000
    assert DatasetSpec.scaled(0.2) == DatasetSpec.of_items(3000)
    assert DatasetSpec(software=100_000, tests=100_000).key("SRS", 7) == "SRS-000007"
    assert TINY.key("SRS", 7) == "SRS-00007"


def test_the_graph_follows_the_recipe():
    graph = dataset_graph(DatasetSpec())
    assert len(graph) == 15_000
    assert graph["SYS-00001"] == ("SYS", None)
    assert graph["SRS-01001"] == ("SRS", "SYS-00001")
    assert graph["TST-05000"] == ("TST", "SRS-05000")
    covered = {parent for prefix, parent in graph.values() if prefix == "TST"}
    assert len([key for key, (prefix, _) in graph.items() if prefix == "SRS" and key not in covered]) == 4000


@pytest.mark.django_db
def test_the_three_outputs_hold_the_same_graph(tmp_path):
    expected = dataset_graph(TINY)
    assert expected["SRS-00004"] == ("SRS", "SYS-00001")  # (4-1) mod 3 + 1
    assert expected["TST-00005"] == ("TST", "SRS-00005")

    doorstop = doorstop_write(TINY, tmp_path / "doorstop")
    assert doorstop_graph_read(doorstop) == expected
    git = ["git", "status", "--porcelain"]
    status = subprocess.run(git, cwd=doorstop, capture_output=True, text=True, check=True)  # noqa: S603
    assert status.stdout == ""  # generated and committed
    assert (doorstop / "reqs" / "srs" / ".doorstop.yml").read_text() == (
        "settings:\n  digits: 5\n  parent: SYS\n  prefix: SRS\n  sep: '-'\n"
    )

    strictdoc = strictdoc_write(TINY, tmp_path / "strictdoc")
    assert sorted(path.name for path in strictdoc.iterdir()) == ["srs.sdoc", "sys.sdoc", "tst.sdoc"]
    assert strictdoc_graph_read(strictdoc) == expected

    assert product_load(TINY, product_key="BENCH") == 15
    assert product_graph_read("BENCH") == expected
    product = Product.objects.get(key="BENCH")
    assert Item.objects.filter(product=product, kind="test_case").count() == 5
    assert set(Link.objects.filter(product=product).values_list("link_type", flat=True)) == {"derives_from", "verifies"}
    assert AuditEvent.objects.filter(scope="BENCH", action="item.created").count() == 15

    graph, seconds = floor_run("BENCH")
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (15, 12)
    assert seconds > 0


def test_the_output_is_deterministic(tmp_path):
    first = strictdoc_write(TINY, tmp_path / "a")
    second = strictdoc_write(TINY, tmp_path / "b")
    assert [p.read_bytes() for p in sorted(first.iterdir())] == [p.read_bytes() for p in sorted(second.iterdir())]
    one = doorstop_write(TINY, tmp_path / "d1", commit=False)
    two = doorstop_write(TINY, tmp_path / "d2", commit=False)
    files = sorted(path.relative_to(one) for path in one.rglob("*.yml"))
    assert len(files) == 18  # 15 items + 3 documents
    assert all((one / name).read_bytes() == (two / name).read_bytes() for name in files)
    other_seed = DatasetSpec(systems=3, software=7, tests=5, seed=1)
    assert dataset_graph(other_seed) == dataset_graph(TINY)
    assert (
        strictdoc_write(other_seed, tmp_path / "c").joinpath("srs.sdoc").read_bytes()
        != (first / "srs.sdoc").read_bytes()
    )
