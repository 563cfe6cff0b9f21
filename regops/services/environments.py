"""Environments of a product: where it is deployed, which gates a deployment there needs, and the
names the CD engines know it by."""

import re
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from qms.errors import Conflict, InvalidInput
from qms.services import audit_record
from regops.models import DEFAULT_GATES, ENVIRONMENT_KEY, Environment, Gate, Tier
from traceability.models import Product

GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
BINDINGS = (
    "github_repository",
    "github_environment",
    "gitlab_project",
    "gitlab_environment",
    "argocd_application",
    "flux_object",
)
EDITABLE = ("name", "tier", "gates", "url", *BINDINGS)


def environment_state(environment: Environment) -> dict[str, Any]:
    return {
        "key": environment.key,
        "name": environment.name,
        "tier": environment.tier,
        "gates": list(environment.gates),
        "url": environment.url,
        **{name: getattr(environment, name) for name in BINDINGS},
    }


def gates_clean(gates: Any, tier: str) -> list[str]:
    """The gates in G order; an environment that needs G5 needs G4 (the release approval comes after
    the integration approval)."""
    if not isinstance(gates, list | tuple) or not all(isinstance(gate, str) for gate in gates):
        raise InvalidInput('gates: a list of gates, e.g. ["G1", "G2"]', field="gates")
    unknown = sorted(set(gates) - set(Gate.values))
    if unknown:
        raise InvalidInput(f"gates: unknown gate {unknown[0]!r}; gates are {', '.join(Gate.values)}", field="gates")
    if Gate.G5 in gates and Gate.G4 not in gates:
        raise InvalidInput(
            "gates: an environment that needs G5 needs G4 too: the release approval comes after the integration "
            "approval",
            field="gates",
        )
    return [gate for gate in Gate.values if gate in gates]


def environment_check(environment: Environment) -> None:
    """The rules of an environment (InvalidInput naming the field); also the admin form's check."""
    try:
        ENVIRONMENT_KEY(environment.key)
    except ValidationError as exc:
        raise InvalidInput(f"key: {environment.key!r}: {exc.messages[0]}", field="key") from exc
    if environment.tier not in Tier.values:
        raise InvalidInput(f"tier: unknown tier {environment.tier!r}; tiers are {', '.join(Tier.values)}", field="tier")
    if not environment.name.strip() or len(environment.name) > 255:
        raise InvalidInput("name: a name of at most 255 characters", field="name")
    environment.gates = gates_clean(environment.gates, environment.tier)
    if environment.url:
        try:
            URLValidator(schemes=["http", "https"])(environment.url)
        except ValidationError as exc:
            raise InvalidInput(f"url: {environment.url!r} is not an http(s) URL", field="url") from exc
    if environment.github_repository and not GITHUB_REPOSITORY.fullmatch(environment.github_repository):
        raise InvalidInput("github_repository: owner/name", field="github_repository")
    for repository, name in (("github_repository", "github_environment"), ("gitlab_project", "gitlab_environment")):
        if bool(getattr(environment, repository)) != bool(getattr(environment, name)):
            raise InvalidInput(f"{name}: {repository} and {name} go together", field=name)
    for name in BINDINGS:
        value = getattr(environment, name)
        if len(value) > 255:
            raise InvalidInput(f"{name}: at most 255 characters", field=name)
        setattr(environment, name, value.strip())


def _saved(environment: Environment) -> None:
    try:
        with transaction.atomic():
            environment.save()
    except IntegrityError as exc:
        raise Conflict(
            f"{environment.product.key} has an environment {environment.key!r} already, or another environment is "
            "bound to the same engine names (a GitHub repository and environment, a GitLab project and environment, "
            "an Argo CD application and a Flux object name one environment each)",
            code="environment_conflict",
        ) from exc


@transaction.atomic
def environment_create(
    *,
    product: Product,
    key: str,
    name: str,
    tier: str,
    actor: User | None,
    gates: list[str] | None = None,
    **bindings: str,
) -> Environment:
    """A new environment (audited ``environment.created``); its gates default by tier."""
    unknown = sorted(set(bindings) - {"url", *BINDINGS})
    if unknown:
        raise InvalidInput(f"{unknown[0]}: not a field of an environment", field=unknown[0])
    environment = Environment(
        product=product,
        key=(key or "").strip(),
        name=(name or "").strip(),
        tier=tier,
        gates=list(DEFAULT_GATES.get(tier, [])) if gates is None else gates,
        created_by=actor,
        updated_by=actor,
        **{field: (value or "") for field, value in bindings.items()},
    )
    environment_check(environment)
    _saved(environment)
    audit_record(
        actor=actor,
        action="environment.created",
        obj=environment,
        scope=product.key,
        object_repr=str(environment),
        after=environment_state(environment),
    )
    return environment


@transaction.atomic
def environment_update(*, environment: Environment, actor: User | None, **changes: Any) -> Environment:
    """Change an environment's name, tier, gates, URL or engine bindings (audited); its key stays."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(f"{unknown[0]}: cannot be changed (fields: {', '.join(EDITABLE)})", field=unknown[0])
    environment = Environment.objects.select_for_update().select_related("product").get(pk=environment.pk)
    before = environment_state(environment)
    for name, value in changes.items():
        setattr(environment, name, value if value is not None else "")
    environment_check(environment)
    if environment_state(environment) == before:
        return environment
    environment.updated_at, environment.updated_by = timezone.now(), actor
    _saved(environment)
    audit_record(
        actor=actor,
        action="environment.updated",
        obj=environment,
        scope=environment.product.key,
        object_repr=str(environment),
        before=before,
        after=environment_state(environment),
    )
    return environment
