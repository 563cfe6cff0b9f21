"""Argo CD notifications and Flux events recorded as deployments, with the payloads of our documented
Argo CD template and Flux's documented events (tests/fixtures/argocd, tests/fixtures/flux)."""

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from qms.models import AuditEvent
from regops.models import Deployment, DeploymentStatus
from regops.services.decisions import gate_decide
from regops.services.environments import environment_create
from tests.conftest import token_client
from tests.traceability.reporting import record_results, report_items, report_product
from traceability.models import Commit
from traceability.services.evidence import artifact_register, webhook_secret_rotate
from traceability.services.releases import release_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
APP = "sha256:" + "a" * 64
DOCS = "sha256:" + "d" * 64
SHA = "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"
ARGOCD = "/api/v1/products/RPT/deployments/argocd/"
FLUX = "/api/v1/products/RPT/webhooks/flux/"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def rpt(qm):
    """RPT 1.0.0 at commit SHA with passing evidence and its image and docs; staging bound to the Argo
    CD application bolus-staging, production to the Flux Kustomization apps/webapp."""
    product = report_product(qm)
    report_items(product, qm)
    Commit.objects.create(product=product, sha=SHA, message="Release 1.0.0")
    release_create(product=product, version="1.0.0", actor=qm, commit_sha=SHA)
    record_results(product, "1.0.0", {"TC-1": "passed", "TC-2": "passed"})
    for name, uri, digest, kind in (
        ("app", f"registry.example.com/acme/bolus@{APP}", APP, "oci"),
        ("docs", "https://ci.example.com/docs.zip", DOCS, "docs"),
    ):
        artifact_register(product=product, name=name, uri=uri, digest=digest, version="1.0.0", actor=qm, kind=kind)
    staging = environment_create(
        product=product, key="staging", name="Staging", tier="staging", actor=qm, argocd_application="bolus-staging"
    )
    production = environment_create(
        product=product, key="production", name="Production", tier="production", actor=qm,
        flux_object="Kustomization/apps/webapp",
    )  # fmt: skip
    return {"product": product, "staging": staging, "production": production}


def written() -> tuple[int, int, int]:
    return Deployment.objects.count(), DeploymentStatus.objects.count(), AuditEvent.objects.count()


# --- Argo CD ------------------------------------------------------------------------------------


def test_an_argocd_sync_is_one_deployment_and_its_reports_are_statuses(rpt, developer):
    client = token_client(developer, ["deployments"])
    running = client.post(ARGOCD, fixture("argocd/sync-running.json"), format="json")
    assert running.status_code == 201, running.json()
    body = running.json()
    assert (body["status"], body["environment"], body["release"], body["digests"], body["state"]) == (
        "recorded",
        "staging",
        "1.0.0",
        [APP],
        "in_progress",
    )
    assert body["gate_flag"] == "deployed without asking the gate"
    done = client.post(ARGOCD, fixture("argocd/sync-succeeded.json"), format="json")
    assert (done.status_code, done.json()["state"]) == (200, "success")
    again = client.post(ARGOCD, fixture("argocd/sync-succeeded.json"), format="json")
    assert (again.status_code, again.json()["status"], again.json()["state"]) == (200, "unchanged", None)
    deployment = Deployment.objects.get()
    assert (deployment.engine, deployment.external_id, deployment.initiator, deployment.external_url) == (
        "argocd",
        "bolus-staging@2026-03-02T10:00:00Z",
        "admin",
        "https://argocd.example.com/applications/bolus-staging",
    )
    statuses = list(deployment.statuses.order_by("at", "id"))
    assert [status.state for status in statuses] == ["in_progress", "success"]
    assert statuses[1].at == datetime(2026, 3, 2, 10, 1, 30, tzinfo=UTC)
    assert statuses[1].description == (
        "Argo CD bolus-staging: sync Synced, phase Succeeded, health Healthy; revision "
        f"{SHA}; 1 image(s) without a digest: docker.io/library/redis:7.2"
    )
    assert statuses[1].reported_by == "dana"
    failed = client.post(ARGOCD, fixture("argocd/sync-failed.json"), format="json")
    assert (failed.status_code, failed.json()["state"]) == (201, "failure")  # another sync operation


def test_an_argocd_sync_the_gate_allowed_is_tied_to_its_decision(rpt, developer):
    decision, _ = gate_decide(environment=rpt["staging"], actor=developer, digests=[APP], engine="argocd")
    assert decision.allowed
    response = token_client(developer, ["deployments"]).post(
        ARGOCD, fixture("argocd/sync-succeeded.json"), format="json"
    )
    assert response.json()["gate_flag"] == ""
    assert Deployment.objects.get().gate_decision == decision


def test_an_argocd_sync_without_digests_is_bound_by_its_revision(rpt, developer):
    payload = fixture("argocd/sync-succeeded.json") | {"images": None}
    response = token_client(developer, ["deployments"]).post(ARGOCD, payload, format="json")
    assert response.status_code == 201
    assert (response.json()["release"], response.json()["digests"]) == ("1.0.0", [APP, DOCS])


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"app": "bolus-moon"}, 404, "no environment of RPT is bound to argocd application 'bolus-moon'"),
        ({"phase": "Exploded"}, 400, "phase: unknown operation phase 'Exploded'"),
        ({"phase": "", "sync_status": "OutOfSync"}, 400, "phase: no sync operation and the application is not"),
        ({"images": "registry/app@sha256:x"}, 400, "images: a list of image references"),
        ({"finished_at": "yesterday"}, 400, "finished_at: 'yesterday' is not an ISO 8601 time"),
        ({"app": ""}, 400, "app: required"),
        ({"app": 7}, 400, "app: a string, not int"),
        (
            {"images": [], "revision": ""},
            400,
            "images: nothing names what was deployed (no image digest, no revision, no version)",
        ),
    ],
)
def test_bad_argocd_reports_are_refused_and_nothing_is_written(rpt, developer, change, status, message):
    client = token_client(developer, ["deployments"])
    before = written()
    response = client.post(ARGOCD, fixture("argocd/sync-succeeded.json") | change, format="json")
    assert response.status_code == status
    assert response.json()["detail"].startswith(message)
    assert written() == before


def test_argocd_needs_a_token_with_the_deployments_scope(rpt, developer):
    client = token_client(developer, ["evidence"])
    before = written()
    payload = fixture("argocd/sync-succeeded.json")
    refused = client.post(ARGOCD, payload, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This API token lacks the scope 'deployments'."
    assert APIClient().post(ARGOCD, payload, format="json").status_code in (401, 403)
    assert written() == before


# --- Flux ---------------------------------------------------------------------------------------


def signed(secret: str, payload: dict, *, function: str = "sha256") -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, f"{function}=" + hmac.new(secret.encode(), body, getattr(hashlib, function)).hexdigest()


def flux_post(body: bytes, signature: str | None, url: str = FLUX):
    headers = {"HTTP_X_SIGNATURE": signature} if signature is not None else {}
    return APIClient().post(url, body, content_type="application/json", **headers)


def test_a_flux_event_is_recorded_for_the_bound_object(rpt, qm):
    secret = webhook_secret_rotate(product=rpt["product"], actor=qm)
    body, signature = signed(secret, fixture("flux/kustomization-reconciliation-succeeded.json"))
    response = flux_post(body, signature)
    assert response.status_code == 201, response.json()
    assert response.json() | {"deployment": None} == {
        "status": "recorded",
        "deployment": None,
        "environment": "production",
        "release": "1.0.0",
        "digests": [APP, DOCS],
        "state": "success",
        "gate_flag": "deployed without asking the gate",
        "detail": "",
    }
    deployment = Deployment.objects.get()
    assert (deployment.engine, deployment.external_id, deployment.initiator) == (
        "flux",
        f"Kustomization/apps/webapp@main@sha1:{SHA}",
        "kustomize-controller",
    )
    status = deployment.statuses.get()
    assert (status.at, status.reported_by) == (datetime(2022, 10, 28, 7, 30, 2, tzinfo=UTC), "system")
    assert status.description == (
        "Kustomization/apps/webapp ReconciliationSucceeded: Reconciliation finished in 2.1s, next run in 10m0s"
    )
    assert flux_post(body, signature).json()["status"] == "unchanged"  # a repeated delivery


def test_a_flux_error_is_a_failed_deployment_and_an_unknown_revision_is_flagged(rpt, qm):
    secret = webhook_secret_rotate(product=rpt["product"], actor=qm)
    response = flux_post(*signed(secret, fixture("flux/kustomization-validation-failed.json")))
    assert (response.status_code, response.json()["state"], response.json()["release"]) == (201, "failure", "1.0.0")
    unknown = fixture("flux/kustomization-reconciliation-succeeded.json")
    unknown["metadata"] = {"kustomize.toolkit.fluxcd.io/revision": "main@sha1:" + "f" * 40}
    recorded = flux_post(*signed(secret, unknown)).json()
    assert (recorded["release"], recorded["digests"], recorded["gate_flag"]) == (
        "main@sha1:" + "f" * 40,
        [],
        "deployed without asking the gate",
    )


def test_flux_events_about_no_deployment_are_accepted_and_ignored(rpt, qm):
    secret = webhook_secret_rotate(product=rpt["product"], actor=qm)
    before = written()
    response = flux_post(*signed(secret, fixture("flux/gitrepository-artifact-up-to-date.json")))
    assert response.status_code == 202
    assert response.json()["detail"] == "GitRepository ArtifactUpToDate (info) says nothing about a deployment"
    assert written() == before


def test_flux_hmac_missing_is_401_wrong_403_and_nothing_is_written(rpt, qm):
    payload = fixture("flux/kustomization-reconciliation-succeeded.json")
    before = written()
    body, _ = signed("whatever", payload)
    disabled = flux_post(body, "sha256=" + "0" * 64)
    assert (disabled.status_code, disabled.json()["error"]) == (403, "webhook_disabled")
    secret = webhook_secret_rotate(product=rpt["product"], actor=qm)
    before = written()
    body, signature = signed(secret, payload)
    missing = flux_post(body, None)
    assert (missing.status_code, missing.json()["detail"]) == (401, "missing X-Signature header")
    wrong = flux_post(body, signed("not-the-secret", payload)[1])
    assert (wrong.status_code, wrong.json()["detail"]) == (
        403,
        "X-Signature does not match the body and the product's webhook secret",
    )
    tampered = flux_post(body.replace(b"2.1s", b"9.9s"), signature)
    assert tampered.status_code == 403
    sha1 = flux_post(*signed(secret, payload, function="sha1"))
    assert (sha1.status_code, sha1.json()["detail"]) == (
        403,
        "X-Signature: unknown hash function 'sha1' (sha256, sha384, sha512)",
    )
    assert flux_post(body, signature, url=FLUX.replace("RPT", "NOPE")).status_code == 404
    assert written() == before
    assert flux_post(*signed(secret, payload, function="sha512")).status_code == 201


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"involvedObject": None}, 400, "involvedObject: {kind, name, namespace} required"),
        ({"severity": "fatal"}, 400, "severity: 'fatal'; Flux sends info or error"),
        ({"timestamp": "soon"}, 400, "timestamp: 'soon' is not an ISO 8601 time"),
        ({"metadata": {}}, 400, "metadata.revision: nothing names what was deployed"),
        (
            {"involvedObject": {"kind": "Kustomization", "name": "other", "namespace": "apps"}},
            404,
            "no environment of RPT is bound to flux object 'Kustomization/apps/other'",
        ),
    ],
)
def test_bad_flux_events_are_refused_and_nothing_is_written(rpt, qm, change, status, message):
    secret = webhook_secret_rotate(product=rpt["product"], actor=qm)
    payload = copy.deepcopy(fixture("flux/kustomization-reconciliation-succeeded.json")) | change
    before = written()
    response = flux_post(*signed(secret, payload))
    assert response.status_code == status
    assert response.json()["detail"].startswith(message)
    assert written() == before


def test_a_flux_body_that_is_not_an_object_is_400(rpt, qm):
    secret = webhook_secret_rotate(product=rpt["product"], actor=qm)
    body = b"[1, 2]"
    response = flux_post(body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())
    assert (response.status_code, response.json()["detail"]) == (400, "the webhook body must be a JSON object")
