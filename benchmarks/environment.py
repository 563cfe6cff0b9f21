"""The secrets a benchmark run needs, made up for it (never for a real installation).

Serving and writing the audit trail need SECRET_KEY, AUDIT_KEY and an Ed25519 checkpoint key
(qms.startup, qms.integrity.keys). ``benchmark_secrets`` sets throw-away values in ``os.environ``
(keeping any already set) and returns them, for the benchmark's own process and its servers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

OUT = Path(__file__).resolve().parent / "out"


def benchmark_secrets() -> dict[str, str]:
    OUT.mkdir(parents=True, exist_ok=True)
    key_file = OUT / "audit-checkpoint-key.pem"
    if not key_file.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_file.write_bytes(pem)
        key_file.chmod(0o600)
    values = {
        "SECRET_KEY": "benchmark-only-not-a-secret",
        "AUDIT_KEY": "benchmark-only-audit-key-not-a-secret-0123456789",
        "AUDIT_CHECKPOINT_KEY_FILE": str(key_file),
        "AUDIT_CHECKPOINT_DIR": str(OUT / "audit-checkpoints"),
    }
    for name, value in values.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in values}


def database_recreated(url: str, *, prefix: str) -> None:
    """Drop and create a benchmark's own PostgreSQL database; its name must start with ``prefix``
    (so no other database is ever touched)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql") or not re.fullmatch(rf"{prefix}\w*", name):
        raise SystemExit(f"--database-url must name a PostgreSQL database called {prefix}…, not {url!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
