"""Artifacts: what CI built, by digest, bound to a release like test runs and frozen in its baseline."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction

from qms.errors import Conflict
from qms.models import AuditEvent
from tests.conftest import token_client
from traceability.graph.selectors import baseline_diff, graph_load
from traceability.models import Artifact, Baseline
from traceability.services.evidence import artifact_register
from traceability.services.releases import release_create, release_freeze

pytestmark = pytest.mark.django_db

BASE = "/api/v1/products/DEMO/artifacts/"
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def state() -> tuple[int, int]:
    return Artifact.objects.count(), AuditEvent.objects.count()


def test_ci_registers_an_artifact_with_an_evidence_token(product, developer, qm):
    release_create(product=product, version="1.1.0", actor=qm)
    client = token_client(developer, ["evidence"])
    body = {
        "name": "bolus-app",
        "kind": "oci",
        "uri": f"registry.example.com/bolus/app@{DIGEST}",
        "digest": DIGEST,
        "size": 73_400_320,
        "version": "1.1.0",
        "commit": "3f9c2e1",
        "ci_job_url": "https://ci.example.com/jobs/881",
        "ci_run": "pipeline 881",
    }
    response = client.post(BASE, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "id": Artifact.objects.get().pk,
        "name": "bolus-app",
        "kind": "oci",
        "uri": f"registry.example.com/bolus/app@{DIGEST}",
        "digest": DIGEST,
        "size": 73_400_320,
        "version": "1.1.0",
        "commit_sha": "3f9c2e1",
        "ci_job_url": "https://ci.example.com/jobs/881",
        "ci_run": "pipeline 881",
        "created": True,
        "releases": ["1.1.0"],
    }
    events = AuditEvent.objects.count()
    again = client.post(BASE, body, format="json")
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert (Artifact.objects.count(), AuditEvent.objects.count()) == (1, events)
    assert AuditEvent.objects.filter(action="artifact.registered").count() == 1
    listed = client.get(BASE, {"digest": DIGEST}).json()
    assert [row["name"] for row in listed["results"]] == ["bolus-app"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"digest": "sha256:ABC"}, "digest: 'sha256:ABC' is not an OCI digest"),
        ({"digest": "a" * 64}, "is not an OCI digest"),
        ({"uri": "ftp://example.com/app.tar"}, "is not an https://, http:// or file:// URI"),
        ({"kind": "oci", "uri": "https://example.com/app.tar"}, "an OCI image is referenced by digest"),
        ({"kind": "oci", "uri": f"registry.example.com/app@{OTHER}"}, f"the reference names {OTHER}"),
        ({"kind": "wheel"}, "kind: unknown kind 'wheel'"),
        ({"version": ""}, "needs a version or a commit SHA"),
        ({"commit": "xyz"}, "commit: 'xyz' is not valid"),
        ({"name": ""}, "name"),
        ({"size": -1}, "size"),
    ],
)
def test_bad_artifacts_are_refused_and_nothing_is_written(product, developer, fields, message):
    client = token_client(developer, ["evidence"])
    body = {"name": "app", "uri": "https://example.com/app.tar", "digest": DIGEST, "version": "1.0", **fields}
    before = state()
    response = client.post(BASE, body, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert state() == before


def test_roles_and_scopes(product, developer, auditor, qm, api_client):
    body = {"name": "app", "uri": "https://example.com/app.tar", "digest": DIGEST, "version": "1.0"}
    assert token_client(developer, ["items"]).post(BASE, body, format="json").status_code == 403
    assert api_client(auditor).post(BASE, body, format="json").status_code == 403
    assert api_client(auditor).get(BASE).status_code == 200
    assert api_client(developer).post(BASE, body, format="json").status_code == 201
    assert Artifact.objects.count() == 1


def test_the_baseline_holds_the_release_artifacts_and_then_refuses_more(product, qm):
    release_create(product=product, version="1.0", actor=qm, commit_sha="abc1234")
    artifact_register(product=product, name="app", uri="https://e.com/a", digest=DIGEST, version="1.0", actor=qm)
    artifact_register(product=product, name="docs", uri="https://e.com/d", digest=OTHER, commit_sha="abc1234", actor=qm)
    artifact_register(product=product, name="old", uri="https://e.com/o", digest=OTHER, version="0.9", actor=qm)
    release = release_freeze(product=product, version="1.0", actor=qm)
    content = json.loads(Baseline.objects.get(release=release).content)
    assert content["format"] == "q-interface-baseline/3"
    assert [(row["name"], row["digest"]) for row in content["artifacts"]] == [("app", DIGEST), ("docs", OTHER)]
    graph = graph_load(product=product, release=release)
    assert [artifact.digest for artifact in graph.artifacts] == [DIGEST, OTHER]
    before = state()
    with pytest.raises(Conflict, match=r"1\.0 is frozen: its baseline holds the artifacts") as raised:
        artifact_register(product=product, name="late", uri="https://e.com/l", digest=OTHER, version="1.0", actor=qm)
    assert raised.value.code == "release_frozen"
    assert state() == before


def test_the_change_record_names_artifacts_added_and_removed(product, qm):
    for version, digest in (("1.0", DIGEST), ("1.1", OTHER)):
        release_create(product=product, version=version, actor=qm)
        artifact_register(product=product, name="app", uri="https://e.com/a", digest=digest, version=version, actor=qm)
        release_freeze(product=product, version=version, actor=qm)
    first, second = product.releases.order_by("created_at")
    diff = baseline_diff(release_a=first, release_b=second)
    assert (diff.artifacts_added, diff.artifacts_removed) == ([f"app {OTHER}"], [f"app {DIGEST}"])
    assert f"+ app {OTHER}" in diff.as_text() and diff.as_dict()["counts"]["artifacts_added"] == 1


def test_an_artifact_never_changes(product, qm):
    registration = artifact_register(
        product=product, name="app", uri="https://e.com/a", digest=DIGEST, version="1", actor=qm
    )
    with pytest.raises(RuntimeError, match="never changes"):
        registration.artifact.save()
    with pytest.raises(DatabaseError, match="an artifact never changes once registered"), transaction.atomic():
        Artifact.objects.update(digest=OTHER)


def test_the_command_registers_and_errors_name_the_problem(product, qm):
    out = StringIO()
    call_command("artifact_register", "DEMO", "1.0", "app", "https://e.com/a.tar", "--digest", DIGEST, stdout=out)
    assert out.getvalue().strip() == f"DEMO: app {DIGEST} registered; no release yet"
    with pytest.raises(CommandError, match="digest: 'sha256:1' is not an OCI digest"):
        call_command("artifact_register", "DEMO", "1.0", "app", "https://e.com/a.tar", "--digest", "sha256:1")
    with pytest.raises(CommandError, match="no product"):
        call_command("artifact_register", "NOPE", "1.0", "app", "https://e.com/a.tar", "--digest", DIGEST)
    assert Artifact.objects.count() == 1
