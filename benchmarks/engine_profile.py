"""Profile the trace engine in process: graph load, matrix, gaps, against a floor.

Not a test: run it on purpose, it prints figures.

    DATABASE_URL=sqlite:////tmp/engine.sqlite3 .venv/bin/python benchmarks/engine_profile.py \
        [--sys 1000 --srs 9000 --tests 5000] [--repeat 5]

It creates (once) a synthetic product ENGINE-<n> straight with bulk inserts: SYS requirements, SRS
each derived from one SYS, tests each verifying one SRS (so SRS beyond the test count are
uncovered), one passing result per test bound to version 1.0. Then it times, best of --repeat:

- floor: raw SQL fetch of the item and link rows + a networkx DiGraph build
- graph load (live, bound to release 1.0), matrix rows, gaps, the whole ``matrix_for_release``
- a baseline round trip (freeze once, then load the matrix from the baseline)

The machine may be shared: treat the timings as noisy.
"""

import argparse
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import networkx as nx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from traceability.graph.gaps import gaps_find  # noqa: E402
from traceability.graph.load import graph_load_live  # noqa: E402
from traceability.graph.matrix import Verifier, matrix_rows  # noqa: E402
from traceability.graph.selectors import matrix_for_release  # noqa: E402
from traceability.models import Item, Link, Product, Release, TestResult, TestRun  # noqa: E402
from traceability.services.items import item_fingerprint  # noqa: E402
from traceability.services.releases import release_create, release_freeze  # noqa: E402


def build(product_key: str, n_sys: int, n_srs: int, n_tests: int) -> Product:
    product = Product.objects.filter(key=product_key).first()
    if product is not None:
        return product
    now = timezone.now()
    with transaction.atomic():
        product = Product.objects.create(key=product_key, name="Synthetic", safety_class="B")
        items = []
        for prefix, kind, count in (
            ("SYS", "system_requirement", n_sys),
            ("SRS", "software_requirement", n_srs),
            ("TC", "test_case", n_tests),
        ):
            for i in range(1, count + 1):
                title = f"{kind} number {i}"
                text = f"The {kind} {i} shall do what requirement {i} says, precisely and measurably."
                attributes = {"test_id": f"tests/test_{i}.py::test_{i}"} if kind == "test_case" else {}
                items.append(
                    Item(
                        product=product,
                        key=f"{prefix}-{i}",
                        kind=kind,
                        title=title,
                        text=text,
                        status="approved",
                        attributes=attributes,
                        fingerprint=item_fingerprint(title=title, text=text, attributes=attributes),
                        created_at=now,
                        updated_at=now,
                    )
                )
        Item.objects.bulk_create(items, batch_size=2000)
        ids = dict(Item.objects.filter(product=product).values_list("key", "id"))
        fps = dict(Item.objects.filter(product=product).values_list("key", "fingerprint"))
        links = []
        for i in range(1, n_srs + 1):
            parent = f"SYS-{(i - 1) % n_sys + 1}"
            links.append(
                Link(
                    product=product,
                    source_id=ids[f"SRS-{i}"],
                    target_id=ids[parent],
                    link_type="derives_from",
                    source_kind="software_requirement",
                    target_kind="system_requirement",
                    target_fingerprint=fps[parent],
                    target_revision=1,
                )
            )
        for i in range(1, n_tests + 1):
            target = f"SRS-{i}"
            links.append(
                Link(
                    product=product,
                    source_id=ids[f"TC-{i}"],
                    target_id=ids[target],
                    link_type="verifies",
                    source_kind="test_case",
                    target_kind="software_requirement",
                    target_fingerprint=fps[target],
                    target_revision=1,
                )
            )
        Link.objects.bulk_create(links, batch_size=2000)
        run = TestRun.objects.create(product=product, version="1.0", name="synthetic", started_at=now)
        TestResult.objects.bulk_create(
            [
                TestResult(
                    run=run,
                    test_case_id=ids[f"TC-{i}"],
                    test_identifier=f"tests/test_{i}.py::test_{i}",
                    status="passed",
                )
                for i in range(1, n_tests + 1)
            ],
            batch_size=2000,
        )
    return product


def floor(product: Product) -> nx.DiGraph:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, key, kind, title, text, status, attributes, revision, fingerprint "
            "FROM traceability_item WHERE product_id = %s",
            [product.pk],
        )
        items = cursor.fetchall()
        cursor.execute(
            "SELECT source_id, link_type, target_id, target_revision, target_fingerprint "
            "FROM traceability_link WHERE product_id = %s",
            [product.pk],
        )
        links = cursor.fetchall()
    graph = nx.DiGraph()
    graph.add_nodes_from((row[0], {"key": row[1], "kind": row[2]}) for row in items)
    graph.add_edges_from((row[0], row[2], {"type": row[1]}) for row in links)
    return graph


def timed(label: str, repeat: int, fn: Callable[[], Any]) -> tuple[float, float]:
    """Best wall-clock and best CPU time of ``repeat`` runs, and the peak of traced memory."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<52} {best_wall * 1000:8.1f} ms wall {best_cpu * 1000:8.1f} ms cpu   peak {peak / 2**20:6.1f} MiB")
    return best_wall, best_cpu


def command(label: str, args: list[str]) -> None:
    """A whole management command in its own process (start-up included), best of two."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", *args], check=False, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    print(f"{label:<52} {best * 1000:8.1f} ms wall (whole command)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sys", type=int, default=1000)
    parser.add_argument("--srs", type=int, default=9000)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    total = args.sys + args.srs + args.tests
    product = build(f"ENGINE-{total}", args.sys, args.srs, args.tests)
    release = Release.objects.filter(product=product, version="1.0").first() or release_create(
        product=product, version="1.0", actor=None
    )
    print(f"{connection.vendor}: {total} items ({args.sys} SYS, {args.srs} SRS, {args.tests} tests)")
    base = timed("floor: raw SQL rows + networkx build", args.repeat, lambda: floor(product))
    timed("graph load (live, bound to 1.0)", args.repeat, lambda: graph_load_live(product=product, release=release))
    graph = graph_load_live(product=product, release=release)
    timed("matrix rows (loaded graph)", args.repeat, lambda: matrix_rows(graph))
    timed("gaps (loaded graph)", args.repeat, lambda: gaps_find(graph, verifier=Verifier(graph)))
    lean = timed(
        "matrix_for_release (load + rows + risks + coverage)",
        args.repeat,
        lambda: matrix_for_release(product=product, release=release, with_gaps=False),
    )
    whole = timed(
        "matrix_for_release with gaps",
        args.repeat,
        lambda: matrix_for_release(product=product, release=release),
    )
    print(
        f"ratio to the floor: matrix {lean[0] / base[0]:.2f}x wall, {lean[1] / base[1]:.2f}x cpu; "
        f"with gaps {whole[0] / base[0]:.2f}x wall, {whole[1] / base[1]:.2f}x cpu"
    )
    frozen = Release.objects.filter(product=product, version="1.0-frozen").first()
    if frozen is None:
        start = time.perf_counter()
        frozen = release_freeze(product=product, version="1.0-frozen", actor=None)
        print(f"{'freeze (once)':<52} {(time.perf_counter() - start) * 1000:8.1f} ms wall")
    timed(
        "matrix_for_release from the baseline", args.repeat, lambda: matrix_for_release(product=product, release=frozen)
    )
    key = product.key
    command(
        "trace_matrix --format csv -o FILE", ["trace_matrix", key, "--format", "csv", "-o", "/tmp/engine-matrix.csv"]
    )
    command("trace_gaps --format json", ["trace_gaps", key, "--format", "json"])
    command("manage.py version (Python + Django start-up alone)", ["version"])


if __name__ == "__main__":
    main()
