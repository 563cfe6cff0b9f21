"""Reads of RegOps: environments, deployments with their course, the ledger, what runs where."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from qms.errors import Conflict, NotFound
from regops.gates import GateAnswer, gate_answer
from regops.models import Deployment, DeploymentState, DeploymentStatus, Environment, GateDecision
from traceability.models import Product, Release


def environment_list(*, product: Product) -> QuerySet[Environment]:
    return Environment.objects.filter(product=product).select_related("product").order_by("id")


def environment_get(*, product: Product, key: str) -> Environment:
    environment = Environment.objects.select_related("product").filter(product=product, key=key).first()
    if environment is None:
        raise NotFound(f"{product.key} has no environment {key!r}", product=product.key, environment=key)
    return environment


def deployment_list(*, product: Product) -> QuerySet[Deployment]:
    """Deployments, newest first, with their environment, release and statuses (two queries a page)."""
    return (
        Deployment.objects.filter(product=product)
        .select_related("environment", "release", "gate_decision", "created_by")
        .prefetch_related(Prefetch("statuses", queryset=DeploymentStatus.objects.order_by("at", "id")))
        .order_by("-created_at", "-id")
    )


def deployment_get(*, product: Product, pk: int) -> Deployment:
    deployment = deployment_list(product=product).filter(pk=pk).first()
    if deployment is None:
        raise NotFound(f"{product.key} has no deployment #{pk}", product=product.key)
    return deployment


def decision_list(*, product: Product) -> QuerySet[GateDecision]:
    return (
        GateDecision.objects.filter(product=product)
        .select_related("environment", "release", "asked_by")
        .order_by("-id")
    )


def deployment_state(deployment: Deployment) -> DeploymentStatus | None:
    """The newest status (of the prefetched statuses)."""
    statuses = list(deployment.statuses.all())
    return statuses[-1] if statuses else None


@dataclass
class Running:
    """What an environment runs now: its newest successful deployment, and whether an approved
    release holds those digests (drift: an environment running a digest no approved release holds)."""

    environment: Environment
    deployment: Deployment | None
    approved_release: str | None
    drift: list[str]

    def as_dict(self) -> dict[str, Any]:
        deployment = self.deployment
        return {
            "environment": self.environment.key,
            "tier": self.environment.tier,
            "deployment": deployment.pk if deployment is not None else None,
            "version": deployment.version if deployment is not None else None,
            "digests": deployment.digests if deployment is not None else [],
            "deployed_at": deployment.created_at.isoformat() if deployment is not None else None,
            "approved_release": self.approved_release,
            "drift": self.drift,
        }


def running_where(*, product: Product) -> list[Running]:
    """Per environment, the newest deployment whose newest status is success (not rolled back)."""
    from traceability.graph.selectors import graph_load

    deployments = list(deployment_list(product=product))
    approved: dict[str, str] = {}
    for release in Release.objects.filter(product=product, state__in=("approved", "released")).select_related(
        "product"
    ):
        try:
            graph = graph_load(product=product, release=release)
        except Conflict:  # a release whose records do not hold up approves nothing (audit_verify names it)
            continue
        if graph.release is not None and graph.release.approved:
            for artifact in graph.artifacts:
                approved.setdefault(artifact.digest, release.version)
    running = []
    for environment in environment_list(product=product):
        current = next(
            (
                deployment
                for deployment in deployments
                if deployment.environment_id == environment.pk
                and (state := deployment_state(deployment)) is not None
                and state.state == DeploymentState.SUCCESS
            ),
            None,
        )
        drift = [digest for digest in (current.digests if current else []) if digest not in approved]
        versions = sorted({approved[digest] for digest in (current.digests if current else []) if digest in approved})
        running.append(Running(environment, current, ", ".join(versions) or None, drift))
    return running


def release_gates(*, release: Release) -> list[GateAnswer]:
    """The gates of every environment of the release's product for the release's digests (nothing
    is recorded: for pages and overviews; engines ask ``gate_decide``)."""
    return [
        gate_answer(environment=environment, version=release.version)
        for environment in environment_list(product=release.product)
    ]
