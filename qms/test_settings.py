"""Settings for the test suite and type checking: the normal settings with a throw-away key."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("AUDIT_KEY", "tests-only-audit-key-not-a-secret-0123456789abcdef")

from qms.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
MEDIA_ROOT = BASE_DIR / ".test-media"  # noqa: F405

# A checkpoint key per test process; tests write checkpoints to their own folder (tests/conftest.py).
if not os.environ.get("AUDIT_CHECKPOINT_KEY") and not os.environ.get("AUDIT_CHECKPOINT_KEY_FILE"):
    from qms.integrity.keys import private_key_pem

    AUDIT_CHECKPOINT_KEY = private_key_pem().decode()
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP; tests/qms/test_deploy.py checks production's
