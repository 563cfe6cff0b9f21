"""Time one thing inside an already started Django process and print the seconds as JSON.

compare.py runs this in a subprocess per measurement, so interpreter and Django start-up are left
out on both sides of the ours/floor ratio:

    python -m benchmarks.inprocess floor --database-url URL --product BENCH
    python -m benchmarks.inprocess matrix --database-url URL --product BENCH --out matrix.csv

``matrix`` is the whole ``trace_matrix --format csv`` command called in-process (query, graph,
matrix with its gap column, CSV file), its modules imported before the clock starts; ``floor`` is
``benchmarks.floor.floor_run``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import django_setup  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the floor or the matrix in-process")
    parser.add_argument("what", choices=["floor", "matrix"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--product", default="BENCH")
    parser.add_argument("--out", type=Path, help="matrix CSV file (matrix only)")
    args = parser.parse_args(argv)
    django_setup(args.database_url)
    if args.what == "floor":
        from benchmarks.floor import floor_run

        graph, seconds = floor_run(args.product)
        print(json.dumps({"seconds": seconds, "nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}))
        return 0
    from io import StringIO

    from django.core.management import call_command, load_command_class

    # Import the command and what it uses before the clock starts, as the floor imports networkx
    # before its clock: the ratio compares the work, not module loading.
    load_command_class("traceability", "trace_matrix")
    out = args.out or Path("matrix.csv")
    start = time.perf_counter()
    call_command("trace_matrix", args.product, "--format", "csv", "-o", str(out), stdout=StringIO())
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
