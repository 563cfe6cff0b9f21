"""The release-approval attestation: a machine-checkable copy of the G5 approval for admission control.

For a release whose manufacturer release approval (G5) holds, an in-toto Statement v1 names every
artifact of the approved baseline as a subject (OCI images by their repository without tag, as
``cosign attest`` does, so an admission controller matches them) and carries a predicate of
``PREDICATE_TYPE``: the product, version, baseline SHA-256, the gate, the integration approval (G4)
when given, the environments the approval opens (those that need G5), and the signature (signer,
printed name, meaning, time, signature id, the approval record's seal). It is wrapped in a DSSE
envelope signed with the organisation's attestation key (``qms.integrity.dsse``).

Deterministic: the same approval (and the same environments) gives the same bytes. The Part 11
signature stays the legal record; this is its copy for Kyverno and cosign.
"""

import re
from datetime import UTC, datetime
from typing import Any

from qms.canonical import canonical_json
from qms.errors import Conflict
from qms.integrity.dsse import INTOTO_PAYLOAD_TYPE, attestation_private_key, dsse_line, dsse_sign
from regops.models import Environment, Gate, IntegrationApproval, integration_approval_holds
from traceability.graph.model import ArtifactInfo
from traceability.graph.selectors import graph_load
from traceability.models import Release, ReleaseApproval
from traceability.models.artifacts import ArtifactKind

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://q-interface.dev/attestations/release-approval/v1"
FILENAME = "release-approval.intoto.jsonl"
SCHEMES = re.compile(r"^(?:oci|docker|registry)://")
TAG = re.compile(r":[\w][\w.-]{0,127}$")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def oci_repository(uri: str) -> str:
    """An image reference's repository, without scheme, tag or digest:
    ``oci://registry.example.com:5000/acme/app:1.0@sha256:…`` → ``registry.example.com:5000/acme/app``."""
    reference = SCHEMES.sub("", uri.strip()).split("@", 1)[0]
    head, slash, last = reference.rpartition("/")
    return f"{head}{slash}{TAG.sub('', last)}"


def subject_of(artifact: ArtifactInfo) -> dict[str, Any]:
    name = oci_repository(artifact.uri) if artifact.kind == ArtifactKind.OCI else artifact.name
    return {"name": name or artifact.name, "digest": {"sha256": artifact.digest.removeprefix("sha256:")}}


def _integration(release: Release) -> dict[str, Any] | None:
    approval = IntegrationApproval.objects.filter(release=release).select_related("signature", "environment").first()
    if approval is None:
        return None
    if not integration_approval_holds(approval):
        raise Conflict(
            f"{release.product.key} {release.version}: the integration approval (G4) does not match its seal; "
            "no attestation is issued over records that do not hold up (audit_verify names them)",
            code="integration_invalid",
        )
    signature = approval.signature
    return {
        "gate": Gate.G4.value,
        "environment": approval.environment.key,
        "deployment": approval.deployment_id,
        "digests": approval.digests,
        "signer": {"username": signature.signer_username, "name": signature.printed_name},
        "meaning": signature.meaning,
        "signed_at": _utc(signature.signed_at),
        "signature_id": signature.pk,
    }


def release_approval_statement(*, release: Release) -> dict[str, Any]:
    """The in-toto statement of the release's G5 approval; Conflict (409) when the release is not
    approved, its approval does not hold up, or its baseline holds no artifacts."""
    product = release.product
    label = f"{product.key} {release.version}"
    graph = graph_load(product=product, release=release)  # Conflict when its records do not hold up
    info = graph.release
    assert info is not None
    if not info.approved:
        raise Conflict(
            f"{label} is {info.state}: no release approval (G5) holds for it, so there is nothing to attest; "
            "sign the release approval first",
            code="release_not_approved",
        )
    if not graph.artifacts:
        raise Conflict(
            f"{label} holds no artifacts: an attestation names the approved digests; register the artifacts "
            "(artifact_register / POST …/artifacts/) before freezing the release",
            code="release_without_artifacts",
        )
    approval = ReleaseApproval.objects.select_related("signature").get(release_id=release.pk)
    signature = approval.signature
    subjects = sorted(
        (subject_of(artifact) for artifact in graph.artifacts),
        key=lambda subject: (subject["name"], subject["digest"]["sha256"]),
    )
    environments = [  # those that need G5: where this approval opens the way
        environment
        for environment in Environment.objects.filter(product=product).order_by("key")
        if Gate.G5.value in environment.gates
    ]
    predicate = {
        "product": {"key": product.key, "name": product.name},
        "version": release.version,
        "commit": info.commit_sha,
        "baseline": {"sha256": info.baseline_sha256},
        "gate": Gate.G5.value,
        "integration": _integration(release),
        "environments": [{"key": environment.key, "tier": environment.tier} for environment in environments],
        "artifacts": [
            {"name": artifact.name, "kind": artifact.kind, "uri": artifact.uri, "digest": artifact.digest}
            for artifact in sorted(graph.artifacts, key=lambda artifact: (artifact.name, artifact.digest))
        ],
        "approval": {
            "signer": {"username": signature.signer_username, "name": signature.printed_name},
            "meaning": signature.meaning,
            "signed_at": _utc(signature.signed_at),
            "signature_id": signature.pk,
            "seal": approval.seal,
        },
    }
    return {"_type": STATEMENT_TYPE, "subject": subjects, "predicateType": PREDICATE_TYPE, "predicate": predicate}


def release_approval_attestation(*, release: Release) -> bytes:
    """The statement in a DSSE envelope signed with the attestation key, as one JSON line
    (``Unavailable``, 503, without a key)."""
    statement = release_approval_statement(release=release)
    key = attestation_private_key()
    return dsse_line(dsse_sign(payload_type=INTOTO_PAYLOAD_TYPE, body=canonical_json(statement), key=key))
