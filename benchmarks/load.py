"""Load benchmark (issue 9): CI uploads and deployment gates at the same time, on PostgreSQL behind
gunicorn. Not a test: run it on purpose, it prints figures.

    python benchmarks/load.py                                  # 20 clients, 60 s
    python benchmarks/load.py --clients 20 --duration 60 --items 1000 --port 8103 \\
        --database-url postgres://postgres@127.0.0.1:5432/qi_load

It drops and creates the PostgreSQL database of ``--database-url`` (its name must start with
``qi_load``: the script never touches another database), migrates it, imports a synthetic product
``BENCH`` (``--items``, the proportions of ``benchmarks/generate.py``: SYS ← SRS ← TST), creates
the draft release 1.0, a developer with an API token of scope ``evidence`` and an auditor with a
read-only token, and starts gunicorn (``--workers`` × ``--threads``, gthread) on ``--port``.

Then ``--clients`` clients run for ``--duration`` seconds, each on its own keep-alive connection:

- half post JUnit files of ``--cases`` test cases (``POST /api/v1/products/BENCH/junit/``, version
  1.0): per client a stable suite, plus 5 % test cases new in every file (so test-case items are
  created while others read); each case names a software requirement; 90 % pass, 5 % fail, 3 %
  are skipped, 2 % errors;
- half read what a deployment gate reads, in turn: the release status and the live matrix
  (``GET .../releases/1.0/status/`` and ``.../releases/1.0/matrix/``).

Afterwards it stops gunicorn and prints, per endpoint: requests, answers by class (2xx, 4xx, 5xx,
no answer), p50 / p95 / max latency; the exceptions in gunicorn's log; and whether a posted result
was lost: every acknowledged upload (201) is compared, status by status, with the results stored
for its run (found by its ``ci_job_url``), and an upload answered otherwise must have stored
nothing. gunicorn's log is kept in ``benchmarks/out/load/gunicorn.log``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import quoteattr

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.environment import benchmark_secrets, database_recreated  # noqa: E402
from benchmarks.generate import DatasetSpec, django_setup, product_load  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "load"
PRODUCT = "BENCH"
VERSION = "1.0"
STATUS_PATH = f"/api/v1/products/{PRODUCT}/releases/{VERSION}/status/"
MATRIX_PATH = f"/api/v1/products/{PRODUCT}/releases/{VERSION}/matrix/"
JUNIT_PATH = f"/api/v1/products/{PRODUCT}/junit/"
ENDPOINTS = ("POST junit", "GET status", "GET matrix")


@dataclass
class Upload:
    """One posted JUnit file: what it held and how it was answered."""

    job: str
    expected: Counter[str]
    status: int


@dataclass
class Tally:
    """What the clients saw: (endpoint, HTTP status or 0 for no answer, seconds) per request."""

    samples: list[tuple[str, int, float]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, endpoint: str, status: int, seconds: float, upload: Upload | None = None) -> None:
        with self.lock:
            self.samples.append((endpoint, status, seconds))
            if upload is not None:
                self.uploads.append(upload)


# --- set-up ------------------------------------------------------------------------------------


def product_prepare(url: str, items: int) -> tuple[str, str, list[str]]:
    """Schema, product BENCH with release 1.0 (draft), users and tokens. Returns the posting token,
    the reading token and the software requirements' keys."""
    django_setup(url)
    from django.core.management import call_command
    from django.db import connections

    from qms.roles import Role, Scope
    from qms.services import token_create
    from qms.services.users import user_create
    from traceability.models import Item, Product
    from traceability.services.releases import release_create

    call_command("migrate", verbosity=0)
    spec = DatasetSpec.of_items(items)
    started = time.perf_counter()
    product_load(spec, product_key=PRODUCT)
    product = Product.objects.get(key=PRODUCT)
    release_create(product=product, version=VERSION, actor=None)
    ci = user_create(username="load-ci", roles=[Role.DEVELOPER], actor=None, first_name="CI", last_name="Pipeline")
    gate = user_create(username="load-gate", roles=[Role.AUDITOR], actor=None, first_name="Deploy", last_name="Gate")
    _, post_key = token_create(user=ci, name="junit uploads", scopes=[Scope.EVIDENCE], actor=None)
    _, read_key = token_create(user=gate, name="deployment gate", scopes=[], actor=None)
    requirements = list(
        Item.objects.filter(product=product, kind="software_requirement").order_by("key").values_list("key", flat=True)
    )
    print(f"prepared {spec.total} items in {time.perf_counter() - started:.1f} s")
    connections.close_all()
    return post_key, read_key, requirements


# --- the server --------------------------------------------------------------------------------


def gunicorn_start(url: str, port: int, workers: int, threads: int, log: Any) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        **benchmark_secrets(),  # set by django_setup
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "qms.settings",
        "DB_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on 127.0.0.1
        "SECURE_COOKIES": "0",
    }
    env.pop("DEBUG", None)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "qms.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--threads={threads}",
        "--worker-class=gthread",
        "--timeout=300",
        "--graceful-timeout=60",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {log.name}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/")
            connection.getresponse().read()
            connection.close()
            return server
        except OSError:
            time.sleep(0.2)
    gunicorn_stop(server)
    raise SystemExit(f"gunicorn did not answer on port {port} within 60 s; see {log.name}")


def gunicorn_stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(90)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# --- the clients -------------------------------------------------------------------------------


def junit_file(
    client: int, number: int, cases: int, requirements: list[str], rng: random.Random
) -> tuple[bytes, Counter[str]]:
    """A pytest-flavoured JUnit file: the client's stable suite and 5 % new test cases."""
    new = max(1, cases // 20)
    expected: Counter[str] = Counter()
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><testsuites>',
        f'<testsuite name="pytest" tests="{cases}" timestamp="2026-03-03T10:00:00+00:00">',
    ]
    for index in range(cases):
        if index < cases - new:
            classname, name = f"tests.client_{client}.TestSuite", f"test_{index:04d}"
        else:
            classname, name = f"tests.client_{client}.TestAdded{number}", f"test_{index:04d}"
        roll = rng.random()
        if roll < 0.05:
            status, body = "failed", '<failure message="assert 3 == 2">E assert 3 == 2</failure>'
        elif roll < 0.08:
            status, body = "skipped", '<skipped message="needs hardware" />'
        elif roll < 0.10:
            status, body = "error", '<error message="fixture failed">RuntimeError</error>'
        else:
            status, body = "passed", ""
        expected[status] += 1
        requirement = requirements[(client * 7919 + index) % len(requirements)]
        parts.append(
            f'<testcase classname={quoteattr(classname)} name={quoteattr(name)} time="{rng.random():.3f}">'
            f'<properties><property name="requirements" value="{requirement}" /></properties>{body}</testcase>'
        )
    parts.append("</testsuite></testsuites>")
    return "".join(parts).encode(), expected


class Connection:
    """A keep-alive HTTP connection that reconnects after a failure."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self.http: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> tuple[int, bytes]:
        if self.http is None:
            self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        try:
            self.http.request(method, path, body=body, headers=headers)
            response = self.http.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.http.close()
            self.http = None
            return 0, b""


def poster(
    client: int, deadline: float, port: int, token: str, cases: int, requirements: list[str], tally: Tally
) -> None:
    rng = random.Random(client)
    connection = Connection(port, token)
    number = 0
    while time.monotonic() < deadline:
        body, expected = junit_file(client, number, cases, requirements, rng)
        job = f"https://ci.example/load/{client}/{number}"
        query = urlencode({"version": VERSION, "name": f"load client {client}", "ci_job_url": job})
        started = time.perf_counter()
        status, _ = connection.request("POST", f"{JUNIT_PATH}?{query}", body, "application/xml")
        tally.add("POST junit", status, time.perf_counter() - started, Upload(job, expected, status))
        number += 1


def reader(client: int, deadline: float, port: int, token: str, tally: Tally) -> None:
    connection = Connection(port, token)
    turn = client % 2
    while time.monotonic() < deadline:
        endpoint, path = ("GET status", STATUS_PATH) if turn == 0 else ("GET matrix", MATRIX_PATH)
        started = time.perf_counter()
        status, _ = connection.request("GET", path)
        tally.add(endpoint, status, time.perf_counter() - started)
        turn = 1 - turn


# --- figures -----------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def answers_print(tally: Tally, duration: float) -> int:
    head = (("requests", 8), ("2xx", 6), ("4xx", 5), ("5xx", 5), ("none", 5), ("p50", 8), ("p95", 8), ("max", 8))
    print("\n" + f"{'endpoint':<12} " + " ".join(f"{name:>{width}}" for name, width in head))
    total_5xx = 0
    for endpoint in (*ENDPOINTS, "all"):
        rows = [sample for sample in tally.samples if endpoint in ("all", sample[0])]
        classes = Counter("none" if status == 0 else f"{status // 100}xx" for _, status, _ in rows)
        seconds = [elapsed for _, _, elapsed in rows]
        if endpoint == "all":
            total_5xx = classes["5xx"]
        other = sorted(f"{s}" for _, s, _ in rows if s and s // 100 not in (2, 4, 5))
        print(
            f"{endpoint:<12} {len(rows):>8} {classes['2xx']:>6} {classes['4xx']:>5} {classes['5xx']:>5} "
            f"{classes['none']:>5} {percentile(seconds, 0.5):>7.3f}s {percentile(seconds, 0.95):>7.3f}s "
            f"{max(seconds, default=0):>7.3f}s" + (f"  other: {', '.join(other)}" if other else "")
        )
    print(f"{len(tally.samples) / duration:.1f} requests/s over {duration:.0f} s")
    return total_5xx


def log_exceptions(path: Path) -> Counter[str]:
    """Exception names at the end of the tracebacks in gunicorn's log."""
    names: Counter[str] = Counter()
    in_traceback = False
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace():
            names[line.split(":", 1)[0]] += 1
            in_traceback = False
    return names


def results_check(tally: Tally) -> bool:
    """Every acknowledged upload's results are stored, status by status; a refused one stored nothing."""
    from django.db.models import Count

    from traceability.models import TestResult, TestRun

    stored: dict[str, Counter[str]] = {}
    for job, status, count in (
        TestResult.objects.filter(run__product__key=PRODUCT, run__ci_job_url__startswith="https://ci.example/load/")
        .values_list("run__ci_job_url", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        stored.setdefault(job, Counter())[status] = count
    runs = TestRun.objects.filter(product__key=PRODUCT, ci_job_url__startswith="https://ci.example/load/").count()
    acknowledged = [upload for upload in tally.uploads if upload.status == 201]
    refused = [upload for upload in tally.uploads if upload.status != 201]
    lost = [upload.job for upload in acknowledged if stored.get(upload.job, Counter()) != upload.expected]
    stray = [upload.job for upload in refused if upload.job in stored]
    posted = sum(sum(upload.expected.values()) for upload in acknowledged)
    found = sum(sum(stored.get(upload.job, Counter()).values()) for upload in acknowledged)
    print(
        f"\nuploads: {len(tally.uploads)} posted, {len(acknowledged)} acknowledged (201), {len(refused)} not; "
        f"{runs} runs stored"
    )
    print(f"results of acknowledged uploads: {posted:,} posted, {found:,} stored; lost: {len(lost)} uploads")
    if lost:
        print(f"  lost, e.g.: {', '.join(lost[:5])}")
    if stray:
        print(f"  stored although not acknowledged: {len(stray)} uploads, e.g. {', '.join(stray[:5])}")
    return not lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/qi_load")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients, half posting, half reading")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--items", type=int, default=1000, help="items of the synthetic product")
    parser.add_argument("--cases", type=int, default=200, help="test cases per JUnit file")
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    args = parser.parse_args()
    if args.clients < 2:
        parser.error("--clients needs at least 2 (one posting, one reading)")

    OUT.mkdir(parents=True, exist_ok=True)
    database_recreated(args.database_url, prefix="qi_load")
    post_key, read_key, requirements = product_prepare(args.database_url, args.items)
    log_path = OUT / "gunicorn.log"
    posters = args.clients // 2
    readers = args.clients - posters
    tally = Tally()
    with log_path.open("wb") as log:
        server = gunicorn_start(args.database_url, args.port, args.workers, args.threads, log)
        try:
            print(
                f"load: {posters} clients posting {args.cases}-case JUnit files, {readers} reading status and "
                f"matrix, {args.duration:.0f} s; gunicorn {args.workers} workers × {args.threads} threads on "
                f"port {args.port}; PostgreSQL; load average before {os.getloadavg()[0]:.2f}"
            )
            deadline = time.monotonic() + args.duration
            threads = [
                threading.Thread(
                    target=poster, args=(i, deadline, args.port, post_key, args.cases, requirements, tally)
                )
                for i in range(posters)
            ] + [
                threading.Thread(target=reader, args=(i, deadline, args.port, read_key, tally)) for i in range(readers)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        finally:
            gunicorn_stop(server)
    total_5xx = answers_print(tally, elapsed)
    exceptions = log_exceptions(log_path)
    print(
        "exceptions in gunicorn's log: "
        + (", ".join(f"{name} × {count}" for name, count in exceptions.most_common()) or "none")
    )
    intact = results_check(tally)
    print(f"\n{len(tally.samples)} requests, {total_5xx} 5xx; results lost: {'none' if intact else 'YES'}")
    return 0 if total_5xx == 0 and intact else 1


if __name__ == "__main__":
    sys.exit(main())
