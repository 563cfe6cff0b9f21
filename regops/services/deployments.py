"""Recording deployments: what an engine or script deployed, where, and how it went.

A deployment is identified by its engine and the engine's own id (a GitHub deployment id, a GitLab
deployment id, an Argo CD sync revision…): reporting it again appends a status, never edits. Each
deployment is tied to the gate decision it went with (the newest for its environment and digests);
a deployment the gate refused, or that never asked, is recorded all the same and flagged.
"""

import re
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from qms.canonical import json_normalized
from qms.errors import InvalidInput, NotFound
from qms.services import audit_record
from regops.gates import release_for
from regops.models import (
    DEPLOYMENT_RECORD,
    STATUS_RECORD,
    Deployment,
    DeploymentState,
    DeploymentStatus,
    Environment,
    GateDecision,
    deployment_content,
    sealed,
    status_content,
)
from regops.services.decisions import ENGINES, question_clean

EXTERNAL_ID = re.compile(r"^[\w.:@/#+-]{1,255}$")
MAX_JSON = 100_000  # characters of steps and smoke results


def _url(value: str, field: str) -> str:
    value = (value or "").strip()
    if value:
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError as exc:
            raise InvalidInput(f"{field}: {value!r} is not an http(s) URL", field=field) from exc
        if len(value) > 500:
            raise InvalidInput(f"{field}: at most 500 characters", field=field)
    return value


def _steps_clean(steps: Any) -> list[dict[str, Any]]:
    if steps is None:
        return []
    if not isinstance(steps, list) or not all(isinstance(step, dict) and step.get("name") for step in steps):
        raise InvalidInput("steps: a list of {name, state, started_at?, seconds?, log?}", field="steps")
    if len(str(steps)) > MAX_JSON:
        raise InvalidInput(f"steps: at most {MAX_JSON:,} characters", field="steps")
    return list(json_normalized(steps))


def _smoke_clean(smoke: Any) -> dict[str, Any] | None:
    if smoke is None:
        return None
    checks = smoke.get("checks", []) if isinstance(smoke, dict) else None
    if not isinstance(smoke, dict) or not isinstance(smoke.get("passed"), bool) or not isinstance(checks, list):
        raise InvalidInput("smoke: {passed: true|false, checks: [{name, passed, detail?}]}", field="smoke")
    if not all(
        isinstance(check, dict) and check.get("name") and isinstance(check.get("passed"), bool) for check in checks
    ):
        raise InvalidInput("smoke: each check is {name, passed: true|false, detail?}", field="smoke")
    if smoke["passed"] and not all(check["passed"] for check in checks):
        raise InvalidInput("smoke: passed, but a check failed", field="smoke")
    if len(str(smoke)) > MAX_JSON:
        raise InvalidInput(f"smoke: at most {MAX_JSON:,} characters", field="smoke")
    return dict(json_normalized(smoke))


def _decision_for(environment: Environment, digests: list[str]) -> tuple[GateDecision | None, str]:
    """The newest gate decision about these digests for the environment, and the flag to record."""
    decision = (
        GateDecision.objects.filter(environment=environment, digests=digests).order_by("-id").first()
        if digests
        else None
    )
    if decision is None:
        return None, "deployed without asking the gate"
    if not decision.allowed:
        reasons = "; ".join(decision.reasons)[:180]
        return decision, f"refused by gate decision #{decision.pk}: {reasons}"
    return decision, ""


@transaction.atomic
def deployment_report(
    *,
    environment: Environment,
    state: str,
    actor: User | None,
    digests: list[str] | None = None,
    version: str = "",
    engine: str = "api",
    external_id: str = "",
    external_url: str = "",
    initiator: str = "",
    description: str = "",
    log_url: str = "",
    steps: Any = None,
    smoke: Any = None,
    rollback_of: int | None = None,
    at: Any = None,
) -> tuple[Deployment, DeploymentStatus | None, bool]:
    """Record a deployment, or a new status of one already recorded (same engine and external id).

    Returns the deployment, the status written (None when the report repeats the newest status),
    and whether the deployment is new. Audited: ``deployment.recorded``, ``deployment.status``.
    """
    if state not in DeploymentState.values:
        raise InvalidInput(
            f"state: unknown state {state!r}; states are {', '.join(DeploymentState.values)}", field="state"
        )
    if engine not in ENGINES:
        raise InvalidInput(f"engine: unknown engine {engine!r}; engines are {', '.join(ENGINES)}", field="engine")
    external_id = (external_id or "").strip()
    if external_id and not EXTERNAL_ID.fullmatch(external_id):
        raise InvalidInput("external_id: the engine's id, 1 to 255 letters, digits and ._:@/#+-", field="external_id")
    if len(description) > 500 or len(initiator) > 255:
        raise InvalidInput("description: at most 500 characters; initiator: at most 255", field="description")
    steps, smoke = _steps_clean(steps), _smoke_clean(smoke)
    external_url, log_url = _url(external_url, "external_url"), _url(log_url, "log_url")
    product = environment.product
    existing = (
        Deployment.objects.select_for_update().filter(product=product, engine=engine, external_id=external_id).first()
        if external_id
        else None
    )
    created = existing is None
    if existing is None:
        wanted = question_clean(digests=digests or [], version=version, commit="", engine=engine, external={})
        release, _ = release_for(product=product, digests=wanted, version=version)
        if not wanted and release is not None:
            from traceability.graph.selectors import graph_load

            wanted = sorted({artifact.digest for artifact in graph_load(product=product, release=release).artifacts})
        decision, flag = _decision_for(environment, wanted)
        previous = None
        if rollback_of is not None:
            previous = Deployment.objects.filter(pk=rollback_of, environment=environment).first()
            if previous is None:
                raise NotFound(f"rollback_of: {environment} has no deployment #{rollback_of}", field="rollback_of")
        deployment = Deployment(
            product=product,
            environment=environment,
            release=release,
            version=release.version if release is not None else version,
            digests=wanted,
            engine=engine,
            external_id=external_id,
            external_url=external_url,
            initiator=initiator.strip(),
            gate_decision=decision,
            gate_flag=flag if decision is None or not decision.allowed else "",
            rollback_of=previous,
            created_by=actor,
        )
        deployment.seal = sealed(DEPLOYMENT_RECORD, deployment_content(deployment))
        try:
            with transaction.atomic():
                deployment.save()
        except IntegrityError:  # the same engine report at the same moment: append to that one
            deployment = Deployment.objects.select_for_update().get(
                product=product, engine=engine, external_id=external_id
            )
            created = False
        else:
            audit_record(
                actor=actor,
                action="deployment.recorded",
                obj=deployment,
                scope=product.key,
                object_repr=f"{environment} #{deployment.pk} {deployment.version or ''}".strip(),
                after={**deployment_content(deployment), "environment": environment.key},
                note=deployment.gate_flag,
            )
    else:
        deployment = existing
    newest = deployment.statuses.order_by("-at", "-id").first()
    if newest is not None and (newest.state, newest.description, newest.smoke, newest.steps) == (
        state,
        description,
        smoke,
        steps,
    ):
        return deployment, None, created
    status = DeploymentStatus(
        deployment=deployment,
        state=state,
        at=at or timezone.now(),
        description=description,
        log_url=log_url,
        steps=steps,
        smoke=smoke,
        reported_by=actor.get_username() if actor is not None else "system",
    )
    status.seal = sealed(STATUS_RECORD, status_content(status))
    status.save()
    audit_record(
        actor=actor,
        action="deployment.status",
        obj=deployment,
        scope=product.key,
        object_repr=f"{environment} #{deployment.pk} {state}",
        after=status_content(status),
    )
    return deployment, status, created
