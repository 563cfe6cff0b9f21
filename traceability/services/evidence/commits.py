"""Writes of commits: a batch from the API, ``ingest_git`` or a push webhook, idempotent by SHA.

A commit's message links it to items by key (the product's ``key_pattern``): ``Implements:
SRS-012`` → implements, ``Fixes: ANOM-3`` → fixes, any other key → mentions. Keys that name no
item are reported, not stored. A commit already stored (same product and SHA) is left as it is.
One audit event per batch that stored anything (``commits.ingested``), listing the SHAs.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from qms.bulk import insert_many
from qms.errors import InvalidInput
from qms.services import AuditEntry, audit_record_many
from traceability.models import Commit, CommitLink, Item, Product
from traceability.services.evidence.inputs import moment_parse
from traceability.services.evidence.references import commit_message_references

CHUNK = 2000
UNRESOLVED_SHOWN = 100
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
COMMIT_FIELDS = {"sha", "repository", "author_name", "author_email", "authored_at", "message", "parents"}


@dataclass(frozen=True)
class CommitInput:
    sha: str
    authored_at: datetime
    repository: str = ""
    author_name: str = ""
    author_email: str = ""
    message: str = ""
    parents: tuple[str, ...] = ()


@dataclass
class CommitBatchReport:
    received: int = 0
    created: int = 0
    unchanged: int = 0
    links_created: int = 0
    unresolved: list[dict[str, str]] = field(default_factory=list)
    unresolved_count: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "unchanged": self.unchanged,
            "links_created": self.links_created,
            "unresolved_count": self.unresolved_count,
            "unresolved": self.unresolved,
        }


def _problem(where: str, problem: str, name: str) -> InvalidInput:
    return InvalidInput(f"{where}: {problem}", code="commit_invalid", field=name, entry=where)


def _short_text(entry: dict[str, Any], name: str, where: str, limit: int) -> str:
    value = entry.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _problem(f"{where}.{name}", f"must be text, got {value!r}", name)
    if len(value) > limit:
        raise _problem(f"{where}.{name}", f"at most {limit} characters", name)
    return value.strip()


def commit_inputs_parse(raw: Any, *, source: str = "commits") -> list[CommitInput]:
    """Validate a batch: every entry needs a full 40-hex ``sha`` and ``authored_at`` with a time zone."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(f"{source}: must be a non-empty list of commits", code="commit_invalid", field=source)
    commits: list[CommitInput] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        where = f"{source}[{index}]"
        if not isinstance(entry, dict):
            raise _problem(where, "must be an object", source)
        unknown = sorted(set(entry) - COMMIT_FIELDS)
        if unknown:
            raise _problem(where, f"unknown field '{unknown[0]}' (fields: {', '.join(sorted(COMMIT_FIELDS))})", "")
        sha = entry.get("sha")
        if not isinstance(sha, str) or not FULL_SHA.fullmatch(sha.strip().lower()):
            raise _problem(f"{where}.sha", f"must be a full commit SHA (40 hex digits), got {sha!r}", "sha")
        sha = sha.strip().lower()
        if sha in seen:
            raise _problem(f"{where}.sha", f"{sha} is also {source}[{seen[sha]}]", "sha")
        seen[sha] = index
        if "authored_at" not in entry:
            raise _problem(f"{where}.authored_at", "is required", "authored_at")
        parents = entry.get("parents", [])
        if not isinstance(parents, list) or not all(
            isinstance(parent, str) and FULL_SHA.fullmatch(parent.lower()) for parent in parents
        ):
            raise _problem(f"{where}.parents", "must be a list of full commit SHAs", "parents")
        message = entry.get("message", "")
        if not isinstance(message, str):
            raise _problem(f"{where}.message", f"must be text, got {message!r}", "message")
        commits.append(
            CommitInput(
                sha=sha,
                authored_at=moment_parse(entry["authored_at"], f"{where}.authored_at"),
                repository=_short_text(entry, "repository", where, 500),
                author_name=_short_text(entry, "author_name", where, 255),
                author_email=_short_text(entry, "author_email", where, 255),
                message=message,
                parents=tuple(parent.lower() for parent in parents),
            )
        )
    return commits


def _existing_shas(product: Product, shas: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(shas), CHUNK):
        found |= set(
            Commit.objects.filter(product=product, sha__in=shas[start : start + CHUNK]).values_list("sha", flat=True)
        )
    return found


def _items_by_key(product: Product, keys: set[str]) -> dict[str, int]:
    ordered = sorted(keys)
    found: dict[str, int] = {}
    for start in range(0, len(ordered), CHUNK):
        found |= dict(
            Item.objects.filter(product=product, key__in=ordered[start : start + CHUNK]).values_list("key", "pk")
        )
    return found


@transaction.atomic
def commits_ingest(
    *, product: Product, commits: list[CommitInput], actor: User | None, via: str = "api"
) -> CommitBatchReport:
    """Store the commits not stored yet and link them to the items their messages name."""
    report = CommitBatchReport(received=len(commits))
    product = Product.objects.select_for_update().get(pk=product.pk)  # concurrent batches wait, never clash
    existing = _existing_shas(product, [commit.sha for commit in commits])
    new = [commit for commit in commits if commit.sha not in existing]
    report.unchanged = len(commits) - len(new)
    if not new:
        return report
    references = {commit.sha: commit_message_references(commit.message, product.key_pattern) for commit in new}
    items = _items_by_key(product, {key for refs in references.values() for key, _ in refs})
    now = timezone.now()
    insert_many(
        Commit,
        [
            {
                "product_id": product.pk,
                "repository": commit.repository,
                "sha": commit.sha,
                "author_name": commit.author_name,
                "author_email": commit.author_email,
                "authored_at": commit.authored_at,
                "message": commit.message,
                "parents": list(commit.parents),
                "created_at": now,
                "created_by_id": actor.pk if actor else None,
            }
            for commit in new
        ],
    )
    shas = [commit.sha for commit in new]
    pks: dict[str, int] = {}
    for start in range(0, len(shas), CHUNK):
        pks |= dict(
            Commit.objects.filter(product=product, sha__in=shas[start : start + CHUNK]).values_list("sha", "pk")
        )
    links: list[dict[str, Any]] = []
    linked: list[list[str]] = []
    unresolved: list[dict[str, str]] = []
    for sha in shas:
        for key, kind in references[sha]:
            if key in items:
                links.append({"commit_id": pks[sha], "item_id": items[key], "kind": kind})
                linked.append([sha, key, kind])
            else:
                unresolved.append({"sha": sha, "key": key, "problem": "no such item"})
    insert_many(CommitLink, links)
    report.created = len(shas)
    report.links_created = len(links)
    report.unresolved = unresolved[:UNRESOLVED_SHOWN]
    report.unresolved_count = len(unresolved)
    repositories = sorted({commit.repository for commit in new if commit.repository})
    first, last = min(pks.values()), max(pks.values())
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                action="commits.ingested",
                object_type="traceability.commit",
                object_id=str(first) if first == last else f"{first}..{last}",
                object_repr=f"{product.key}: {len(shas)} commit(s) via {via}",
                scope=product.key,
                after={
                    "via": via,
                    "repositories": repositories,
                    "shas": shas,
                    "links": linked,
                    "unchanged": report.unchanged,
                },
            )
        ],
    )
    return report
