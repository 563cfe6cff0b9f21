"""Settings from the environment: without DEBUG and SECRET_KEY, commands run and serving is refused."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bare_env(tmp_path: Path) -> dict[str, str]:
    """No DEBUG, no SECRET_KEY, no settings module: what a fresh shell or a CI step has."""
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}


def run(args: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = bare_env(tmp_path) | extra
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603


@pytest.mark.parametrize("command", [["makemigrations", "--check", "--dry-run"], ["check"]])
def test_schema_commands_run_without_a_secret_key(tmp_path, command):
    result = run(["manage.py", *command], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "AppRegistryNotReady" not in result.stderr


def test_the_server_refuses_to_start_without_a_secret_key(tmp_path):
    result = run(["-c", "import qms.wsgi"], tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set to serve when DEBUG is off" in result.stderr
    result = run(["-c", "import qms.asgi"], tmp_path)
    assert "SECRET_KEY must be set to serve when DEBUG is off" in result.stderr


SECRETS = {
    "SECRET_KEY": "a-test-key-that-is-long-enough-for-the-check-0123456789",
    "AUDIT_KEY": "an-audit-key-for-this-test-only-0123456789abcdef",
}


def checkpoint_key(tmp_path: Path) -> dict[str, str]:
    from qms.integrity.keys import private_key_pem

    path = tmp_path / "checkpoint-key.pem"
    path.write_bytes(private_key_pem())
    return {"AUDIT_CHECKPOINT_KEY_FILE": str(path)}


def test_the_server_starts_with_its_secrets(tmp_path):
    result = run(
        ["-c", "import qms.wsgi; print(type(qms.wsgi.application).__name__)"],
        tmp_path,
        **SECRETS,
        **checkpoint_key(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "WSGIHandler"


def test_the_server_refuses_to_start_without_the_audit_key(tmp_path):
    result = run(["-c", "import qms.wsgi"], tmp_path, SECRET_KEY=SECRETS["SECRET_KEY"], **checkpoint_key(tmp_path))
    assert result.returncode != 0
    assert "AUDIT_KEY is not set" in result.stderr
    short = run(["-c", "import qms.wsgi"], tmp_path, SECRET_KEY=SECRETS["SECRET_KEY"], AUDIT_KEY="short")
    assert "AUDIT_KEY must be at least 32 characters" in short.stderr


def test_the_server_refuses_to_start_without_the_checkpoint_key(tmp_path):
    result = run(["-c", "import qms.asgi"], tmp_path, **SECRETS)
    assert result.returncode != 0
    assert "AUDIT_CHECKPOINT_KEY_FILE is not set" in result.stderr
    missing = run(["-c", "import qms.asgi"], tmp_path, **SECRETS, AUDIT_CHECKPOINT_KEY_FILE=str(tmp_path / "nope.pem"))
    assert "AUDIT_CHECKPOINT_KEY_FILE" in missing.stderr and "No such file" in missing.stderr
