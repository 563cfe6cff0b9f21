"""Registering what CI built: artifacts by digest, bound to a version and/or commit like test runs.

A registration is idempotent (the same artifact again returns the stored one) and refused for a
release that is no longer a draft: its baseline holds the artifacts it was frozen with, and the
approval signed those digests.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from qms.errors import Conflict, InvalidInput
from qms.models import ApiToken
from qms.services import audit_record
from traceability.graph.load import binding_q
from traceability.models import Artifact, ArtifactKind, Product, Release, ReleaseState
from traceability.models.artifacts import DIGEST_VALIDATOR
from traceability.services.evidence.inputs import run_input_clean

URI_SCHEMES = ("https://", "http://", "file://")
OCI_REFERENCE = re.compile(r"^[a-z0-9][a-z0-9._:/-]*@(sha256:[0-9a-f]{64})$")


@dataclass
class ArtifactRegistration:
    artifact: Artifact
    created: bool
    releases: list[str] = field(default_factory=list)  # the draft releases it counts for

    def summary(self) -> dict[str, Any]:
        artifact = self.artifact
        return {
            "id": artifact.pk,
            "name": artifact.name,
            "kind": artifact.kind,
            "uri": artifact.uri,
            "digest": artifact.digest,
            "size": artifact.size,
            "version": artifact.version,
            "commit_sha": artifact.commit_sha,
            "ci_job_url": artifact.ci_job_url,
            "ci_run": artifact.ci_run,
            "created": self.created,
            "releases": self.releases,
        }


def artifact_input_clean(*, name: str, uri: str, digest: str, kind: str, size: int | None) -> tuple[str, str, str]:
    """Validate what an artifact is; (name, uri, digest) as stored."""
    name, uri, digest = (name or "").strip(), (uri or "").strip(), (digest or "").strip()
    if not name or len(name) > 255:
        raise InvalidInput("name: an artifact needs a name of at most 255 characters", field="name")
    if kind not in ArtifactKind.values:
        raise InvalidInput(f"kind: unknown kind {kind!r}; kinds are {', '.join(ArtifactKind.values)}", field="kind")
    try:
        DIGEST_VALIDATOR(digest)
    except ValidationError as exc:
        raise InvalidInput(f"digest: {digest!r} is not {exc.messages[0]}", field="digest") from exc
    if not uri or len(uri) > 1000:
        raise InvalidInput("uri: an artifact needs a URI of at most 1000 characters", field="uri")
    reference = OCI_REFERENCE.match(uri)
    if kind == ArtifactKind.OCI:
        if reference is None:
            raise InvalidInput(
                f"uri: an OCI image is referenced by digest, registry/repository@sha256:…, not {uri!r}", field="uri"
            )
        if reference.group(1) != digest:
            raise InvalidInput(f"uri: the reference names {reference.group(1)}, not the digest {digest}", field="uri")
    elif not uri.startswith(URI_SCHEMES):
        raise InvalidInput(f"uri: {uri!r} is not an https://, http:// or file:// URI", field="uri")
    if size is not None and size < 0:
        raise InvalidInput("size: a size in bytes, 0 or more", field="size")
    return name, uri, digest


@transaction.atomic
def artifact_register(
    *,
    product: Product,
    name: str,
    uri: str,
    digest: str,
    actor: User | None,
    kind: str = ArtifactKind.FILE,
    version: str = "",
    commit_sha: str = "",
    size: int | None = None,
    ci_job_url: str = "",
    ci_run: str = "",
    token: ApiToken | None = None,
) -> ArtifactRegistration:
    """Register an artifact CI built for a version and/or commit (audited ``artifact.registered``).

    Refused with nothing written: bad input (400); a release it would belong to that is frozen,
    approved, released or withdrawn (409 ``release_frozen``: its baseline's artifacts are fixed).
    """
    name, uri, digest = artifact_input_clean(name=name, uri=uri, digest=digest, kind=kind, size=size)
    binding = run_input_clean(version=version, commit_sha=commit_sha, ci_job_url=ci_job_url)
    if len(ci_run) > 255:
        raise InvalidInput("ci_run: at most 255 characters", field="ci_run")
    existing = Artifact.objects.filter(
        product=product, version=binding.version, commit_sha=binding.commit_sha, name=name, digest=digest
    ).first()
    releases = list(
        Release.objects.filter(binding_q(version=binding.version, sha=binding.commit_sha), product=product)
        .order_by("created_at")
        .values_list("version", "state")
    )
    if existing is not None:
        return ArtifactRegistration(existing, False, [version for version, state in releases if state == "draft"])
    fixed = [(version, state) for version, state in releases if state != ReleaseState.DRAFT]
    if fixed:
        version, state = fixed[0]
        raise Conflict(
            f"{product.key} {version} is {state}: its baseline holds the artifacts it was frozen with, and its "
            f"approval signs their digests; register {name} for the next version",
            code="release_frozen",
            version=version,
        )
    artifact = Artifact(
        product=product,
        version=binding.version,
        commit_sha=binding.commit_sha,
        name=name,
        kind=kind,
        uri=uri,
        digest=digest,
        size=size,
        ci_job_url=binding.ci_job_url,
        ci_run=ci_run.strip(),
        created_by=actor,
    )
    try:
        with transaction.atomic():
            artifact.save()
    except IntegrityError:  # registered at the same moment by a retried request
        artifact = Artifact.objects.get(
            product=product, version=binding.version, commit_sha=binding.commit_sha, name=name, digest=digest
        )
        return ArtifactRegistration(artifact, False, [version for version, _ in releases])
    registration = ArtifactRegistration(artifact, True, [version for version, _ in releases])
    audit_record(
        actor=actor,
        action="artifact.registered",
        obj=artifact,
        scope=product.key,
        object_repr=f"{product.key} {name} {digest[:19]}",
        after={key: value for key, value in registration.summary().items() if key not in ("id", "created")},
        note=f"via token {token.name}" if token is not None else "",
    )
    return registration
