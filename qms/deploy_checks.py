"""System checks of a production installation (``python manage.py check --deploy``): the audit
trail's secrets are set and usable, checkpoints can be written outside the database, and the
attestation key is there."""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security, deploy=True)
def audit_secrets_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from qms.integrity.keys import audit_key, checkpoint_private_key

    problems: list[checks.CheckMessage] = []
    for check, number in ((audit_key, "E001"), (checkpoint_private_key, "E002")):
        try:
            check()
        except ImproperlyConfigured as exc:
            problems.append(checks.Error(str(exc), id=f"qms.{number}"))
    if settings.AUDIT_KEY and settings.AUDIT_KEY in (settings.SECRET_KEY, os.environ.get("DATABASE_URL", "")):
        problems.append(
            checks.Error("AUDIT_KEY must not be the SECRET_KEY or part of the database's settings", id="qms.E003")
        )
    folder = Path(settings.AUDIT_CHECKPOINT_DIR)
    existing = next((parent for parent in (folder, *folder.parents) if parent.exists()), None)
    if existing is None or not os.access(existing, os.W_OK):
        problems.append(
            checks.Warning(
                f"AUDIT_CHECKPOINT_DIR {folder} cannot be written: audit checkpoints (written after every release "
                "approval and by audit_checkpoint) would fail",
                id="qms.W004",
            )
        )
    return problems


@checks.register(checks.Tags.security, deploy=True)
def attestation_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A warning, not an error: without the key everything works but the release-approval attestation."""
    from qms.errors import Unavailable
    from qms.integrity.dsse import attestation_private_key

    if settings.DEBUG:
        return []
    try:
        attestation_private_key()
    except Unavailable as exc:
        return [
            checks.Warning(
                f"{exc.message}. Without it GET …/attestations/release-approval.intoto.jsonl answers 503 and "
                "admission controllers (Kyverno, cosign) have no attestation to verify",
                id="qms.W005",
            )
        ]
    return []
