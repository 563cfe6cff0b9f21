"""Verification of the audit trail's hash chain: streamed, in constant memory.

Every event's digest is recomputed with the chain key (``AUDIT_KEY``) and must follow the
previous one; the chain head row must name the last event, and no event may lie beyond it;
every signed checkpoint outside the database must name an event that is there, at the same
position, with the same digest.

Databases created before the trail was keyed start with events chained by plain SHA-256
(``chain_version`` 1). Those are accepted only as a prefix closed by the anchor event
``audit.chain_anchored``, which records their number and head digest under the key; from the
anchor on every event is keyed. A trail made only of unkeyed events is refused.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connections

from qms.canonical import canonical_json
from qms.integrity.checkpoints import Checkpoint
from qms.integrity.keys import KEYED_CHAIN, LEGACY_CHAIN, chain_key
from qms.integrity.records import Witnessed
from qms.models import AuditChainHead, AuditEvent

ANCHOR_ACTION = "audit.chain_anchored"
EVENT_FIELDS = (
    "id",
    "chain_version",
    "at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "scope",
    "before",
    "after",
    "note",
    "previous_digest",
    "digest",
)


def event_content(
    *,
    previous: str,
    at: str,
    actor_id: int | None,
    actor_username: str,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    scope: str,
    before: object,
    after: object,
    note: str,
) -> dict[str, object]:
    """What an event's digest covers (the same for both chain versions)."""
    return {
        "previous": previous,
        "at": at,
        "actor_id": actor_id,
        "actor_username": actor_username,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr,
        "scope": scope,
        "before": before,
        "after": after,
        "note": note,
    }


def event_content_of(event: Any, *, previous: str | None = None) -> dict[str, object]:
    """``event_content`` of an event (a model instance, new or read back), chained to ``previous``
    (default: the event's own ``previous_digest``)."""
    return event_content(
        previous=event.previous_digest if previous is None else previous,
        at=event.at.isoformat(),
        actor_id=event.actor_id,
        actor_username=event.actor_username,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        object_repr=event.object_repr,
        scope=event.scope,
        before=event.before,
        after=event.after,
        note=event.note,
    )


class ChainBroken(Exception):
    def __init__(self, problem: str, event_id: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.event_id = event_id


@dataclass
class ChainReport:
    events: int
    is_intact: bool
    first_broken_id: int | None = None
    problem: str = ""
    head_id: int | None = None
    head: str = ""
    checkpoints_matched: int = 0
    witnessed: Witnessed = field(default_factory=dict)


class ChainWalk:
    """The running state of a verification: walk segments of events in id order through it."""

    def __init__(
        self,
        *,
        previous: str = "",
        events: int = 0,
        keyed_seen: bool = False,
        checkpoints: Iterable[Checkpoint] = (),
        witness_actions: Iterable[str] = (),
    ) -> None:
        self.keyed = hmac.new(chain_key(), digestmod=hashlib.sha256)
        self.previous = previous
        self.events = events
        self.last_id: int | None = None
        self.legacy = 0
        self.keyed_seen = keyed_seen
        self.by_head = {checkpoint.head_id: checkpoint for checkpoint in checkpoints}
        self.matched: set[int] = set()
        self.witnessed: Witnessed = {action: set() for action in witness_actions}

    def walk(self, *, after_id: int | None, upto_id: int, chunk_size: int = 5000) -> None:
        """Verify the events after ``after_id`` up to ``upto_id``, in id order."""
        keyed = self.keyed
        witnessed = self.witnessed
        by_head = self.by_head
        fast_dumps = orjson.dumps
        sort_keys = orjson.OPT_SORT_KEYS
        sha256 = hashlib.sha256
        compare = hmac.compare_digest
        for (
            pk,
            version,
            at,
            actor_id,
            actor_username,
            action,
            object_type,
            object_id,
            object_repr,
            scope,
            before,
            after,
            note,
            previous_digest,
            digest,
            before_text,
            after_text,
        ) in _event_rows(after_id=after_id, upto_id=upto_id, chunk_size=chunk_size):
            previous = self.previous
            if previous_digest != previous:
                raise ChainBroken("event does not follow the previous one (removed, inserted or reordered)", pk)
            # the content of event_content, built inline: this loop is the hot path
            content = {
                "previous": previous,
                "at": at.isoformat(),
                "actor_id": actor_id,
                "actor_username": actor_username,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "object_repr": object_repr,
                "scope": scope,
                "before": before,
                "after": after,
                "note": note,
            }
            if version == KEYED_CHAIN:
                if not self.keyed_seen:
                    anchor = {"legacy_events": self.legacy, "legacy_head": previous}
                    if self.legacy and not (action == ANCHOR_ACTION and after == anchor):
                        raise ChainBroken(f"the {self.legacy} unkeyed events before it are not anchored", pk)
                    self.keyed_seen = True
            elif version == LEGACY_CHAIN and not self.keyed_seen:
                self.legacy += 1
            else:
                raise ChainBroken("unkeyed event after the anchor (appended without AUDIT_KEY)", pk)
            # orjson writes the canonical bytes ten times faster than json.dumps, and the same bytes for
            # what the trail holds; where they could differ (a float's exponent, say) the digest is
            # checked again over the canonical bytes themselves before anything is called broken
            try:
                data = fast_dumps(content, option=sort_keys)
            except TypeError:
                data = canonical_json(content)
            if not compare(_digest(keyed, sha256, version, data), digest) and not _exactly_matches(
                content, before_text, after_text, data, digest, keyed, sha256, version
            ):
                raise ChainBroken("event content does not match its digest (altered, or forged without the key)", pk)
            self.previous = digest
            self.events += 1
            self.last_id = pk
            if action in witnessed:
                witnessed[action].add(object_id)
            checkpoint = by_head.get(pk)
            if checkpoint is not None:
                if checkpoint.events != self.events or checkpoint.head != digest:
                    raise ChainBroken(
                        f"contradicts the {checkpoint.label}: the trail has {self.events} events up to #{pk} with "
                        f"digest {digest[:16]}…, the checkpoint {checkpoint.events} events and "
                        f"{checkpoint.head[:16]}…"
                    )
                self.matched.add(pk)


def _digest(keyed: Any, sha256: Any, version: int, data: bytes) -> str:
    if version == KEYED_CHAIN:
        mac = keyed.copy()
        mac.update(data)
        return str(mac.hexdigest())
    return str(sha256(data).hexdigest())


def _json_loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson does not read: the standard parser decides
        return json.loads(text)


def _exactly_matches(
    content: dict[str, Any],
    before_text: str | None,
    after_text: str | None,
    fast: bytes,
    digest: str,
    keyed: Any,
    sha256: Any,
    version: int,
) -> bool:
    """The slow, exact path where the fast one disagrees: the JSON read again by the standard
    parser (orjson reads an integer over 64 bits as a float) and written as the canonical bytes
    (orjson writes some numbers otherwise than ``json.dumps``)."""
    if before_text is not None or after_text is not None:
        content = {
            **content,
            "before": json.loads(before_text) if before_text is not None else None,
            "after": json.loads(after_text) if after_text is not None else None,
        }
    exact = canonical_json(content)
    return exact != fast and hmac.compare_digest(_digest(keyed, sha256, version, exact), digest)


_EVENT_SQL = (
    "SELECT id, chain_version, at, actor_id, actor_username, action, object_type, object_id, object_repr, scope, "
    "before::text, after::text, note, previous_digest, digest FROM qms_auditevent "
    "WHERE id > %s AND id <= %s ORDER BY id"
)


def _event_rows(*, after_id: int | None, upto_id: int, chunk_size: int) -> Iterator[tuple[Any, ...]]:
    """The events' fields in ``EVENT_FIELDS`` order, then the JSON texts of before and after as
    stored (None where the ORM decoded them). On PostgreSQL inside a transaction (``audit_verify``
    runs in one snapshot): a server-side cursor read in chunks, with psycopg's own C loaders for the
    times and the JSON decoded here by orjson (Django's converters cost more than the verification
    itself); elsewhere the ORM's chunked iterator."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        events = AuditEvent.objects.filter(id__lte=upto_id)
        if after_id is not None:
            events = events.filter(id__gt=after_id)
        for row in events.order_by("id").values_list(*EVENT_FIELDS).iterator(chunk_size=chunk_size):
            yield (*row, None, None)
        return
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    loads = _json_loads
    with raw.cursor(name=f"audit_chain_{id(raw):x}") as cursor:
        for name in ("timestamptz", "int8", "int2", "text", "varchar"):
            info = psycopg.adapters.types[name]
            cursor.adapters.register_loader(info.oid, psycopg.adapters.get_loader(info.oid, psycopg.pq.Format.TEXT))
        cursor.itersize = chunk_size
        cursor.execute(_EVENT_SQL, (after_id if after_id is not None else 0, upto_id))
        for row in cursor:
            before, after = row[10], row[11]
            yield (
                *row[:10],
                loads(before) if before is not None else None,
                loads(after) if after is not None else None,
                *row[12:],
                before,
                after,
            )


def chain_head() -> tuple[int, str, int | None]:
    """The head row: (events, digest of the newest, that event's id); id None when it names none."""
    count, digest = AuditChainHead.objects.filter(pk=1).values_list("count", "digest").first() or (0, "")
    head_id = AuditEvent.objects.filter(digest=digest).values_list("id", flat=True).first() if digest else None
    return count, digest, head_id


def audit_chain_verify(
    *,
    checkpoints: Iterable[Checkpoint] = (),
    witness_actions: Iterable[str] = (),
    chunk_size: int = 5000,
) -> ChainReport:
    """Recompute every digest in order; report the first event that does not hold, or the first
    checkpoint the chain contradicts. Object ids of events with ``witness_actions`` are collected
    for the record checks.

    Appends may go on meanwhile: the walk goes up to the event the head names, then follows the
    head until it stands still; an event beyond a head that stands still was slipped in past it.
    """
    checkpoints = list(checkpoints)
    state = ChainWalk(checkpoints=checkpoints, witness_actions=witness_actions)
    report = ChainReport(events=0, is_intact=True, witnessed=state.witnessed)
    try:
        count, digest, head_id = chain_head()
        walked: int | None = None
        while True:
            if digest and head_id is None:
                raise ChainBroken("the chain head names an event that is not there (events cut off at the end)")
            upto = head_id or 0
            state.walk(after_id=walked, upto_id=upto, chunk_size=chunk_size)
            walked = upto
            if (state.previous, state.events) != (digest, count):
                raise ChainBroken("the chain head does not name the newest event (events missing at the end)")
            beyond = AuditEvent.objects.filter(id__gt=upto).exists()
            again = chain_head()
            if again[:2] == (count, digest):
                if beyond:
                    raise ChainBroken(f"events after #{upto} are not in the chain (written around the head)")
                break
            count, digest, head_id = again
        if state.legacy and not state.keyed_seen:
            raise ChainBroken(f"the trail holds only {state.legacy} unkeyed events: it was never anchored")
        for checkpoint in sorted(state.by_head.values(), key=lambda entry: entry.events):
            if checkpoint.head_id not in state.matched:
                raise ChainBroken(
                    f"contradicts the {checkpoint.label}: the trail has no event #{checkpoint.head_id}; it holds "
                    f"{state.events} events (truncated, or rolled back to an earlier copy)"
                )
    except ChainBroken as exc:
        report.is_intact = False
        report.problem = exc.problem
        report.first_broken_id = exc.event_id
    report.events = state.events
    report.head_id = state.last_id
    report.head = state.previous
    report.checkpoints_matched = len(state.matched)
    return report
