"""Commits: message references, batches over the API, ingest_git on a real repository."""

import hashlib
import json
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qms.models import AuditEvent
from traceability.models import Commit, CommitLink
from traceability.services.evidence.references import commit_message_references, keys_in

pytestmark = pytest.mark.django_db
PATTERN = r"[A-Z][A-Z0-9]*-\d+"


def sha(n: int) -> str:
    return hashlib.sha1(str(n).encode()).hexdigest()  # noqa: S324 - a made-up commit SHA


def commit(n: int, message: str = "Tidy up", **extra) -> dict:
    return {
        "sha": sha(n),
        "repository": "acme/bolus",
        "author_name": "Dana Developer",
        "author_email": "dana@example.com",
        "authored_at": "2026-03-03T10:00:00+01:00",
        "message": message,
        "parents": [sha(n - 1)] if n > 1 else [],
        **extra,
    }


def state() -> tuple[int, int, int]:
    return Commit.objects.count(), CommitLink.objects.count(), AuditEvent.objects.count()


@pytest.mark.requirement("QI-406")
@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Round doses down\n\nImplements: SRS-012", [("SRS-012", "implements")]),
        ("Fixes: ANOM-3 and mentions SRS-1", [("ANOM-3", "fixes"), ("SRS-1", "mentions")]),
        ("SRS-012: faster rounding", [("SRS-012", "mentions")]),
        (
            "implements SRS-1, SRS-2 & SRS-3",
            [("SRS-1", "implements"), ("SRS-2", "implements"), ("SRS-3", "implements")],
        ),
        ("closes ANOM-7; resolved ANOM-8", [("ANOM-7", "fixes"), ("ANOM-8", "fixes")]),
        ("Mention SRS-1 then Implements: SRS-1", [("SRS-1", "implements")]),
        ("UTF-8 everywhere, no XSRS-12a keys", [("UTF-8", "mentions")]),
        ("nothing here", []),
    ],
)
def test_commit_message_references(message, expected):
    assert commit_message_references(message, PATTERN) == expected


def test_keys_respect_the_product_pattern():
    assert keys_in("SRS-0123 SRS-012 TC-001_x", r"(SRS|TC)-\d{3}") == ["SRS-012", "TC-001"]


@pytest.mark.requirement("QI-406")
def test_a_commit_batch_is_stored_linked_and_idempotent(small_graph, developer, api_client):
    client = api_client(developer)
    batch = [
        commit(1, "Round doses down\n\nImplements: SRS-1"),
        commit(2, "Fixes: SYS-1, tidy RC-1 and SRS-404"),
        commit(3, "Tidy"),
    ]
    events = AuditEvent.objects.count()
    response = client.post("/api/v1/products/DEMO/commits/", batch, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "received": 3,
        "created": 3,
        "unchanged": 0,
        "links_created": 3,
        "unresolved_count": 1,
        "unresolved": [{"sha": sha(2), "key": "SRS-404", "problem": "no such item"}],
    }
    assert sorted(CommitLink.objects.values_list("commit__sha", "item__key", "kind")) == [
        (sha(1), "SRS-1", "implements"),
        (sha(2), "RC-1", "mentions"),
        (sha(2), "SYS-1", "fixes"),
    ]
    stored = Commit.objects.get(sha=sha(2))
    assert (stored.repository, stored.author_email, stored.parents, stored.created_by) == (
        "acme/bolus",
        "dana@example.com",
        [sha(1)],
        developer,
    )
    assert stored.authored_at.isoformat() == "2026-03-03T09:00:00+00:00"
    event = AuditEvent.objects.get(id__gt=0, action="commits.ingested")
    assert AuditEvent.objects.count() == events + 1
    assert event.after["shas"] == [sha(1), sha(2), sha(3)]
    before = state()
    again = client.post("/api/v1/products/DEMO/commits/", {"commits": [*batch, commit(4)]}, format="json")
    assert again.status_code == 201
    assert (again.json()["created"], again.json()["unchanged"]) == (1, 3)
    assert state()[0] == before[0] + 1
    before = state()
    same = client.post("/api/v1/products/DEMO/commits/", batch, format="json")
    assert same.status_code == 200 and same.json()["created"] == 0
    assert state() == before


@pytest.mark.requirement("QI-406")
@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([], "commits: must be a non-empty list of commits"),
        ({"commits": "x"}, "commits: must be a non-empty list of commits"),
        ([commit(1), "x"], "commits[1]: must be an object"),
        ([commit(1), commit(2, sha="abc")], "commits[1].sha: must be a full commit SHA (40 hex digits), got 'abc'"),
        ([commit(1), commit(1)], f"commits[1].sha: {sha(1)} is also commits[0]"),
        ([commit(1, authored_at="yesterday")], "commits[0].authored_at: must be an ISO 8601 date or date-time"),
        (
            [commit(1, authored_at="2026-03-03T10:00:00")],
            "commits[0].authored_at: '2026-03-03T10:00:00' needs a time zone",
        ),
        ([commit(2, parents=["main"])], "commits[0].parents: must be a list of full commit SHAs"),
        ([commit(1, message=7)], "commits[0].message: must be text"),
        ([commit(1, branch="main")], "commits[0]: unknown field 'branch'"),
        ([{k: v for k, v in commit(1).items() if k != "authored_at"}], "commits[0].authored_at: is required"),
    ],
)
def test_a_malformed_batch_names_the_entry_and_stores_nothing(small_graph, developer, api_client, batch, message):
    client = api_client(developer)
    before = state()
    response = client.post("/api/v1/products/DEMO/commits/", batch, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert state() == before


def test_commit_list_and_detail(small_graph, developer, api_client):
    client = api_client(developer)
    client.post("/api/v1/products/DEMO/commits/", [commit(1, "Implements: SRS-1"), commit(2)], format="json")
    listed = client.get("/api/v1/products/DEMO/commits/?item=SRS-1").json()["results"]
    assert [(c["sha"], c["links"]) for c in listed] == [(sha(1), [{"item": "SRS-1", "kind": "implements"}])]
    assert client.get(f"/api/v1/products/DEMO/commits/{sha(2)[:10]}/").json()["sha"] == sha(2)
    assert client.get(f"/api/v1/products/DEMO/commits/{sha(2)[:6]}/").status_code == 404  # too short
    assert client.get(f"/api/v1/products/DEMO/commits/{sha(3)}/").json()["detail"] == (
        f"'{sha(3)}' is not a stored commit of DEMO"
    )


def test_commit_list_costs_the_same_queries_for_one_and_many_commits(small_graph, developer, api_client):
    client = api_client(developer)
    client.post("/api/v1/products/DEMO/commits/", [commit(1, "Implements: SRS-1")], format="json")
    client.get("/api/v1/products/DEMO/commits/")
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/products/DEMO/commits/")
    batch = [commit(n, "Implements: SRS-1, fixes SYS-1 RC-1") for n in range(2, 40)]
    client.post("/api/v1/products/DEMO/commits/", batch, format="json")
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/products/DEMO/commits/")
    assert response.json()["count"] == 39
    assert len(one) == len(many)


def test_a_batch_costs_a_constant_number_of_queries(small_graph, developer):
    from traceability.services.evidence import commit_inputs_parse, commits_ingest

    product = small_graph["SRS-1"].product

    def ingest(numbers: range) -> int:
        commits = commit_inputs_parse([commit(n, "Implements: SRS-1") for n in numbers])
        with CaptureQueriesContext(connection) as queries:
            commits_ingest(product=product, commits=commits, actor=developer)
        return len(queries)

    assert ingest(range(1, 2)) == ingest(range(2, 200))


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    import os

    full_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dana Developer",
        "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana Developer",
        "GIT_COMMITTER_EMAIL": "dana@example.com",
        **(env or {}),
    }
    return subprocess.run(  # noqa: S603 - fixed git command in a temporary folder
        ["git", "-C", str(repo), *args],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
        env=full_env,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "bolus"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "remote", "add", "origin", "https://ci-bot:s3cret@git.example.com/acme/bolus.git")
    for number, message in enumerate(
        ["Initial import", "Round doses down\n\nImplements: SRS-1", "Fix alarm\n\nFixes: RC-1\nRefs SYS-1"], start=1
    ):
        (path / "file.txt").write_text(f"{number}\n")
        git(path, "add", "file.txt")
        git(path, "commit", "-q", "-m", message, env={"GIT_AUTHOR_DATE": f"2026-03-0{number}T10:00:00+01:00"})
        if number == 1:
            git(path, "tag", "v1.0.0")
    return path


@pytest.mark.requirement("QI-406")
def test_ingest_git_reads_a_local_repository(small_graph, repo):
    out = StringIO()
    call_command("ingest_git", "DEMO", str(repo), "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert (summary["received"], summary["created"], summary["links_created"]) == (3, 3, 3)
    head = git(repo, "rev-parse", "HEAD")
    stored = Commit.objects.get(sha=head)
    assert stored.repository == "https://git.example.com/acme/bolus.git"  # credentials dropped
    assert stored.message == "Fix alarm\n\nFixes: RC-1\nRefs SYS-1"
    assert stored.parents == [git(repo, "rev-parse", "HEAD~1")]
    assert (stored.author_name, stored.author_email) == ("Dana Developer", "dana@example.com")
    assert stored.authored_at.isoformat() == "2026-03-03T09:00:00+00:00"
    assert sorted(stored.item_links.values_list("item__key", "kind")) == [("RC-1", "fixes"), ("SYS-1", "mentions")]
    before = state()
    again = StringIO()
    call_command("ingest_git", "DEMO", str(repo), stdout=again)
    assert again.getvalue().strip() == "DEMO: 3 commits read, 0 stored, 3 already stored, 0 item link(s)"
    assert state() == before


def test_ingest_git_with_a_rev_range(small_graph, repo):
    out = StringIO()
    call_command("ingest_git", "DEMO", str(repo), "--rev-range", "v1.0.0..HEAD", "--repository", "bolus", stdout=out)
    assert out.getvalue().strip() == "DEMO: 2 commits read, 2 stored, 0 already stored, 3 item link(s)"
    assert set(Commit.objects.values_list("repository", flat=True)) == {"bolus"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["NOPE", "{repo}"], "no product 'NOPE'"),
        (["DEMO", "{repo}/missing"], "missing: no such folder"),
        (["DEMO", "{repo}", "--rev-range=--output=/tmp/x"], "is not a revision range"),
        (["DEMO", "{repo}", "--rev-range", "v9.9.9..HEAD"], "git log failed"),
        (["DEMO", "{tmp}"], "git log failed"),
    ],
)
def test_ingest_git_errors_exit_non_zero_and_store_nothing(small_graph, repo, tmp_path, args, message):
    before = state()
    with pytest.raises(CommandError) as caught:
        call_command("ingest_git", *[a.format(repo=repo, tmp=tmp_path) for a in args])
    assert message in str(caught.value)
    assert state() == before
