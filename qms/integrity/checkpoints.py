"""Signed checkpoints of the audit trail, kept outside the database.

A checkpoint names the chain's length, its newest event and that event's digest, and is signed
with the Ed25519 checkpoint key. It is written as a file to ``AUDIT_CHECKPOINT_DIR`` (a folder the
database administrators cannot write, ideally on other storage) and, when
``AUDIT_CHECKPOINT_URL`` is set, POSTed there too (a second witness: a log service, a WORM bucket
behind an HTTP endpoint, a chat channel). A database truncated or rolled back to an earlier
backup holds fewer events than the newest checkpoint; a recomputed chain has a different digest
at the checkpointed event: ``audit_verify`` reports either.

File: ``checkpoint-<events, 12 digits>-<UTC time>.json`` holding
``{"checkpoint": {...}, "signature": "<base64 Ed25519 signature over the canonical checkpoint>"}``.
"""

import base64
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.conf import settings

from qms.canonical import canonical_json
from qms.integrity.keys import checkpoint_private_key, checkpoint_public_key, key_id

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "q-interface-audit-checkpoint/1"
POST_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Checkpoint:
    events: int  # how many events the chain held
    head_id: int  # the newest of them
    head: str  # its digest
    at: str  # ISO 8601 UTC
    key_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "events": self.events,
            "head_id": self.head_id,
            "head": self.head,
            "at": self.at,
            "key_id": self.key_id,
        }

    @property
    def label(self) -> str:
        return f"checkpoint of {self.at} ({self.events} events, newest #{self.head_id})"


@dataclass(frozen=True)
class CheckpointFile:
    path: Path
    checkpoint: Checkpoint | None  # None: the file is not a valid signed checkpoint
    problem: str = ""


def checkpoint_dir() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def checkpoint_sign(*, events: int, head_id: int, head: str, at: datetime | None = None) -> dict[str, Any]:
    """The signed document of a checkpoint."""
    key = checkpoint_private_key()
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    checkpoint = Checkpoint(
        events=events,
        head_id=head_id,
        head=head,
        at=moment.isoformat().replace("+00:00", "Z"),
        key_id=key_id(key.public_key()),
    )
    signature = key.sign(canonical_json(checkpoint.as_dict()))
    return {"checkpoint": checkpoint.as_dict(), "signature": base64.b64encode(signature).decode()}


def checkpoint_store(document: dict[str, Any], *, directory: Path | None = None) -> Path:
    """Write the document as a new file (never over an existing one), atomically."""
    folder = directory or checkpoint_dir()
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = document["checkpoint"]
    stamp = checkpoint["at"].replace("-", "").replace(":", "").replace(".", "")
    path = folder / f"checkpoint-{checkpoint['events']:012d}-{stamp}.json"
    temporary = folder / f".{path.name}.tmp"
    data = json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if path.exists():
        temporary.unlink()
        raise FileExistsError(f"{path} exists already")
    os.replace(temporary, path)
    return path


def checkpoint_post(document: dict[str, Any], *, url: str | None = None) -> int:
    """POST the document as JSON to ``AUDIT_CHECKPOINT_URL`` (with ``AUDIT_CHECKPOINT_URL_TOKEN``
    as a bearer token when set); the HTTP status. Raises OSError when it cannot be delivered."""
    target = url if url is not None else settings.AUDIT_CHECKPOINT_URL
    headers = {"Content-Type": "application/json", "User-Agent": "q-interface-audit-checkpoint"}
    token = getattr(settings, "AUDIT_CHECKPOINT_URL_TOKEN", "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if not target.startswith(("https://", "http://")):
        raise OSError(f"AUDIT_CHECKPOINT_URL must be an http(s) URL, not {target!r}")
    request = urllib.request.Request(target, data=canonical_json(document), headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as response:  # noqa: S310 - checked above
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise OSError(f"{target} answered {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise OSError(f"{target} could not be reached: {exc.reason}") from exc


def checkpoint_parse(data: bytes) -> Checkpoint:
    """A checkpoint whose signature verifies with the checkpoint public key; ValueError otherwise."""
    try:
        document = json.loads(data)
        fields = document["checkpoint"]
        signature = base64.b64decode(document["signature"], validate=True)
        checkpoint = Checkpoint(
            events=int(fields["events"]),
            head_id=int(fields["head_id"]),
            head=str(fields["head"]),
            at=str(fields["at"]),
            key_id=str(fields["key_id"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a checkpoint document ({type(exc).__name__}: {exc})") from exc
    if fields.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"unknown checkpoint format {fields.get('format')!r}")
    public = checkpoint_public_key()
    if checkpoint.key_id != key_id(public):
        raise ValueError(f"signed with key {checkpoint.key_id}, not the configured checkpoint key {key_id(public)}")
    try:
        public.verify(signature, canonical_json(checkpoint.as_dict()))
    except InvalidSignature as exc:
        raise ValueError("its signature does not verify: the file was altered or forged") from exc
    return checkpoint


def checkpoint_files(*, directory: Path | None = None) -> list[CheckpointFile]:
    """Every checkpoint file of the folder, oldest chain length first; invalid ones carry their problem."""
    folder = directory or checkpoint_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("checkpoint-*.json")):
        try:
            found.append(CheckpointFile(path, checkpoint_parse(path.read_bytes())))
        except (OSError, ValueError) as exc:
            found.append(CheckpointFile(path, None, str(exc)))
    return sorted(found, key=lambda entry: (entry.checkpoint.events if entry.checkpoint else -1, entry.path.name))


def checkpoint_newest(*, directory: Path | None = None) -> Checkpoint | None:
    valid = [entry.checkpoint for entry in checkpoint_files(directory=directory) if entry.checkpoint is not None]
    return valid[-1] if valid else None
