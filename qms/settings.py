"""Settings, driven by the environment.

DATABASE_URL   database (default: SQLite file db.sqlite3 in the project folder)
DEBUG          "1"/"true" turns debugging on (default off)
SECRET_KEY     required to serve unless DEBUG is on
AUDIT_KEY      keys the audit trail and the records' seals; required unless DEBUG is on
AUDIT_CHECKPOINT_KEY_FILE / AUDIT_CHECKPOINT_DIR / AUDIT_CHECKPOINT_URL  signed checkpoints of the trail
ATTESTATION_KEY_FILE  ECDSA P-256 key signing release-approval attestations (in-toto, DSSE)
ALLOWED_HOSTS  comma-separated (default: localhost names)
TASKS_BACKEND  "immediate" (default: background jobs run in the request) or "database" (db_worker)
SECURE_*       HTTPS: SSL redirect, HSTS, the proxy's TLS header (see "HTTPS and security headers")
Account controls (21 CFR 11.10(d), 11.300(d)): LOCKOUT_FAILURES, LOCKOUT_MINUTES, SESSION_IDLE_MINUTES,
SESSION_MAX_HOURS; e-mail (password reset): EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
EMAIL_USE_TLS, DEFAULT_FROM_EMAIL, PASSWORD_RESET_BY_EMAIL.
The README's configuration table lists them all, with the production environment.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from exc


def env_megabytes(name: str, default: float) -> int:
    """A size in MB (decimals allowed) as bytes."""
    value = os.environ.get(name, "").strip()
    try:
        megabytes = float(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number of megabytes, got {value!r}") from exc
    return int(megabytes * 1024 * 1024)


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """The header (and value) by which the TLS-terminating proxy says a request came over HTTPS.

    Unset, empty or ``0``: none (``request.is_secure()`` trusts only the connection itself). ``1``:
    the usual ``X-Forwarded-Proto: https``. Otherwise a header name, in WSGI or HTTP spelling,
    optionally with the value: ``HTTP_X_FORWARDED_PROTO``, ``X-Forwarded-Proto``,
    ``X-Forwarded-Scheme=https``. Only set it when the proxy always sets (or strips) that header.
    """
    value = os.environ.get(name, "").strip()
    if value.lower() in {"", "0", "false", "no", "off"}:
        return None
    if value.lower() in {"1", "true", "yes", "on"}:
        return ("HTTP_X_FORWARDED_PROTO", "https")
    header, _, expected = value.partition("=")
    header = header.strip().upper().replace("-", "_")
    header = header if header.startswith("HTTP_") else f"HTTP_{header}"
    if not re.fullmatch(r"HTTP_[A-Z0-9_]+", header):
        raise ImproperlyConfigured(f"{name} must be 1 or a header name such as X-Forwarded-Proto, got {value!r}")
    return (header, expected.strip() or "https")


DEBUG = env_bool("DEBUG")

# Without DEBUG and without SECRET_KEY the key stays empty: commands that sign nothing (migrate,
# makemigrations --check, check, load_standards, trace_gaps…) run, while serving is refused at
# start-up (qms.startup.serving_check in wsgi.py / asgi.py) and anything else that signs raises
# Django's own ImproperlyConfigured on first use.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105

# The audit trail's secrets live outside the database (21 CFR 11.10(c), (e)): AUDIT_KEY keys the
# hash chain and seals signatures, baselines, approvals and stored reports; the Ed25519 checkpoint
# key signs checkpoints of the chain written outside the database. `python manage.py audit_keygen`
# makes both. With DEBUG on and none set, development values are used (never in production: the
# server refuses to start without them, see qms.startup).
AUDIT_KEY = os.environ.get("AUDIT_KEY", "")
if not AUDIT_KEY and DEBUG:
    AUDIT_KEY = "insecure-development-audit-key-only-for-debug"
AUDIT_CHECKPOINT_KEY_FILE = os.environ.get("AUDIT_CHECKPOINT_KEY_FILE", "")
AUDIT_CHECKPOINT_KEY = os.environ.get("AUDIT_CHECKPOINT_KEY", "")  # the PEM itself, instead of a file
AUDIT_CHECKPOINT_PUBLIC_KEY_FILE = os.environ.get("AUDIT_CHECKPOINT_PUBLIC_KEY_FILE", "")
AUDIT_CHECKPOINT_DIR = Path(os.environ.get("AUDIT_CHECKPOINT_DIR", BASE_DIR / "var" / "audit-checkpoints"))
AUDIT_CHECKPOINT_URL = os.environ.get("AUDIT_CHECKPOINT_URL", "")
AUDIT_CHECKPOINT_URL_TOKEN = os.environ.get("AUDIT_CHECKPOINT_URL_TOKEN", "")
# The organisation's ECDSA P-256 key (PEM) that signs release-approval attestations (DSSE, for cosign and
# Kyverno); `python manage.py attestation_key --create PATH` makes one. DEBUG makes a development key in var/.
ATTESTATION_KEY_FILE = os.environ.get("ATTESTATION_KEY_FILE", "")

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip() for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "axes",  # before qms: sign-in failures and lockouts (qms.auth.AuditedAxesHandler audits them)
    "qms",
    "standards",
    "traceability",
    "regops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "qms.middleware.RequestCheckMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "qms.auth.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a refused sign-in of a locked account into the lockout page
]

ROOT_URLCONF = "qms.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "qms.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # A kept connection is checked before a request uses it: the first request after the
        # database restarted (or dropped the connection) reconnects instead of failing.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Part 11 account controls ----------------------------------------------------------------
# Failed sign-ins (the sign-in page, the admin's) and refused signatures (a wrong password) count
# toward one lockout per user name: LOCKOUT_FAILURES failures, each less than LOCKOUT_MINUTES after
# the one before, lock the account for LOCKOUT_MINUTES after the last one (no sign-in, no signing).
# django-axes keeps the counter (its AccessAttempt rows); qms.auth and qms.services.accounts audit
# every failure, lockout and unlock.
LOCKOUT_FAILURES = int(os.environ.get("LOCKOUT_FAILURES", "5"))
LOCKOUT_MINUTES = float(os.environ.get("LOCKOUT_MINUTES", "15"))
if LOCKOUT_FAILURES < 1 or LOCKOUT_MINUTES <= 0:
    raise ImproperlyConfigured("LOCKOUT_FAILURES must be at least 1 and LOCKOUT_MINUTES more than 0")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked account before its password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOCKOUT_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=LOCKOUT_MINUTES)
# By user name only: behind a reverse proxy every client has the proxy's address, and locking it
# would lock everyone out (hence axes.W006 is silenced below).
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a locked account stays locked until the time it was told
AXES_HANDLER = "qms.auth.AuditedAxesHandler"
AXES_LOCKOUT_CALLABLE = "qms.auth.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # sign-ins and sign-outs are in the audit trail
AXES_ENABLE_ADMIN = False  # lock state is shown (and lifted) on the admin's Users page
AXES_VERBOSE = False
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# A session ends SESSION_IDLE_MINUTES (to the minute) after its last request and, whatever the
# activity, SESSION_MAX_HOURS after sign-in (qms.auth.SessionLifetimeMiddleware): its expiry moves
# on at most once every SESSION_REFRESH_SECONDS, so a page view is not a session write.
SESSION_IDLE_MINUTES = float(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_MAX_HOURS = float(os.environ.get("SESSION_MAX_HOURS", "10"))
if SESSION_IDLE_MINUTES <= 0 or SESSION_MAX_HOURS <= 0:
    raise ImproperlyConfigured("SESSION_IDLE_MINUTES and SESSION_MAX_HOURS must be more than 0")
SESSION_REFRESH_SECONDS = 60
SESSION_COOKIE_AGE = int(SESSION_IDLE_MINUTES * 60) + SESSION_REFRESH_SECONDS

# E-mail, for password resets. Reset by e-mail is offered only when e-mail is configured
# (EMAIL_HOST set, or PASSWORD_RESET_BY_EMAIL=1 for a mail server on localhost:25); otherwise
# the reset pages answer 404 and the sign-in page says to ask a quality manager.
_EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_HOST = _EMAIL_HOST or "localhost"
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "q-interface@localhost")
PASSWORD_RESET_BY_EMAIL = env_bool("PASSWORD_RESET_BY_EMAIL", bool(_EMAIL_HOST))

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# HTTPS and security headers. Without DEBUG: HTTP is redirected to HTTPS and HSTS is sent for a
# year (browsers only honour it over HTTPS, so plain-HTTP trials just need SECURE_SSL_REDIRECT=0).
# Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER, or every request looks like HTTP
# and is redirected again and again. Preload is a commitment of the whole domain: opt in.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): everything from this origin, no inline script or style
# (pages, the admin and the API docs load theirs from static files), no plugins, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # the API docs' icons are data: URLs in their style sheet
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Permissions-Policy (django-permissions-policy): no page of the app uses these browser features.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "qms.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["qms.api.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "qms.api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "qms.api.filters.OrderingFilter",
        "qms.api.filters.SearchFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [  # DRF's, refusing NUL, lone surrogates and deep nesting (400)
        "qms.api.parsers.JSONParser",
        "qms.api.parsers.FormParser",
        "qms.api.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "qms.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Q-interface API",
    "DESCRIPTION": (
        "Traceability for medical-device software: requirements, IEC 62304 / ISO 13485 / "
        "ISO 14971 clauses, risks, tests and their evidence, releases."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: it would load an image from swagger.io (and the CSP refuses it).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One schema name per choice set used by several fields (item kinds on items and link ends, …).
    "ENUM_NAME_OVERRIDES": {
        "ItemKindEnum": "traceability.kinds.ItemKind",
        "ItemStatusEnum": "traceability.kinds.ItemStatus",
        "ResultStatusEnum": "traceability.models.evidence.ResultStatus",
    },
}

# Background jobs (django-tasks): reports render in-process by default; with TASKS_BACKEND=database
# they are queued in the database and run by `python manage.py db_worker`.
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "immediate").strip().lower()
if TASKS_BACKEND not in {"immediate", "database"}:
    raise ImproperlyConfigured("TASKS_BACKEND must be 'immediate' or 'database'")
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_db.DatabaseBackend"
            if TASKS_BACKEND == "database"
            else "django_tasks.backends.immediate.ImmediateBackend"
        )
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Evidence uploads (JUnit XML, commit batches, webhook payloads): larger bodies are refused with 400.
EVIDENCE_MAX_UPLOAD_BYTES = env_megabytes("EVIDENCE_MAX_UPLOAD_MB", 20)
# Files in one multipart upload (Surefire writes one file per test class); Django's default is 100.
EVIDENCE_MAX_UPLOAD_FILES = env_int("EVIDENCE_MAX_UPLOAD_FILES", 1000)
DATA_UPLOAD_MAX_NUMBER_FILES = EVIDENCE_MAX_UPLOAD_FILES
# The whole body of one request, files included (Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not
# count files): larger ones are refused with 400 before anything is read (qms.middleware).
REQUEST_MAX_BYTES = env_megabytes("REQUEST_MAX_MB", 100)
# A spreadsheet import: a CSV file, or an XLSX workbook's content once inflated (a zip bomb is
# refused before it is inflated).
IMPORT_MAX_BYTES = env_megabytes("IMPORT_MAX_MB", 100)
