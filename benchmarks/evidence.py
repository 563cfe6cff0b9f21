"""Benchmark of evidence ingestion: a 10,000-testcase JUnit XML file and 10,000 commits.

Prints, for each, the wall time and the number of SQL queries, and for JUnit the time of only
parsing the XML side by side (raw defusedxml parse, and our parser that yields the cases; best
of 3). The steady-state ingestion (a new run of tests that are already known) runs 3 times.
Goals (issue 4): under 100 queries each; JUnit ingestion within 3x of parsing.

Run from the project folder (a fresh SQLite file under benchmarks/out/ by default)::

    python benchmarks/evidence.py
    python benchmarks/evidence.py --tests 10000 --commits 10000 --requirements 2000
    python benchmarks/evidence.py --database-url postgres://postgres@127.0.0.1:5432/qi_evidence --reset

``--reset`` drops and recreates the ``public`` schema of that PostgreSQL database first: give it
only a database you own. This is a script, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"


def junit_xml(tests: int, requirements: int, seed: int = 4) -> bytes:
    """A pytest-flavoured report: 90% passed, 5% failed, 3% skipped, 2% errors; 80% name a requirement."""
    rng = random.Random(seed)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">',
        f'<testsuite name="pytest" tests="{tests}" timestamp="2026-03-03T10:00:00+00:00" time="123.4">',
    ]
    for i in range(tests):
        classname = f"tests.module_{i // 100:03d}.TestGroup{i % 7}"
        body = ""
        if rng.random() < 0.8:
            key = f"SRS-{rng.randrange(1, requirements + 1):05d}"
            body += f'<properties><property name="requirements" value="{key}" /></properties>'
        roll = rng.random()
        if roll < 0.05:
            body += '<failure message="assert 3 == 2">def test():\n&gt; assert 3 == 2\nE assert 3 == 2</failure>'
        elif roll < 0.08:
            body += '<skipped type="pytest.skip" message="needs hardware">needs hardware</skipped>'
        elif roll < 0.10:
            body += '<error message="fixture failed">RuntimeError: database unavailable</error>'
        parts.append(
            f"<testcase classname={quoteattr(classname)} name={quoteattr(f'test_case_{i}')} "
            f'time="{rng.random():.3f}">{body}</testcase>'
        )
    parts.append("</testsuite></testsuites>")
    return "".join(parts).encode()


def commit_batch(count: int, requirements: int, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    commits = []
    previous = None
    for i in range(count):
        sha = f"{rng.getrandbits(160):040x}"
        key = f"SRS-{rng.randrange(1, requirements + 1):05d}"
        message = rng.choice(
            [f"Round doses down\n\nImplements: {key}", f"Fixes: {key}", f"Refactor around {key}", "Tidy up"]
        )
        commits.append(
            {
                "sha": sha,
                "repository": "acme/bolus",
                "author_name": "Dana Developer",
                "author_email": "dana@example.com",
                "authored_at": f"2026-03-03T10:{i % 60:02d}:00+00:00",
                "message": message,
                "parents": [previous] if previous else [],
            }
        )
        previous = sha
    return commits


def setup_django(database_url: str | None, reset: bool) -> str:
    sys.path.insert(0, str(ROOT))
    from benchmarks.environment import benchmark_secrets

    benchmark_secrets()
    if database_url is None:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / "evidence.sqlite3"
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if reset and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)
    return connection.vendor


def measured(function: Callable[[], Any]) -> tuple[Any, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - start
    return result, elapsed, len(queries)


def best_of(repeat: int, function: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--requirements", type=int, default=2_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in benchmarks/out/")
    parser.add_argument("--reset", action="store_true", help="PostgreSQL: drop and recreate the public schema first")
    args = parser.parse_args()

    vendor = setup_django(args.database_url, args.reset)
    from defusedxml.ElementTree import fromstring

    from traceability.services.evidence import commit_inputs_parse, commits_ingest, junit_ingest, run_input_clean
    from traceability.services.evidence.junit import junit_parse
    from traceability.services.imports import ItemRow, items_import
    from traceability.services.products import product_create

    product = product_create(key="BENCH", name="Evidence benchmark", key_pattern=r"(SRS|TC)-\d{5}", actor=None)
    items_import(
        product=product,
        rows=[
            ItemRow(row=i, key=f"SRS-{i:05d}", kind="software_requirement", title=f"Requirement {i}")
            for i in range(1, args.requirements + 1)
        ],
        actor=None,
    )
    xml = junit_xml(args.tests, args.requirements)
    print(f"database: {vendor}; {args.requirements} requirements; JUnit file {len(xml) / 1e6:.1f} MB")
    print()

    raw_parse = best_of(3, lambda: fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True))
    full_parse = best_of(3, lambda: junit_parse(xml, source="bench.xml"))
    print(f"JUnit, {args.tests} test cases")
    print(f"  parse only, defusedxml fromstring            {raw_parse:7.3f} s")
    print(f"  parse only, junit_parse (cases, ids, keys)   {full_parse:7.3f} s")

    def ingest(version: str) -> Any:
        return junit_ingest(
            product=product, files=[("bench.xml", xml)], run=run_input_clean(version=version), actor=None
        )

    rows = [
        ("first upload (creates test cases, links)", "1.0.0"),
        ("next run, same tests (steady state) #1", "1.0.1"),
        ("next run, same tests (steady state) #2", "1.0.2"),
        ("next run, same tests (steady state) #3", "1.0.3"),
        ("same upload again (idempotent)", "1.0.3"),
    ]
    for label, version in rows:
        report, elapsed, queries = measured(lambda version=version: ingest(version))
        summary = report.summary()
        print(
            f"  ingest: {label:42s} {elapsed:7.3f} s {queries:4d} queries "
            f"{elapsed / full_parse:5.1f}x junit_parse  {elapsed / raw_parse:5.1f}x raw parse  "
            f"(results {summary['results']}, created {summary['test_cases_created']} test cases, "
            f"{summary['links_created']} links)"
        )
    print()

    batch = commit_batch(args.commits, args.requirements)
    commits, parse_time, _ = measured(lambda: commit_inputs_parse(batch))
    print(f"Commits, {args.commits}")
    print(f"  validate the batch (commit_inputs_parse)     {parse_time:7.3f} s")
    for label in ("first batch", "same batch again (idempotent)"):
        report, elapsed, queries = measured(lambda: commits_ingest(product=product, commits=commits, actor=None))
        print(
            f"  ingest: {label:42s} {elapsed:7.3f} s  {queries:4d} queries  "
            f"(created {report.created}, unchanged {report.unchanged}, links {report.links_created})"
        )


if __name__ == "__main__":
    main()
