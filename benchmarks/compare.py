"""Side-by-side benchmark: Doorstop, StrictDoc and this product on the same synthetic data set.

    python benchmarks/compare.py                              # 1k, 3k and 15k items, SQLite
    python benchmarks/compare.py --sizes 15k --database-url postgres://postgres@127.0.0.1:5432/qi_bench
    python benchmarks/compare.py --huge --database-url postgres://postgres@127.0.0.1:5432/qi_bench

Per size it generates the data set (benchmarks/generate.py), then times, each in its own
subprocess with its peak memory (largest process, from ``wait4``):

- Doorstop: validation (``doorstop -F``, on a tree committed, stamped once, committed again)
  plus ``doorstop publish all`` (HTML and the traceability matrix);
- StrictDoc: ``strictdoc export`` to a fresh output folder (default, parallel), and again with
  ``--no-parallelization``;
- this product: ``manage.py trace_matrix PRODUCT --format csv -o FILE`` and
  ``manage.py trace_gaps PRODUCT --format json`` as whole commands, against a database prepared
  with the generator (SQLite by default, PostgreSQL with ``--database-url``: one database per size
  named ``<name>_<size>``);
- in-process: the ``trace_matrix`` command called inside a started Django process, and the
  floor (raw SQL fetch + networkx build, benchmarks/floor.py), for the ours/floor ratio.

Each tool is capped (``--cap``, 300 s; Doorstop's validate and publish share the cap): a tool
that runs out prints "> 300 s". ``--huge`` times only this product and the floor on PostgreSQL at
15k items and at 100,000 software requirements + 100,000 tests.

Doorstop and StrictDoc are installed from PyPI into benchmarks/.venv-tools (pinned in
benchmarks/requirements-tools.txt), never into the project's environment.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.environment import benchmark_secrets  # noqa: E402
from benchmarks.generate import DatasetSpec, doorstop_write, strictdoc_write  # noqa: E402
from benchmarks.measure import Run, best_of, fmt_mem, fmt_time, ratio, run_measured  # noqa: E402

BENCH = ROOT / "benchmarks"
TOOLS_VENV = BENCH / ".venv-tools"
TOOLS_REQUIREMENTS = BENCH / "requirements-tools.txt"
PRODUCT = "BENCH"
HUGE = DatasetSpec(systems=11_111, software=100_000, tests=100_000)
NOT_MEASURED = "n/a (a run it adds up failed)"


# --- the tools' environment -------------------------------------------------------------------


def tools_ensure() -> Path:
    """Create benchmarks/.venv-tools and install the pinned Doorstop and StrictDoc (once)."""
    marker = TOOLS_VENV / ".installed"
    wanted = hashlib.sha256(TOOLS_REQUIREMENTS.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == wanted:
        return TOOLS_VENV / "bin"
    print(f"Installing Doorstop and StrictDoc into {TOOLS_VENV.relative_to(ROOT)} ...", flush=True)
    if not (TOOLS_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
    pip = [str(TOOLS_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(TOOLS_REQUIREMENTS)], check=True)
    marker.write_text(wanted)
    return TOOLS_VENV / "bin"


def tools_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{TOOLS_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    return env


# --- this product's database ------------------------------------------------------------------


def product_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(benchmark_secrets())
    env.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="qms.settings")
    return env


def database_for(label: str, base_url: str | None, work: Path) -> str:
    """A fresh, empty database for one size: a SQLite file, or ``<name>_<label>`` on PostgreSQL."""
    if base_url is None:
        path = work / "db.sqlite3"
        for leftover in work.glob("db.sqlite3*"):
            leftover.unlink()
        return f"sqlite:///{path}"
    parts = urlsplit(base_url)
    name = f"{parts.path.lstrip('/') or 'qi_bench'}_{label}".replace("+", "_").lower()
    import psycopg

    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def product_prepare(spec: DatasetSpec, database_url: str, work: Path) -> Run:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.generate",
        f"--systems={spec.systems}",
        f"--software={spec.software}",
        f"--tests={spec.tests}",
        f"--seed={spec.seed}",
        f"--database-url={database_url}",
        f"--product={PRODUCT}",
    ]
    run = run_measured(cmd, cwd=ROOT, env=product_env(database_url), timeout=7200, log=work / "logs" / "load.log")
    if not run.ok:
        raise SystemExit(f"loading the data set failed: {run.note or 'timed out'}")
    return run


# --- one size ---------------------------------------------------------------------------------


def label_of(items: int) -> str:
    return f"{items // 1000}k" if items % 1000 == 0 else str(items)


def doorstop_prepare(spec: DatasetSpec, work: Path) -> Path:
    """Generate, commit, stamp once with ``doorstop -F``, commit again. Reused while the spec matches."""
    tree = work / "doorstop"
    ready = work / "doorstop.ready"
    if ready.exists() and ready.read_text() == spec.as_json() and tree.exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    ready.unlink(missing_ok=True)
    doorstop_write(spec, tree)
    print("  stamping the Doorstop tree once (untimed; minutes at 15k items) ...", flush=True)
    stamp = run_measured(
        ["doorstop", "-F"], cwd=tree, env=tools_env(), timeout=3600, log=work / "logs" / "doorstop-stamp.log"
    )
    if not stamp.ok:
        raise SystemExit(f"stamping the Doorstop tree failed: {stamp.note or 'timed out'}")
    subprocess.run(["git", "add", "-A"], cwd=tree, check=True)
    subprocess.run(
        ["git", "-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost", "commit", "-q", "-m", "Stamp"],
        cwd=tree,
        check=True,
    )
    ready.write_text(spec.as_json())
    return tree


def time_doorstop(spec: DatasetSpec, work: Path, cap: float) -> dict[str, Run]:
    tree = doorstop_prepare(spec, work)
    env = tools_env()
    validate = run_measured(["doorstop", "-F"], cwd=tree, env=env, timeout=cap, log=work / "logs" / "doorstop.log")
    if not validate.ok:
        total = Run(peak_mb=validate.peak_mb, timed_out_after=cap if validate.timed_out_after else None)
        total.note = "" if validate.timed_out_after else validate.note
        return {"validate": validate, "publish": Run(note="not run"), "total": total}
    public = work / "doorstop-public"
    shutil.rmtree(public, ignore_errors=True)
    publish = run_measured(
        ["doorstop", "publish", "all", str(public)],
        cwd=tree,
        env=env,
        timeout=cap - (validate.seconds or 0.0),
        log=work / "logs" / "doorstop-publish.log",
    )
    if publish.ok:
        total = Run(seconds=(validate.seconds or 0) + (publish.seconds or 0))
    else:
        total = Run(timed_out_after=cap)
    total.peak_mb = max(validate.peak_mb or 0, publish.peak_mb or 0)
    return {"validate": validate, "publish": publish, "total": total}


def time_strictdoc(spec: DatasetSpec, work: Path, cap: float, serial: bool) -> dict[str, Run]:
    docs = work / "strictdoc"
    shutil.rmtree(docs, ignore_errors=True)
    strictdoc_write(spec, docs)
    runs = {}
    modes = [("parallel", [])] + ([("serial", ["--no-parallelization"])] if serial else [])
    for mode, flags in modes:
        output = work / f"strictdoc-out-{mode}"
        shutil.rmtree(output, ignore_errors=True)  # fresh output folder: a cold run, no cache
        runs[mode] = run_measured(
            ["strictdoc", "export", str(docs), "--output-dir", str(output), *flags],
            cwd=work,
            env=tools_env(),
            timeout=cap,
            log=work / "logs" / f"strictdoc-{mode}.log",
        )
    return runs


def time_ours(database_url: str, work: Path, cap: float, repeat: int) -> dict[str, Run]:
    env = product_env(database_url)
    manage = [sys.executable, "manage.py"]
    logs = work / "logs"
    runs: dict[str, Run] = {}

    def repeated(name: str, cmd: list[str], ok_codes: tuple[int, ...] = (0,)) -> Run:
        return best_of(
            [
                run_measured(cmd, cwd=ROOT, env=env, timeout=cap, log=logs / f"{name}-{i}.log", ok_codes=ok_codes)
                for i in range(repeat)
            ]
        )

    runs["matrix"] = repeated(
        "trace-matrix", [*manage, "trace_matrix", PRODUCT, "--format", "csv", "-o", str(work / "matrix.csv")]
    )
    runs["matrix_inprocess"] = inprocess(
        "matrix", database_url, work, cap, repeat, ["--out", str(work / "matrix-inprocess.csv")]
    )
    # exit 1 means "an error-level gap exists": the data set has 4,000 untested requirements.
    runs["gaps"] = repeated("trace-gaps", [*manage, "trace_gaps", PRODUCT, "--format", "json"], ok_codes=(0, 1))
    if runs["matrix"].ok and runs["gaps"].ok:
        runs["total"] = Run(seconds=(runs["matrix"].seconds or 0) + (runs["gaps"].seconds or 0))
        runs["total"].peak_mb = max(runs["matrix"].peak_mb or 0, runs["gaps"].peak_mb or 0)
    else:
        runs["total"] = Run(note=NOT_MEASURED)
    runs["floor"] = inprocess("floor", database_url, work, cap, repeat, [])
    return runs


def inprocess(what: str, database_url: str, work: Path, cap: float, repeat: int, extra: list[str]) -> Run:
    """Best of ``repeat`` subprocesses; seconds as measured inside the process, peak RSS of the process."""
    runs = []
    for i in range(repeat):
        log = work / "logs" / f"inprocess-{what}-{i}.log"
        cmd = [sys.executable, "-m", "benchmarks.inprocess", what, f"--database-url={database_url}", *extra]
        run = run_measured(cmd, cwd=ROOT, env=product_env(database_url), timeout=cap, log=log)
        if run.ok:
            figures = json.loads(log.read_text(encoding="utf-8").strip().splitlines()[-1])
            run.extra = {"process_seconds": run.seconds}
            run.seconds = figures["seconds"]
        runs.append(run)
    return best_of(runs)


# --- reporting --------------------------------------------------------------------------------


def report(label: str, spec: DatasetSpec, results: dict[str, dict[str, Run]], database: str) -> list[str]:
    doorstop, strictdoc, ours = results.get("doorstop", {}), results.get("strictdoc", {}), results["ours"]
    lines = [
        f"## {label}: {spec.systems} SYS + {spec.software} SRS + {spec.tests} TST = {spec.total} items ({database})",
        "",
        "| tool / operation | time | peak memory |",
        "|---|---|---|",
    ]
    rows: list[tuple[str, Run | None]] = []
    if doorstop:
        rows += [
            ("Doorstop validate (`doorstop -F`)", doorstop["validate"]),
            ("Doorstop `publish all` (HTML + traceability matrix)", doorstop["publish"]),
            ("**Doorstop total**", doorstop["total"]),
        ]
    if strictdoc:
        rows.append(("**StrictDoc export** (HTML, default: parallel)", strictdoc["parallel"]))
        if "serial" in strictdoc:
            rows.append(("StrictDoc export `--no-parallelization`", strictdoc["serial"]))
    rows += [
        ("ours `trace_matrix --format csv` (whole command)", ours["matrix"]),
        ("ours `trace_gaps --format json` (whole command)", ours["gaps"]),
        ("**ours total** (matrix + gaps)", ours["total"]),
        ("ours matrix in-process (`trace_matrix` called after start-up)", ours["matrix_inprocess"]),
        ("floor: raw SQL fetch + networkx build (in-process)", ours["floor"]),
    ]
    lines += [f"| {name} | {fmt_time(run)} | {fmt_mem(run)} |" for name, run in rows]
    lines.append("")
    if doorstop:
        lines.append(f"- Doorstop / ours: {ratio(doorstop['total'], ours['total'])} (goal at 15k: ≥ 100×)")
    if strictdoc:
        lines.append(f"- StrictDoc / ours: {ratio(strictdoc['parallel'], ours['total'])} (goal at 15k: ≥ 20×)")
    lines.append(f"- ours in-process / floor: {ratio(ours['matrix_inprocess'], ours['floor'])} (goal: ≤ 3×)")
    return [*lines, ""]


def as_json(results: dict[str, Any]) -> Any:
    if isinstance(results, Run):
        return {k: v for k, v in results.__dict__.items() if v not in (None, "", {})}
    if isinstance(results, dict):
        return {key: as_json(value) for key, value in results.items()}
    return results


# --- main -------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    text = text.strip().lower()
    return int(float(text[:-1]) * 1000) if text.endswith("k") else int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1k,3k,15k", help="total items per run, comma-separated (default 1k,3k,15k)")
    parser.add_argument("--database-url", help="PostgreSQL server and base name (default: SQLite files)")
    parser.add_argument("--huge", action="store_true", help="this product only: 15k and 100k SRS + 100k tests")
    parser.add_argument("--cap", type=float, default=300.0, help="seconds allowed per tool (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of this product's commands; best counts")
    parser.add_argument("--skip-doorstop", action="store_true")
    parser.add_argument("--skip-strictdoc", action="store_true")
    parser.add_argument("--no-strictdoc-serial", action="store_true", help="skip the --no-parallelization run")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="work folder (default benchmarks/out)")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # the tools run in other working folders

    if args.huge:
        if not args.database_url or not args.database_url.startswith("postgres"):
            parser.error("--huge runs on PostgreSQL: give --database-url postgres://...")
        plan = [("15k", DatasetSpec()), ("100k", HUGE)]
        args.skip_doorstop = args.skip_strictdoc = True
    else:
        plan = [(label_of(n), DatasetSpec.of_items(n)) for n in map(parse_size, args.sizes.split(","))]
    if not (args.skip_doorstop and args.skip_strictdoc):
        tools_ensure()
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"Q-interface benchmark: {database}, cap {args.cap:.0f} s per tool; {os.cpu_count()} CPUs", flush=True)

    output: list[str] = []
    everything: dict[str, Any] = {}
    for label, spec in plan:
        work = args.out / label
        work.mkdir(parents=True, exist_ok=True)
        print(f"\n== {label}: {spec.total} items", flush=True)
        results: dict[str, dict[str, Run]] = {}
        url = database_for(label, args.database_url, work)
        print("  loading the data set into this product ...", flush=True)
        results["load"] = {"load": product_prepare(spec, url, work)}
        print(f"  loaded in {fmt_time(results['load']['load'])}; timing this product ...", flush=True)
        results["ours"] = time_ours(url, work, args.cap, args.repeat)
        if not args.skip_strictdoc:
            print("  timing StrictDoc ...", flush=True)
            results["strictdoc"] = time_strictdoc(spec, work, args.cap, serial=not args.no_strictdoc_serial)
        if not args.skip_doorstop:
            print("  timing Doorstop ...", flush=True)
            results["doorstop"] = time_doorstop(spec, work, args.cap)
        section = report(label, spec, results, database)
        print("\n".join(section), flush=True)
        output += section
        everything[label] = {"spec": json.loads(spec.as_json()), **as_json(results)}
    if args.huge:
        base, huge = everything["15k"]["ours"], everything["100k"]["ours"]
        for name in ("matrix", "matrix_inprocess", "floor"):
            if "seconds" in base.get(name, {}) and "seconds" in huge.get(name, {}):
                growth = huge[name]["seconds"] / base[name]["seconds"]
                line = (
                    f"- {name}: {huge[name]['seconds']:.2f} s at 100k+100k vs {base[name]['seconds']:.2f} s at 15k "
                    f"= {growth:.1f}× (goal for the matrix: < 10×); peak memory {huge[name].get('peak_mb', 0):.0f} MB"
                )
            else:
                line = f"- {name}: {NOT_MEASURED}"
            print(line)
            output.append(line)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text("\n".join(output) + "\n", encoding="utf-8")
    (args.out / "results.json").write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nWritten: {args.out / 'results.md'} and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
