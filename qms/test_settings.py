"""Settings for the test suite and type checking: the normal settings with a throw-away key."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")

from qms.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
MEDIA_ROOT = BASE_DIR / ".test-media"  # noqa: F405
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP; tests/qms/test_deploy.py checks production's
