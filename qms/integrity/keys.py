"""Secrets kept outside the database, and what is computed with them.

``AUDIT_KEY`` (environment) is the root secret of the audit trail. Two keys are derived from it,
one per purpose, so a value computed for one purpose is never valid for the other:

- the chain key: each audit event's digest is HMAC-SHA256 over its canonical content and the
  previous event's digest;
- the seal key: records that matter to an auditor (signatures, baselines, release approvals,
  stored reports, deviations) carry a seal, HMAC-SHA256 over their canonical content named by
  record type. Someone who can write to the database but does not hold ``AUDIT_KEY`` can neither
  append a believable event nor forge or alter a sealed record.

The checkpoint key is an Ed25519 private key (PEM, ``AUDIT_CHECKPOINT_KEY_FILE`` or
``AUDIT_CHECKPOINT_KEY``); its public half verifies checkpoints.
"""

import hashlib
import hmac
import logging
import os
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from qms.canonical import canonical_json

logger = logging.getLogger(__name__)

CHAIN_PURPOSE = b"q-interface audit chain v2"
SEAL_PURPOSE = b"q-interface record seal v1"
LEGACY_CHAIN = 1  # unkeyed SHA-256 chain of databases created before the trail was keyed
KEYED_CHAIN = 2  # HMAC-SHA256 with the chain key


def audit_key() -> bytes:
    """The root secret; ImproperlyConfigured when it is not set (nothing is sealed without it)."""
    key = getattr(settings, "AUDIT_KEY", "")
    if not key:
        raise ImproperlyConfigured(
            "AUDIT_KEY is not set: the audit trail and the records' seals need it (generate one with "
            "`python manage.py audit_keygen`, keep it away from database administrators)"
        )
    if len(key) < 32:
        raise ImproperlyConfigured("AUDIT_KEY must be at least 32 characters (audit_keygen makes a 64-digit one)")
    return key.encode()


@cache
def _derived(root: bytes, purpose: bytes) -> bytes:
    return hmac.new(root, purpose, hashlib.sha256).digest()


def chain_key() -> bytes:
    return _derived(audit_key(), CHAIN_PURPOSE)


def seal_key() -> bytes:
    return _derived(audit_key(), SEAL_PURPOSE)


def chain_digest(content: dict[str, Any], *, version: int = KEYED_CHAIN) -> str:
    """The digest of one audit event's content (which names the previous digest)."""
    data = canonical_json(content)
    if version == LEGACY_CHAIN:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(chain_key(), data, hashlib.sha256).hexdigest()


def seal_of(record_type: str, content: dict[str, Any]) -> str:
    """The seal of a record: HMAC-SHA256 with the seal key over its type and canonical content."""
    return hmac.new(seal_key(), canonical_json({"record": record_type, **content}), hashlib.sha256).hexdigest()


def seal_matches(record_type: str, content: dict[str, Any], seal: str) -> bool:
    return hmac.compare_digest(seal_of(record_type, content), seal or "")


# --- the checkpoint key ------------------------------------------------------------------------


def _pem_from_settings() -> bytes | None:
    pem = getattr(settings, "AUDIT_CHECKPOINT_KEY", "")
    if pem:
        return pem.encode()
    path = getattr(settings, "AUDIT_CHECKPOINT_KEY_FILE", "")
    if path:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ImproperlyConfigured(f"AUDIT_CHECKPOINT_KEY_FILE {path}: {exc.strerror}") from exc
    return None


def _development_key_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "audit-checkpoint-key.pem"


def private_key_pem() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS #8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def checkpoint_private_key() -> Ed25519PrivateKey:
    """The checkpoint signing key. With DEBUG on and none configured, a development key is made
    once in var/ (never in production: there the key must be configured)."""
    pem = _pem_from_settings()
    if pem is None:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                "AUDIT_CHECKPOINT_KEY_FILE is not set: audit checkpoints are signed with an Ed25519 key kept "
                "outside the database (make one with `python manage.py audit_keygen`)"
            )
        path = _development_key_file()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(private_key_pem())
            logger.warning("made a development audit checkpoint key in %s (DEBUG only)", path)
        pem = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"the audit checkpoint key is not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("the audit checkpoint key must be an Ed25519 key")
    return key


def checkpoint_public_key() -> Ed25519PublicKey:
    """The key that verifies checkpoints: ``AUDIT_CHECKPOINT_PUBLIC_KEY_FILE`` when set (a verifying
    host need not hold the private key), otherwise the public half of the signing key."""
    path = getattr(settings, "AUDIT_CHECKPOINT_PUBLIC_KEY_FILE", "")
    if path:
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except OSError as exc:
            raise ImproperlyConfigured(f"AUDIT_CHECKPOINT_PUBLIC_KEY_FILE {path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise ImproperlyConfigured(f"AUDIT_CHECKPOINT_PUBLIC_KEY_FILE {path}: not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ImproperlyConfigured("the audit checkpoint public key must be an Ed25519 key")
        return key
    return checkpoint_private_key().public_key()


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
