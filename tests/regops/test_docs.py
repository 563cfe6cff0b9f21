"""docs/regops.md: its manifests are valid Kubernetes YAML, and the contracts they document hold
against the API (the Argo CD notifications template renders a body the endpoint records; the Argo
Rollouts web metric reads a JSON boolean at ``{$.allowed}``)."""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from regops.attestations import PREDICATE_TYPE
from regops.models import Deployment
from regops.services.environments import environment_create
from tests.conftest import token_client
from tests.traceability.reporting import record_results, report_items, report_product
from traceability.models import Commit
from traceability.services.evidence import artifact_register
from traceability.services.releases import release_create

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "regops.md").read_text()
FIXTURES = ROOT / "tests" / "fixtures" / "argocd"
APP = "sha256:" + "a" * 64
SHA = "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"


def yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", DOC, re.DOTALL | re.MULTILINE)


def manifests() -> list[dict]:
    return [document for block in yaml_blocks() for document in yaml.safe_load_all(block)]


def manifest(kind: str, name: str | None = None) -> dict:
    found = [m for m in manifests() if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def test_every_yaml_block_is_kubernetes_manifests():
    blocks = yaml_blocks()
    assert len(blocks) == 8
    for block in blocks:
        documents = list(yaml.safe_load_all(block))
        assert documents, block
        for document in documents:
            assert isinstance(document, dict), block
            assert document.get("apiVersion") and document.get("kind"), block
            assert document.get("metadata", {}).get("name"), block
    kinds = {(m["apiVersion"], m["kind"]) for m in manifests()}
    assert kinds >= {
        ("kyverno.io/v1", "ClusterPolicy"),
        ("batch/v1", "Job"),
        ("v1", "ConfigMap"),
        ("argoproj.io/v1alpha1", "Application"),
        ("argoproj.io/v1alpha1", "AnalysisTemplate"),
        ("notification.toolkit.fluxcd.io/v1beta3", "Provider"),
        ("notification.toolkit.fluxcd.io/v1beta3", "Alert"),
        ("flagger.app/v1beta1", "Canary"),
    }


def test_the_github_and_gitlab_sections_are_left_to_the_engines_document():
    for heading in ("GitHub", "GitLab"):
        section = DOC.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
        assert section.strip() == "See docs/regops-engines.md (merged here by the lead)."


def test_the_kyverno_policy_asks_for_our_predicate_type():
    rule = manifest("ClusterPolicy")["spec"]["rules"][0]["verifyImages"][0]
    attestation = rule["attestations"][0]
    assert attestation["type"] == PREDICATE_TYPE
    assert attestation["attestors"][0]["entries"][0]["keys"]["rekor"] == {"ignoreTlog": True}
    keys = {condition["key"] for condition in attestation["conditions"][0]["all"]}
    assert keys == {"{{ gate }}", "{{ product.key }}", "production"}
    assert f"--type {PREDICATE_TYPE}" in DOC


def test_flux_and_flagger_manifests_use_the_documented_contracts():
    provider = manifest("Provider")["spec"]
    assert (provider["type"], urlsplit(provider["address"]).path) == (
        "generic-hmac",
        "/api/v1/products/BOLUS/webhooks/flux/",
    )
    webhook = manifest("Canary")["spec"]["analysis"]["webhooks"][0]
    assert webhook["type"] == "confirm-promotion" and "strict=1" in webhook["metadata"]["cmd"]
    assert "curl -fsS" in webhook["metadata"]["cmd"]


# --- the contracts, against the API --------------------------------------------------------------


@pytest.fixture
def rpt(qm, catalogue):
    product = report_product(qm)
    report_items(product, qm)
    Commit.objects.create(product=product, sha=SHA, message="Release 1.0.0")
    release_create(product=product, version="1.0.0", actor=qm, commit_sha=SHA)
    record_results(product, "1.0.0", {"TC-1": "passed", "TC-2": "passed"})
    artifact_register(
        product=product, name="app", uri=f"registry.example.com/acme/bolus@{APP}", digest=APP, version="1.0.0",
        actor=qm, kind="oci",
    )  # fmt: skip
    staging = environment_create(
        product=product, key="staging", name="Staging", tier="staging", actor=qm, argocd_application="bolus-staging"
    )
    production = environment_create(product=product, key="production", name="Prod", tier="production", actor=qm)
    return {"product": product, "staging": staging, "production": production}


def resolve(context: dict, path: str):
    value = context
    for part in path.strip(".").split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def render(template: str, context: dict) -> str:
    """Argo CD's Go template, for the two forms our template uses: ``{{.a.b}}`` (a missing key
    renders ``<no value>``) and ``{{toJson .a.b}}``."""

    def one(match: re.Match) -> str:
        value = resolve(context, match.group(2))
        if match.group(1):
            return json.dumps(value)
        return "<no value>" if value is None else str(value)

    return re.sub(r"\{\{\s*(toJson\s+)?(\.[\w.]+)\s*\}\}", one, template)


@pytest.mark.django_db
def test_the_documented_argocd_template_renders_what_the_endpoint_records(rpt, developer):
    config = manifest("ConfigMap", "argocd-notifications-cm")["data"]
    webhook = yaml.safe_load(config["template.q-interface-deployment"])["webhook"]["q-interface"]
    service = yaml.safe_load(config["service.webhook.q-interface"])
    assert [header["name"] for header in service["headers"]] == ["Authorization", "Content-Type"]
    assert service["headers"][0]["value"].startswith("Token $")
    context = {
        "app": json.loads((FIXTURES / "application-sync-succeeded.json").read_text()),
        "context": yaml.safe_load(config["context"]),
    }
    body = json.loads(render(webhook["body"], context))
    assert body == json.loads((FIXTURES / "sync-succeeded.json").read_text())
    assert webhook["method"] == "POST"
    path = webhook["path"].replace("/products/BOLUS/", "/products/RPT/")  # the test product
    response = token_client(developer, ["deployments"]).post(path, body, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["environment"], response.json()["digests"], response.json()["state"]) == (
        "staging",
        [APP],
        "success",
    )
    assert Deployment.objects.get().initiator == "admin"
    trigger = yaml.safe_load(config["trigger.q-interface"])
    assert [entry["send"] for entry in trigger] == [["q-interface-deployment"]] * 3
    subscribed = manifest("Application")["metadata"]["annotations"]
    assert "notifications.argoproj.io/subscribe.q-interface.q-interface" in subscribed


def json_path(body: dict, expression: str):
    """The subset of Argo Rollouts' JSONPath our template uses: ``{$.field}``."""
    match = re.fullmatch(r"\{\$\.(\w+)\}", expression)
    assert match, expression
    return body[match.group(1)]


@pytest.mark.django_db
def test_the_rollouts_web_metric_reads_a_json_boolean_at_allowed(rpt, developer):
    template = manifest("AnalysisTemplate")["spec"]
    metric = template["metrics"][0]
    web = metric["provider"]["web"]
    assert (web["method"], web["jsonPath"], metric["successCondition"]) == ("GET", "{$.allowed}", "result == true")
    assert "strict" not in web["url"]  # a denial is a measured false, not an HTTP error
    url = urlsplit(web["url"].replace("{{args.digest}}", APP))
    client = token_client(developer, [])
    for environment, expected in (("staging", True), ("production", False)):
        path = url.path.replace(
            "/products/BOLUS/environments/production/", f"/products/RPT/environments/{environment}/"
        )
        response = client.get(f"{path}?{url.query}")
        assert response.status_code == 200
        result = json_path(response.json(), web["jsonPath"])
        assert result is expected  # a JSON boolean: `result == true` holds only when allowed
    assert [header["key"] for header in web["headers"]] == ["Authorization"]
