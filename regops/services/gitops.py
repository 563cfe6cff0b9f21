"""What GitOps engines report: Argo CD notifications and Flux events, recorded as deployments.

- **Argo CD** (notifications controller, ``webhook`` service): the body our documented template
  renders (``docs/regops.md``): ``app``, ``revision``, ``sync_status``, ``health``, ``phase``,
  ``started_at``, ``finished_at``, ``images`` (``.app.status.summary.images``), optionally
  ``initiated_by``, ``url``, ``version``. The application is mapped to an environment by
  ``Environment.argocd_application``; digests come from image references ``repo@sha256:…``. One
  sync operation (application and ``started_at``) is one deployment; its later reports append
  statuses.
- **Flux** (notification-controller, ``generic-hmac`` provider): an Event
  (``involvedObject {kind, name, namespace}``, ``severity``, ``reason``, ``message``,
  ``metadata`` with the revision, ``reportingController``, ``timestamp``), signed with
  ``X-Signature: sha256=<hex HMAC of the body>`` under the product's webhook secret. The object
  is mapped by ``Environment.flux_object`` (``kind/namespace/name``); the revision names a commit
  (``main@sha1:…``, ``main/…``), an OCI artifact digest (``…@sha256:…``) or a release version.

Templates render absent fields as ``<no value>`` (Go templates over unstructured objects): read as
empty. Anything else malformed is a 400 naming the field, with nothing written.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from qms.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from regops.gates import release_for
from regops.models import Deployment, DeploymentState, DeploymentStatus, Environment
from regops.services.deployments import deployment_report
from traceability.models import Product, Release, WebhookSecret

NO_VALUE = "<no value>"
IMAGE_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")
UNSAFE_ID = re.compile(r"[^\w.:@/#+-]")
FLUX_SIGNATURE_HEADER = "X-Signature"
FLUX_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
COMMIT = re.compile(r"(?:@sha1:|/|^)([0-9a-f]{40})$")
OCI_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


@dataclass(frozen=True)
class EngineReport:
    """What one engine report recorded (or why it was ignored)."""

    status: str  # "recorded", "unchanged" or "ignored"
    deployment: Deployment | None = None
    written: DeploymentStatus | None = None
    created: bool = False
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        deployment = self.deployment
        return {
            "status": self.status,
            "deployment": deployment.pk if deployment is not None else None,
            "environment": deployment.environment.key if deployment is not None else None,
            "release": deployment.version or None if deployment is not None else None,
            "digests": deployment.digests if deployment is not None else [],
            "state": self.written.state if self.written is not None else None,
            "gate_flag": deployment.gate_flag if deployment is not None else "",
            "detail": self.detail,
        }


def _text(payload: dict[str, Any], name: str, *, required: bool = False, limit: int = 255) -> str:
    value = payload.get(name)
    if value is None or value == NO_VALUE:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: a string, not {type(value).__name__}", field=name)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{name}: required", field=name)
    if len(value) > limit:
        raise InvalidInput(f"{name}: at most {limit} characters", field=name)
    return value


def _moment(value: str, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{field}: {value!r} is not an ISO 8601 time", field=field) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _external_id(*parts: str) -> str:
    return UNSAFE_ID.sub("-", "@".join(part for part in parts if part))[:255]


def _environment(product: Product, **binding: str) -> Environment:
    environment = Environment.objects.select_related("product").filter(product=product, **binding).first()
    if environment is None:
        ((field, value),) = binding.items()
        raise NotFound(
            f"no environment of {product.key} is bound to {field.replace('_', ' ')} {value!r}: set it on the "
            "environment (PATCH …/environments/{env}/)",
            code="environment_unbound",
            field=field,
        )
    return environment


# --- Argo CD ------------------------------------------------------------------------------------

ARGOCD_PHASES = {"Running": "in_progress", "Terminating": "in_progress", "Failed": "failure", "Error": "failure"}
ARGOCD_UNHEALTHY = ("Degraded", "Missing")
ARGOCD_PENDING_HEALTH = ("Progressing", "Suspended")


def argocd_state(*, phase: str, health: str, sync_status: str) -> str:
    """The deployment state of an Argo CD report: the sync operation's phase, then the health."""
    if phase in ARGOCD_PHASES:
        return ARGOCD_PHASES[phase]
    if phase not in ("", "Succeeded"):
        raise InvalidInput(
            f"phase: unknown operation phase {phase!r} (Running, Terminating, Succeeded, Failed, Error)", field="phase"
        )
    if not phase and sync_status != "Synced":
        raise InvalidInput(
            "phase: no sync operation and the application is not Synced: nothing was deployed", field="phase"
        )
    if health in ARGOCD_UNHEALTHY:
        return DeploymentState.FAILURE
    if health in ARGOCD_PENDING_HEALTH:
        return DeploymentState.IN_PROGRESS
    return DeploymentState.SUCCESS


def image_digests(images: Any) -> tuple[list[str], list[str]]:
    """The digests of image references ``repo@sha256:…`` and the references that have none."""
    if images is None or images == NO_VALUE:
        return [], []
    if not isinstance(images, list) or not all(isinstance(image, str) for image in images):
        raise InvalidInput("images: a list of image references (.app.status.summary.images)", field="images")
    digests, without = set(), []
    for image in images:
        found = IMAGE_DIGEST.search(image.strip())
        if found:
            digests.add(found.group(1))
        else:
            without.append(image.strip())
    return sorted(digests), sorted(without)


@transaction.atomic
def argocd_notification_record(*, product: Product, payload: Any, actor: Any) -> EngineReport:
    """Record what an Argo CD notification reports about an application's sync."""
    if not isinstance(payload, dict):
        raise InvalidInput("the notification body must be a JSON object (our notifications template)")
    app = _text(payload, "app", required=True)
    revision = _text(payload, "revision")
    phase, health = _text(payload, "phase", limit=32), _text(payload, "health", limit=32)
    sync_status = _text(payload, "sync_status", limit=32)
    started_at, finished_at = _text(payload, "started_at", limit=64), _text(payload, "finished_at", limit=64)
    finished, started = _moment(finished_at, "finished_at"), _moment(started_at, "started_at")
    state = argocd_state(phase=phase, health=health, sync_status=sync_status)
    digests, without = image_digests(payload.get("images"))
    environment = _environment(product, argocd_application=app)
    version = _text(payload, "version", limit=64)
    if not digests and not version:
        digests, version = revision_target(product=product, revision=revision, field="images")
    notes = [f"Argo CD {app}: sync {sync_status or '?'}, phase {phase or '-'}, health {health or '?'}"]
    if revision:
        notes.append(f"revision {revision[:40]}")
    if without:
        notes.append(f"{len(without)} image(s) without a digest: {', '.join(without)[:200]}")
    if not digests:
        notes.append("no image digest reported")
    deployment, written, created = deployment_report(
        environment=environment,
        state=state,
        actor=actor,
        digests=digests,
        version=version if not digests else "",
        engine="argocd",
        external_id=_external_id(app, started_at or revision),
        external_url=_text(payload, "url", limit=500),
        initiator=_text(payload, "initiated_by"),
        description="; ".join(notes)[:500],
        at=(started if state == DeploymentState.IN_PROGRESS else finished) or None,
    )
    return EngineReport("recorded" if written is not None else "unchanged", deployment, written, created)


# --- Flux ---------------------------------------------------------------------------------------

FLUX_SUCCESS = ("ReconciliationSucceeded", "InstallSucceeded", "UpgradeSucceeded", "TestSucceeded")
FLUX_PROGRESS = ("Progressing", "ProgressingWithRetry", "DependencyNotReady")
FLUX_ROLLED_BACK = ("RollbackSucceeded",)


def flux_signature_verify(*, product: Product, body: bytes, signature: str | None) -> None:
    """``X-Signature: <hash>=<hex HMAC of the body>`` under the product's webhook secret: missing
    401, wrong 403 (an unknown hash function too), no secret set 403."""
    if not signature:
        raise Unauthenticated(f"missing {FLUX_SIGNATURE_HEADER} header", code="signature_missing")
    record = WebhookSecret.objects.filter(product=product).first()
    if record is None:
        raise Forbidden(
            f"webhooks are not enabled for {product.key}: set a secret with 'manage.py webhook_secret {product.key}' "
            "and put it in the Flux provider's secret as 'token'",
            code="webhook_disabled",
        )
    name, _, given = signature.strip().partition("=")
    function = FLUX_HASHES.get(name.lower())
    if function is None:
        raise Forbidden(
            f"{FLUX_SIGNATURE_HEADER}: unknown hash function {name!r} ({', '.join(FLUX_HASHES)})",
            code="signature_invalid",
        )
    expected = hmac.new(record.secret.encode(), body, function).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise Forbidden(
            f"{FLUX_SIGNATURE_HEADER} does not match the body and the product's webhook secret",
            code="signature_invalid",
        )


def flux_revision(metadata: Any) -> str:
    """The revision of a Flux event: ``metadata.revision`` or ``metadata.<group>/revision``."""
    if not isinstance(metadata, dict):
        return ""
    for key in sorted(metadata):
        if (key == "revision" or key.endswith("/revision")) and isinstance(metadata[key], str):
            return metadata[key].strip()[:255]
    return ""


def flux_state(*, severity: str, reason: str) -> str | None:
    """The deployment state of a Flux event; None: the event says nothing about a deployment."""
    if severity == "error":
        return DeploymentState.FAILURE
    if reason in FLUX_ROLLED_BACK:
        return DeploymentState.ROLLED_BACK
    if reason in FLUX_SUCCESS:
        return DeploymentState.SUCCESS
    if reason in FLUX_PROGRESS:
        return DeploymentState.IN_PROGRESS
    return None


def revision_target(*, product: Product, revision: str, field: str) -> tuple[list[str], str]:
    """Digests or version to record for an engine's revision: an OCI artifact digest
    (``…@sha256:…``), the release at a commit (``main@sha1:…``, ``main/…``, a bare SHA), a release
    whose version it is (a Helm chart version), else the revision itself as the version (recorded,
    and flagged: no release holds it)."""
    digest = OCI_DIGEST.search(revision)
    if digest:
        return [digest.group(1)], ""
    if not revision:
        raise InvalidInput(
            f"{field}: nothing names what was deployed (no image digest, no revision, no version)", field=field
        )
    commit = COMMIT.search(revision)
    release: Release | None = None
    if commit:
        release, _ = release_for(product=product, digests=[], commit=commit.group(1))
    else:
        release = Release.objects.filter(product=product, version=revision).first()
    return [], release.version if release is not None else revision[:64]


@transaction.atomic
def flux_event_record(*, product: Product, payload: Any) -> EngineReport:
    """Record what a Flux event (already verified) reports about the object an environment is bound to."""
    if not isinstance(payload, dict):
        raise InvalidInput("the Flux event must be a JSON object")
    involved = payload.get("involvedObject")
    if not isinstance(involved, dict):
        raise InvalidInput("involvedObject: {kind, name, namespace} required", field="involvedObject")
    kind, name = _text(involved, "kind", required=True, limit=64), _text(involved, "name", required=True)
    namespace = _text(involved, "namespace")
    severity, reason = _text(payload, "severity", limit=16), _text(payload, "reason", limit=64)
    if severity not in ("info", "error"):
        raise InvalidInput(f"severity: {severity!r}; Flux sends info or error", field="severity")
    at = _moment(_text(payload, "timestamp", limit=64), "timestamp")
    message = _text(payload, "message", limit=10_000)
    controller = _text(payload, "reportingController", limit=64)
    state = flux_state(severity=severity, reason=reason)
    if state is None:
        return EngineReport(
            "ignored", detail=f"{kind} {reason or 'event'} ({severity}) says nothing about a deployment"
        )
    environment = _environment(product, flux_object=f"{kind}/{namespace}/{name}")
    revision = flux_revision(payload.get("metadata"))
    digests, version = revision_target(product=product, revision=revision, field="metadata.revision")
    description = f"{kind}/{namespace}/{name} {reason}: {message}".strip()
    deployment, written, created = deployment_report(
        environment=environment,
        state=state,
        actor=None,
        digests=digests,
        version=version,
        engine="flux",
        external_id=_external_id(f"{kind}/{namespace}/{name}", revision or (at.isoformat() if at else "")),
        initiator=controller,
        description=description[:500],
        at=at,
    )
    return EngineReport("recorded" if written is not None else "unchanged", deployment, written, created)
