"""The release-approval attestation: an in-toto statement of the G5 approval in a DSSE envelope,
checked here with ``cryptography`` directly (as cosign and Kyverno would), not with our own verify."""

import base64
import hashlib
import json
from io import StringIO
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError

from qms.deploy_checks import attestation_key_check
from qms.integrity.dsse import attestation_key_pem, dsse_verify
from qms.models import AuditEvent
from regops.attestations import PREDICATE_TYPE, oci_repository
from regops.services.approvals import integration_approve
from regops.services.deployments import deployment_report
from regops.services.environments import environment_create
from tests.traceability.reporting import PASSWORD, record_results, report_items, report_product
from traceability.models import Baseline, Commit
from traceability.services.evidence import artifact_register
from traceability.services.releases import release_approve, release_create, release_freeze

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]

APP = "sha256:" + "a" * 64
DOCS = "sha256:" + "d" * 64
SHA = "c" * 40
SMOKE_OK = {"passed": True, "checks": [{"name": "GET /health", "passed": True}]}
URL = "/api/v1/products/RPT/releases/1.0.0/attestations/release-approval.intoto.jsonl"


@pytest.fixture
def key_file(tmp_path, settings) -> Path:
    path = tmp_path / "attestation-key.pem"
    path.write_bytes(attestation_key_pem())
    settings.ATTESTATION_KEY_FILE = str(path)
    return path


def public_key(path: Path) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.public_key()


def build(qm, *, artifacts: bool = True, environments: bool = True, approve: bool = True):
    """RPT 1.0.0 (passing evidence), its image and docs, staging/qa/production; frozen, deployed to
    staging with passing smoke tests, integration-approved (G4) and release-approved (G5)."""
    product = report_product(qm)
    report_items(product, qm)
    Commit.objects.create(product=product, sha=SHA, message="Release 1.0.0")
    release_create(product=product, version="1.0.0", actor=qm, commit_sha=SHA)
    record_results(product, "1.0.0", {"TC-1": "passed", "TC-2": "passed"})
    if artifacts:
        artifact_register(
            product=product,
            name="bolus-app",
            uri=f"oci://registry.example.com:5000/acme/bolus:1.0.0@{APP}",
            digest=APP,
            version="1.0.0",
            actor=qm,
            kind="oci",
        )
        artifact_register(
            product=product, name="bolus-docs.zip", uri="https://ci.example.com/docs.zip", digest=DOCS,
            version="1.0.0", actor=qm, kind="docs",
        )  # fmt: skip
    envs = {}
    if environments:
        envs = {
            key: environment_create(product=product, key=key, name=key.title(), tier=tier, actor=qm)
            for key, tier in (("staging", "staging"), ("qa", "testing"), ("production", "production"))
        }
    release = release_freeze(product=product, version="1.0.0", actor=qm)
    if environments:
        deployment_report(
            environment=envs["staging"], actor=qm, digests=[APP, DOCS], state="success", external_id="run-1",
            smoke=SMOKE_OK,
        )  # fmt: skip
        integration_approve(release=release, signer=qm, password=PASSWORD, comment="integrated")
    if approve:
        release_approve(release=release, signer=qm, password=PASSWORD)
    release.refresh_from_db()
    return release


def envelope_of(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/x-ndjson"
    body = response.content
    assert body.endswith(b"\n") and body.count(b"\n") == 1
    return json.loads(body)


def pae(payload_type: str, body: bytes) -> bytes:
    return (
        b"DSSEv1 "
        + str(len(payload_type)).encode()
        + b" "
        + payload_type.encode()
        + b" "
        + str(len(body)).encode()
        + b" "
        + body
    )


def verifies(envelope: dict, key: ec.EllipticCurvePublicKey) -> bool:
    body = base64.b64decode(envelope["payload"])
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    try:
        key.verify(signature, pae(envelope["payloadType"], body), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def test_the_envelope_verifies_with_the_public_key_and_states_the_approval(qm, auditor, api_client, key_file):
    release = build(qm)
    envelope = envelope_of(api_client(auditor).get(URL))  # any reader
    public = public_key(key_file)
    assert list(envelope) == ["payloadType", "payload", "signatures"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert envelope["signatures"][0]["keyid"] == hashlib.sha256(der).hexdigest()
    assert verifies(envelope, public)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE == "https://q-interface.dev/attestations/release-approval/v1"
    assert statement["subject"] == [
        {"name": "bolus-docs.zip", "digest": {"sha256": "d" * 64}},
        {"name": "registry.example.com:5000/acme/bolus", "digest": {"sha256": "a" * 64}},
    ]
    predicate = statement["predicate"]
    approval = release.approval
    signature = approval.signature
    assert predicate["product"] == {"key": "RPT", "name": "Report Pump"}
    assert (predicate["version"], predicate["commit"], predicate["gate"]) == ("1.0.0", SHA, "G5")
    assert predicate["baseline"] == {"sha256": release.baseline.sha256}
    assert predicate["environments"] == [{"key": "production", "tier": "production"}]
    assert predicate["approval"] == {
        "signer": {"username": "quinn", "name": "Quinn Manager"},
        "meaning": "approval",
        "signed_at": signature.signed_at.isoformat().replace("+00:00", "Z"),
        "signature_id": signature.pk,
        "seal": approval.seal,
    }
    assert predicate["approval"]["signed_at"].endswith("Z")
    integration = predicate["integration"]
    assert (integration["gate"], integration["environment"], integration["digests"]) == ("G4", "staging", [APP, DOCS])
    assert integration["signer"] == {"username": "quinn", "name": "Quinn Manager"}


def test_one_byte_changed_in_the_payload_is_refused(qm, api_client, key_file):
    build(qm)
    envelope = envelope_of(api_client(qm).get(URL))
    body = bytearray(base64.b64decode(envelope["payload"]))
    body[body.index(b"1.0.0")] = ord("2")  # 2.0.0
    forged = {**envelope, "payload": base64.b64encode(bytes(body)).decode()}
    public = public_key(key_file)
    assert verifies(envelope, public) and not verifies(forged, public)
    with pytest.raises(ValueError, match="no signature of the envelope verifies"):
        dsse_verify(forged, public)
    assert dsse_verify(envelope, public) == base64.b64decode(envelope["payload"])
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert not verifies(envelope, other)


def test_subject_digests_are_the_baselines(qm, api_client, key_file):
    release = build(qm)
    statement = json.loads(base64.b64decode(envelope_of(api_client(qm).get(URL))["payload"]))
    frozen = json.loads(Baseline.objects.get(release=release).content)
    assert sorted("sha256:" + subject["digest"]["sha256"] for subject in statement["subject"]) == sorted(
        artifact["digest"] for artifact in frozen["artifacts"]
    )
    assert sorted(a["digest"] for a in statement["predicate"]["artifacts"]) == [APP, DOCS]


def test_the_same_approval_gives_the_same_bytes(qm, api_client, key_file, settings, tmp_path):
    build(qm)
    client = api_client(qm)
    first, second = client.get(URL).content, client.get(URL).content
    assert first == second
    other = tmp_path / "other.pem"
    other.write_bytes(attestation_key_pem())
    settings.ATTESTATION_KEY_FILE = str(other)
    assert client.get(URL).content != first  # another key, another keyid and signature


def test_a_release_that_is_not_approved_is_409_and_an_unknown_one_404(qm, api_client, key_file):
    build(qm, approve=False)
    client = api_client(qm)
    events = AuditEvent.objects.count()
    refused = client.get(URL)
    assert refused.status_code == 409
    assert refused.json() == {
        "error": "release_not_approved",
        "detail": "RPT 1.0.0 is frozen: no release approval (G5) holds for it, so there is nothing to attest; "
        "sign the release approval first",
    }
    assert client.get(URL.replace("1.0.0", "9.9.9")).status_code == 404
    assert client.get(URL.replace("RPT", "NOPE")).status_code == 404
    assert AuditEvent.objects.count() == events


def test_an_approved_release_without_artifacts_is_409(qm, api_client, key_file):
    build(qm, artifacts=False, environments=False)
    refused = api_client(qm).get(URL)
    assert refused.status_code == 409
    assert refused.json()["error"] == "release_without_artifacts"
    assert refused.json()["detail"].startswith("RPT 1.0.0 holds no artifacts: an attestation names the approved")


def test_without_a_key_the_answer_is_503_naming_the_setting(qm, api_client, settings):
    build(qm)
    settings.ATTESTATION_KEY_FILE = ""
    refused = api_client(qm).get(URL)
    assert refused.status_code == 503
    assert refused.json()["error"] == "attestation_key_missing"
    assert refused.json()["detail"].startswith("ATTESTATION_KEY_FILE is not set: attestations are signed")
    settings.ATTESTATION_KEY_FILE = "/nonexistent/key.pem"
    missing = api_client(qm).get(URL)
    assert (missing.status_code, missing.json()["detail"]) == (
        503,
        "ATTESTATION_KEY_FILE /nonexistent/key.pem: No such file or directory",
    )


def test_an_ed25519_key_is_refused_cosign_cannot_verify_it(qm, api_client, settings, tmp_path):
    build(qm)
    path = tmp_path / "ed.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    settings.ATTESTATION_KEY_FILE = str(path)
    refused = api_client(qm).get(URL)
    assert refused.status_code == 503
    assert "must be an ECDSA P-256 key" in refused.json()["detail"]


def test_debug_makes_a_development_key_once(qm, api_client, settings, tmp_path):
    build(qm)
    settings.ATTESTATION_KEY_FILE, settings.DEBUG, settings.BASE_DIR = "", True, tmp_path
    first = api_client(qm).get(URL)
    assert first.status_code == 200
    made = tmp_path / "var" / "attestation-key.pem"
    assert made.stat().st_mode & 0o777 == 0o600
    assert verifies(json.loads(first.content), public_key(made))
    assert api_client(qm).get(URL).content == first.content


def test_attestation_key_creates_and_prints_the_public_key(tmp_path, settings):
    path = tmp_path / "keys" / "attestation.pem"
    out = StringIO()
    call_command("attestation_key", "--create", str(path), stdout=out)
    assert out.getvalue().splitlines()[0] == f"ATTESTATION_KEY_FILE={path.resolve()}"
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(CommandError, match="exists already; a key is never overwritten"):
        call_command("attestation_key", "--create", str(path), stdout=StringIO())
    settings.ATTESTATION_KEY_FILE = str(path)
    printed = StringIO()
    call_command("attestation_key", "--public", stdout=printed)
    assert printed.getvalue() == (tmp_path / "keys" / "attestation.pub.pem").read_text()
    assert printed.getvalue().startswith("-----BEGIN PUBLIC KEY-----\n")
    assert serialization.load_pem_public_key(printed.getvalue().encode()) == public_key(path)
    settings.ATTESTATION_KEY_FILE = ""
    with pytest.raises(CommandError, match="ATTESTATION_KEY_FILE is not set"):
        call_command("attestation_key", "--public", stdout=StringIO())


def test_check_deploy_warns_without_the_key(settings, key_file):
    assert attestation_key_check() == []
    settings.ATTESTATION_KEY_FILE = ""
    (warning,) = attestation_key_check()
    assert (warning.id, warning.level) == ("qms.W005", 30)
    assert warning.msg.startswith("ATTESTATION_KEY_FILE is not set")


@pytest.mark.parametrize(
    ("uri", "repository"),
    [
        ("registry.example.com/acme/bolus@sha256:" + "a" * 64, "registry.example.com/acme/bolus"),
        ("registry.example.com:5000/acme/bolus:1.2.0", "registry.example.com:5000/acme/bolus"),
        ("docker://ghcr.io/acme/bolus:v1@sha256:" + "a" * 64, "ghcr.io/acme/bolus"),
        ("localhost:5000/bolus", "localhost:5000/bolus"),
        ("bolus:latest", "bolus"),
    ],
)
def test_images_are_named_by_their_repository(uri, repository):
    assert oci_repository(uri) == repository
