"""What else a release approval waits for, registered by higher apps.

The release approval (``release_approve``) is refused while error-level gaps exist; an app that
adds steps before it (``regops``: the integration approval, gate G4, comes before the
manufacturer's release approval, G5) registers a check here in its ``AppConfig.ready``, so
``traceability`` never imports it. A check returns the problems in words (empty: nothing missing).
"""

from collections.abc import Callable

from traceability.models import Release

ApprovalCheck = Callable[[Release, str], list[str]]  # (release, baseline SHA-256) → problems

_CHECKS: list[ApprovalCheck] = []


def release_approval_check(check: ApprovalCheck) -> ApprovalCheck:
    if check not in _CHECKS:
        _CHECKS.append(check)
    return check


def release_approval_problems(release: Release, baseline_sha256: str) -> list[str]:
    return [problem for check in _CHECKS for problem in check(release, baseline_sha256)]
