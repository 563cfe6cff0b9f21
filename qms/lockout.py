"""Reads of the account lockout (21 CFR 11.300(d)): how many recent failures a user name has and
until when it is locked.

django-axes keeps the counter: one ``AccessAttempt`` row per user name, client address and kind
of client, with its failures and the time of the last one. Sign-in failures are counted by axes
itself (``qms.auth.AuditedAxesHandler``), refused signatures by ``qms.services.accounts``. A row
counts while its last failure is less than the cool-off (``LOCKOUT_MINUTES``) ago, the way axes
counts it with ``AXES_LOCKOUT_PARAMETERS = ["username"]``; the account is locked while the counted
failures reach the limit (``LOCKOUT_FAILURES``), until the cool-off after the last failure.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Max, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone


def failure_limit() -> int:
    return int(settings.AXES_FAILURE_LIMIT)


def cool_off() -> timedelta:
    return settings.AXES_COOLOFF_TIME


@dataclass(frozen=True)
class LockState:
    failures: int = 0
    last_failure_at: datetime | None = None

    @property
    def locked_until(self) -> datetime | None:
        if self.failures < failure_limit() or self.last_failure_at is None:
            return None
        return self.last_failure_at + cool_off()

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None


def counted_attempts(now: datetime | None = None) -> QuerySet[AccessAttempt]:
    """The attempts that still count: their last failure is less than the cool-off ago."""
    return AccessAttempt.objects.filter(attempt_time__gte=(now or timezone.now()) - cool_off())


def lock_state(username: str) -> LockState:
    row = (
        counted_attempts()
        .filter(username=username)
        .aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    )
    return LockState(failures=row["failures"] or 0, last_failure_at=row["last"])


def users_with_lock_state(users: QuerySet[User]) -> QuerySet[User]:
    """Annotate ``lock_failures`` and ``lock_last_failure_at`` (two subqueries, no query per user)."""
    attempts = counted_attempts().filter(username=OuterRef("username")).order_by().values("username")
    return users.annotate(
        lock_failures=Subquery(attempts.annotate(total=Sum("failures_since_start")).values("total")[:1]),
        lock_last_failure_at=Subquery(attempts.annotate(last=Max("attempt_time")).values("last")[:1]),
    )


def annotated_lock_state(user: User) -> LockState:
    """The lock state of a user from ``users_with_lock_state``."""
    return LockState(
        failures=getattr(user, "lock_failures", None) or 0, last_failure_at=getattr(user, "lock_last_failure_at", None)
    )


def when(moment: datetime) -> str:
    """A time as people read it in messages: '2025-03-01 14:05:37 UTC'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
