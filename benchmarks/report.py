"""Benchmark: the PDF trace report of a 15k-item release beside a bare reportlab table of the
same rows, built in the same run. Not a test: run it on purpose, it prints figures.

    .venv/bin/python benchmarks/report.py [--sys 1000 --srs 9000 --tests 5000] [--keep DIR]

It builds a throw-away SQLite database (or uses DATABASE_URL when it names a database whose name
starts with ``qi_report``), imports a synthetic product through ``items_import`` (SYS
requirements; SRS each derived from one SYS; tests each verifying one SRS, so the SRS beyond the
test count are unverified), records one passing result per test for version 1.0 and freezes
release 1.0. Then, each in a forked child process so their memory peaks do not mix:

- ``bare table``: one platypus ``LongTable`` of the matrix rows (key, requirement title and text
  in a wrapping Paragraph, parents, tests, status; header repeated), the same embedded font;
- ``report``: ``report_pdf`` of the release (every section: matrix of SRS and SYS, reverse
  matrix, gaps, risk, SOUP, anomalies, clauses, changes), from the engine's content;
- ``report end to end``: baseline → graph → engine tables → PDF.

Time is wall clock (best of --repeat); memory is the growth of the child's peak resident set
over what it inherited, and with --python-heap also the peak of Python allocations (tracemalloc,
in a separate, slower run). The machine is shared (2 cores): noisy.

The data generator is deliberately small and local (``synthetic_release``) so it can be swapped
for the shared benchmark generator.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(keep: str | None) -> None:
    url = os.environ.get("DATABASE_URL", "")
    database = url.rsplit("/", 1)[-1].split("?")[0]
    if not database.startswith("qi_report"):  # never touch another database: a throw-away SQLite file
        folder = keep or tempfile.mkdtemp(prefix="qi_report_bench_")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/qi_report_bench.sqlite3"
        os.environ["MEDIA_ROOT"] = folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def synthetic_release(n_sys: int, n_srs: int, n_tests: int) -> Any:
    """Product BENCH with SYS-n, SRS-n (derived from SYS), TC-n (verifying SRS-n), results, release 1.0 frozen."""
    from django.core.management import call_command

    from traceability.models import Item, Product, Release, TestResult, TestRun
    from traceability.services.imports import ItemRow, items_import
    from traceability.services.products import product_create
    from traceability.services.releases import release_freeze

    call_command("migrate", verbosity=0)
    release = Release.objects.filter(product__key="BENCH", version="1.0").select_related("product").first()
    if release is not None:
        return release
    product = Product.objects.filter(key="BENCH").first() or product_create(
        key="BENCH", name="Synthetic 15k release", safety_class="B", actor=None
    )
    words = "the pump shall limit compute display record alarm dose within rate value when user input".split()

    def sentence(i: int, n: int) -> str:
        return " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(n)).capitalize() + "."

    rows = []
    for i in range(1, n_sys + 1):
        rows.append(
            ItemRow(
                row=len(rows) + 1,
                key=f"SYS-{i}",
                kind="system_requirement",
                title=f"System requirement {i}",
                text=sentence(i, 18),
                status="approved",
            )
        )
    for i in range(1, n_srs + 1):
        rows.append(
            ItemRow(
                row=len(rows) + 1,
                key=f"SRS-{i}",
                kind="software_requirement",
                title=f"Software requirement {i}",
                text=sentence(i, 12 + i % 30),
                status="approved",
                links={"derives_from": [f"SYS-{(i - 1) % n_sys + 1}"]},
            )
        )
    for i in range(1, n_tests + 1):
        rows.append(
            ItemRow(
                row=len(rows) + 1,
                key=f"TC-{i}",
                kind="test_case",
                title=f"Test {i}",
                status="approved",
                attributes={"test_id": f"tests/test_{i}.py::test_{i}", "level": "unit"},
                links={"verifies": [f"SRS-{i}"]},
            )
        )
    items_import(product=product, rows=rows, actor=None)
    run = TestRun.objects.create(product=product, version="1.0", name="synthetic")
    ids = dict(Item.objects.filter(product=product, kind="test_case").values_list("key", "id"))
    TestResult.objects.bulk_create(
        [
            TestResult(run=run, test_case_id=pk, test_identifier=f"tests/{key}", status="passed")
            for key, pk in ids.items()
        ],
        batch_size=2000,
    )
    return release_freeze(product=product, version="1.0", actor=None, commit_sha="a" * 40)


def bare_table(content: Any) -> bytes:
    """The matrix rows in one plain platypus LongTable (no styling beyond a grid), same font."""
    import io
    from xml.sax.saxutils import escape

    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, TableStyle

    from traceability.reports.styles import FRAME_WIDTH, GRID_RULE, PAGE_SIZE
    from traceability.reports.text import FONT, fonts_register

    fonts_register()
    style = ParagraphStyle("bare", fontName=FONT, fontSize=6.8, leading=8.3)
    data: list[list[Any]] = [["Key", "Requirement", "Derived from", "Tests", "Status"]]
    for row in [*content.matrix, *content.system_matrix]:
        text = escape(f"{row.title}\n{content.text_of(row.key)}")
        data.append(
            [row.key, Paragraph(text, style), ", ".join(row.parents), ", ".join(t.key for t in row.tests), row.status]
        )
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=PAGE_SIZE, leftMargin=34, rightMargin=34, invariant=1)
    widths = [60, FRAME_WIDTH - 60 - 120 - 120 - 80, 120, 120, 80]
    table = LongTable(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.35, GRID_RULE), ("FONT", (0, 0), (-1, -1), FONT, 6.8)]))
    document.build([table])
    return buffer.getvalue()


def _child(job: Callable[[], Any], measure_memory: bool, queue: Any) -> None:
    import gc

    gc.collect()
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if measure_memory:
        tracemalloc.start()
    started = time.perf_counter()
    result = job()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((elapsed, peak, rss, start_rss, len(result) if isinstance(result, bytes | tuple) else 0, result))


def measure(job: Callable[[], Any], *, repeat: int, python_heap: bool) -> dict[str, float]:
    context = get_context("fork")
    times, rss_values = [], []
    output: Any = None
    for _ in range(repeat):
        queue = context.Queue()
        process = context.Process(target=_child, args=(job, False, queue))
        process.start()
        elapsed, _, rss, start_rss, _, output = queue.get()
        process.join()
        times.append(elapsed)
        rss_values.append((rss - start_rss) / 1024)
    peak = 0.0
    if python_heap:
        queue = context.Queue()
        process = context.Process(target=_child, args=(job, True, queue))
        process.start()
        _, peak, _, _, _, _ = queue.get()
        process.join()
    data = output[0] if isinstance(output, tuple) else output
    pages = output[1] if isinstance(output, tuple) else data.count(b"/Type /Page\n")
    return {
        "seconds": min(times),
        "python_peak_mb": peak / 1e6,
        "rss_growth_mb": min(rss_values),
        "bytes": len(data) if isinstance(data, bytes) else 0,
        "pages": pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sys", type=int, default=1000)
    parser.add_argument("--srs", type=int, default=9000)
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", help="folder for the database (reused when it holds one)")
    parser.add_argument(
        "--python-heap", action="store_true", help="also measure the peak of Python allocations (tracemalloc: slow)"
    )
    args = parser.parse_args()
    setup_django(args.keep)

    from traceability.reports.pdf import report_pdf
    from traceability.reports.selectors import report_content_for_release

    started = time.perf_counter()
    release = synthetic_release(args.sys, args.srs, args.tests)
    print(
        f"synthetic release ready in {time.perf_counter() - started:.1f} s: "
        f"{args.sys} SYS, {args.srs} SRS, {args.tests} tests"
    )

    def content() -> Any:
        loaded = report_content_for_release(release=release)
        for name in ("matrix", "system_matrix", "reverse", "coverage", "soup", "anomalies", "clauses"):
            getattr(loaded, name)
        return loaded

    prepared = content()
    rows = len(prepared.matrix) + len(prepared.system_matrix)
    print(f"matrix rows: {rows}; reverse rows: {len(prepared.reverse)}; gap findings: {len(prepared.gaps.findings)}")

    options = {"repeat": args.repeat, "python_heap": args.python_heap}
    results = {
        "bare table (matrix rows)": measure(lambda: bare_table(prepared), **options),
        "report (PDF from content)": measure(lambda: report_pdf(prepared), **options),
        "report end to end": measure(lambda: report_pdf(content()), **options),
    }
    print(f"{'':28} {'seconds':>9} {'py peak MB':>11} {'RSS +MB':>9} {'PDF kB':>8} {'pages':>6}")
    for name, figures in results.items():
        print(
            f"{name:28} {figures['seconds']:9.2f} {figures['python_peak_mb']:11.1f} "
            f"{figures['rss_growth_mb']:9.1f} {figures['bytes'] / 1024:8.0f} {figures['pages']:6.0f}"
        )
    bare, report = results["bare table (matrix rows)"], results["report (PDF from content)"]
    heap = f", Python peak {report['python_peak_mb'] / bare['python_peak_mb']:.2f}x" if bare["python_peak_mb"] else ""
    print(
        f"report / bare table: time {report['seconds'] / bare['seconds']:.2f}x, "
        f"RSS growth {report['rss_growth_mb'] / max(bare['rss_growth_mb'], 0.1):.2f}x{heap} (goal: within 2x)"
    )


if __name__ == "__main__":
    main()
