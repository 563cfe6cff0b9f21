"""Benchmark of the audit trail: appending events to the keyed chain, and verifying it.

Fills a PostgreSQL database of its own (``qi_audit…``, dropped and created) with ``--events``
events written the way the application writes them (``audit_record_many``: keyed digests,
multi-row ``COPY``, the chain head moved by the database's trigger), each with the before/after
state of an item as an item update records it. Then ``audit_verify``'s chain verification runs
in a fresh process per size, so its peak memory (maximum resident set) is its own: streamed
verification stays flat however long the trail is.

Goal (issue 9): ``audit_verify`` streams in constant memory, at >= 50,000 events/s on 1,000,000.

Run from the project folder::

    python benchmarks/audit.py                                  # 1,000,000 events, checked at 100k and 1M
    python benchmarks/audit.py --events 200000 --checks 20000,200000 \
        --database-url postgres://postgres@127.0.0.1:5432/qi_audit
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.environment import benchmark_secrets, database_recreated  # noqa: E402

BATCH = 10_000


def django_setup(url: str) -> None:
    benchmark_secrets()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms.settings")
    import django

    django.setup()


def events_write(upto: int, written: int) -> float:
    """Append events until the trail holds ``upto``; the seconds it took."""
    from django.db import transaction

    from qms.services import AuditEntry, audit_record_many

    started = time.perf_counter()
    while written < upto:
        size = min(BATCH, upto - written)
        entries = []
        for number in range(written, written + size):
            before = {
                "key": f"SRS-{number:07d}",
                "kind": "software_requirement",
                "title": f"The pump shall limit the bolus to the configured maximum ({number})",
                "text": "The maximum is configured per patient and never exceeded.",
                "status": "draft",
                "attributes": {"derived_rationale": ""},
                "revision": 1,
            }
            after = {**before, "status": "in_review", "revision": 2}
            entries.append(
                AuditEntry(
                    action="item.updated",
                    object_type="traceability.item",
                    object_id=str(number),
                    object_repr=f"BENCH/SRS-{number:07d}",
                    scope="BENCH",
                    before=before,
                    after=after,
                )
            )
        with transaction.atomic():
            audit_record_many(actor=None, entries=entries)
        written += size
    return time.perf_counter() - started


def verify_in_a_fresh_process(url: str) -> dict[str, float]:
    """Run the chain verification in its own process; its events, seconds and peak RSS."""
    code = (
        "import json, resource, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from benchmarks.audit import django_setup\n"
        f"django_setup({url!r})\n"
        "from qms.integrity.chain import audit_chain_verify\n"
        "from qms.snapshot import read_snapshot\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "started = time.perf_counter()\n"
        "with read_snapshot():\n"
        "    report = audit_chain_verify()\n"
        "seconds = time.perf_counter() - started\n"
        "assert report.is_intact, report.problem\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'events': report.events, 'seconds': seconds, 'rss_mb': peak / 1024,"
        " 'rss_growth_mb': (peak - base) / 1024}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--checks", default="100000,1000000", help="trail lengths at which to verify")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/qi_audit")
    args = parser.parse_args()
    checks = sorted({min(int(value), args.events) for value in args.checks.split(",") if value.strip()})

    database_recreated(args.database_url, prefix="qi_audit")
    django_setup(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL database {urlsplit(args.database_url).path.lstrip('/')}; batches of {BATCH:,} events")
    print()
    print(f"{'events':>10}  {'append':>14}  {'verify':>9}  {'verify rate':>15}  {'peak RSS':>9}  {'RSS growth':>10}")
    written = 0
    for upto in checks:
        seconds = events_write(upto, written)
        appended = upto - written
        written = upto
        measured = verify_in_a_fresh_process(args.database_url)
        assert measured["events"] == upto, measured
        print(
            f"{upto:>10,}  {appended / seconds:>9,.0f} ev/s  {measured['seconds']:>7.1f} s  "
            f"{upto / measured['seconds']:>10,.0f} ev/s  {measured['rss_mb']:>6.0f} MB  "
            f"{measured['rss_growth_mb']:>7.1f} MB"
        )
    print()
    print(
        f"(this process's peak RSS while appending: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )


if __name__ == "__main__":
    main()
